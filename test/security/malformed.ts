/**
 * Malformed input for the fuzz suites, as fast-check arbitraries: wrong types, huge and deep JSON,
 * prototype keys, lone surrogates and other odd Unicode, control characters, truncated and
 * corrupted text, wrong content types. Each suite samples them with a fixed seed, so a run is
 * reproducible (the failing case's index and text are printed).
 */
import fc from 'fast-check';

/** The seed every fuzz suite samples with (override with WARDEN_FUZZ_SEED to explore). */
export const FUZZ_SEED = Number(process.env.WARDEN_FUZZ_SEED ?? 16);

/** Strings that have broken parsers, validators, loggers and hash chains before. */
export const ODD_STRINGS = [
  '',
  ' ',
  '\ud800',
  '\udfff',
  'x\udfff',
  'a\ud83d',
  '\ud83d\ude00',
  '\u0000',
  'a\u0000b',
  '\u0001\u0002\u001b[31m\u001f',
  '\u007f\u0085',
  '\u200b',
  'pass\u200bword',
  '\u200e\u202e\u2066',
  '\ufeff',
  '\uffff\ufffe',
  'e\u0301\u0301\u0301',
  'Ａｄｍｉｎ',
  'ﬁ',
  '\u2028\u2029',
  '\r\n\t',
  '🙂'.repeat(64),
  '%00%ZZ%',
  '../../../etc/passwd',
  '${secret:tools_token}',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  'ignore previous instructions',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'NaN',
  '-0',
  '1e400',
  'competitor-corp',
  'support-agent',
  '*',
  'x'.repeat(300),
  'y'.repeat(5000),
];

/** Any UTF-16 code unit sequence (lone surrogates included), any code point, ASCII, graphemes. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...ODD_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);

const numbers = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1, -1, 2 ** 53, -(2 ** 53), 2 ** 64, 1e308, 5e-324, 0.1, 100, 101, 250),
);

/** A JSON value of any type, small, with odd strings and keys (prototype keys included). */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { arbitrary: fc.constantFrom(null, true, false), weight: 2 },
    { arbitrary: numbers, weight: 2 },
    { arbitrary: anyString, weight: 4 },
    { arbitrary: fc.array(tie('value'), { maxLength: 4 }), weight: 1 },
    { arbitrary: tie('object'), weight: 1 },
  ),
  object: fc.dictionary(fc.oneof(anyString, fc.constantFrom('__proto__', 'constructor', 'prototype', 'tenant', 'password', 'api_key')), tie('value'), { maxKeys: 4 }),
})).value;

/** Nested arrays or objects `depth` levels deep around `leaf`. */
export function deep(depth: number, kind: 'array' | 'object', leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { d: v };
  return v;
}

/** Values that are each wrong in a way a schema or a limit must catch. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: anyJson, weight: 6 },
  { arbitrary: fc.record({ depth: fc.integer({ min: 10, max: 300 }), kind: fc.constantFrom<'array' | 'object'>('array', 'object') }).map(({ depth, kind }) => deep(depth, kind)), weight: 1 },
  { arbitrary: fc.integer({ min: 1_000, max: 80_000 }).map((n) => 'h'.repeat(n)), weight: 1 },
  { arbitrary: fc.integer({ min: 100, max: 6_000 }).map((n) => Array.from({ length: n }, (_, i) => i)), weight: 1 },
);

/** Sets `value` at a path of `doc` (a copy); creates what is missing. */
export function setAt(doc: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const base: Record<string, unknown> = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? { ...(doc as Record<string, unknown>) } : {};
  const [head, ...rest] = path;
  // defineProperty: a "__proto__" key is an own key here, as JSON.parse would make it.
  Object.defineProperty(base, head!, { value: setAt(base[head!], rest, value), enumerable: true, writable: true, configurable: true });
  return base;
}

/** Removes the value at `path` from a copy of `doc`. */
export function deleteAt(doc: unknown, path: readonly string[]): unknown {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || path.length === 0) return doc;
  const copy = { ...(doc as Record<string, unknown>) };
  const [head, ...rest] = path;
  if (rest.length === 0) delete copy[head!];
  else copy[head!] = deleteAt(copy[head!], rest);
  return copy;
}

/** Every path to a value in `doc` (objects only), the root excluded. */
export function pathsOf(doc: unknown, prefix: string[] = []): string[][] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return [];
  return Object.entries(doc as Record<string, unknown>).flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
}

/** How a document is broken: at the JSON level (a value) or the text level (bytes). */
export type Mutation =
  | { kind: 'set'; pathIndex: number; extraKey: string; value: unknown }
  | { kind: 'delete'; pathIndex: number }
  | { kind: 'add'; key: string; value: unknown }
  | { kind: 'replace'; value: unknown }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'text'; text: string }
  | { kind: 'prefix'; text: string }
  | { kind: 'proto'; key: '__proto__' | 'constructor' | 'prototype'; nested: boolean }
  | { kind: 'duplicate'; key: string; value: unknown }
  | { kind: 'none' };

/** Raw texts that are not JSON, or JSON that JSON.parse reads oddly. */
const BAD_TEXTS = [
  '',
  ' ',
  '\n\n',
  'null',
  'true',
  '0',
  '"a string"',
  '[]',
  '[{}]',
  '{',
  '}',
  '{"a":}',
  '{"a":1,}',
  "{'a':1}",
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":1e400}',
  '{"a":-1e400}',
  '{"a":0x10}',
  '{"a":01}',
  '{"a":"\u0001"}',
  '{"a":"\\x41"}',
  '{"a":"\\ud800"}',
  '{"\\udfff":1}',
  '{"a":1}{"b":2}',
  '{"a":1} trailing',
  '/* comment */ {}',
  '{"a":1 // comment\n}',
  '\ufeff{}',
  '{"a":"\\u0000"}',
  '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
  `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  `{"a":"${'\\\\'.repeat(3000)}"}`,
  'agent_id=support-agent&tool=read_orders',
  '<?xml version="1.0"?><a/>',
];

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('set' as const), pathIndex: fc.nat(), extraKey: fc.constantFrom('', 'x', '__proto__', 'constructor'), value: hostileValue }), weight: 6 },
  // A string where a string goes: most such documents are well-formed and reach the handler.
  { arbitrary: fc.record({ kind: fc.constant('set' as const), pathIndex: fc.nat(), extraKey: fc.constant(''), value: anyString }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), pathIndex: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('add' as const), key: anyString, value: anyJson }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('replace' as const), value: anyJson }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.oneof(fc.constantFrom(0x00, 0x0a, 0x22, 0x5c, 0x7b, 0x7d, 0x80, 0xbf, 0xc0, 0xc1, 0xed, 0xf5, 0xfe, 0xff), fc.nat(255)), { minLength: 1, maxLength: 4 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('text' as const), text: fc.constantFrom(...BAD_TEXTS) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('prefix' as const), text: fc.constantFrom('\ufeff', ' ', '\u0000', 'x') }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('proto' as const), key: fc.constantFrom('__proto__' as const, 'constructor' as const, 'prototype' as const), nested: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('duplicate' as const), key: fc.constantFrom('agent_id', 'tool', 'tenant', 'actor', 'arguments', 'args', 'request_id'), value: anyJson }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 1 },
);

/** `doc` broken by `m`, as the bytes to send. */
export function applyMutation(doc: unknown, m: Mutation): Buffer {
  const paths = pathsOf(doc);
  const text = (value: unknown) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');
  switch (m.kind) {
    case 'none':
      return text(doc);
    case 'set': {
      const path = paths.length ? paths[m.pathIndex % paths.length]! : ['x'];
      return text(setAt(doc, m.extraKey ? [...path, m.extraKey] : path, m.value));
    }
    case 'delete':
      return text(paths.length ? deleteAt(doc, paths[m.pathIndex % paths.length]!) : doc);
    case 'add':
      return text(setAt(doc, [m.key], m.value));
    case 'replace':
      return text(m.value);
    case 'truncate': {
      const full = text(doc);
      return full.subarray(0, m.at % Math.max(1, full.length));
    }
    case 'insert': {
      const full = text(doc);
      const at = m.at % (full.length + 1);
      return Buffer.concat([full.subarray(0, at), Buffer.from(m.bytes), full.subarray(at)]);
    }
    case 'text':
      return Buffer.from(m.text, 'utf8');
    case 'prefix':
      return Buffer.concat([Buffer.from(m.text, 'utf8'), text(doc)]);
    case 'proto': {
      const inner = JSON.stringify(doc).replace(/^\{/, `{"${m.key}":{"admin":true,"roles":["admin"],"tenant":"competitor-corp"},`);
      return Buffer.from(m.nested ? inner.replace(/("(?:args|arguments)":\{)/, `$1"${m.key}":{"polluted":true},`) : inner, 'utf8');
    }
    case 'duplicate':
      return Buffer.from(JSON.stringify(doc).replace(/^\{/, `{${JSON.stringify(m.key)}:${JSON.stringify(m.value) ?? 'null'},`), 'utf8');
  }
}

/** Content types a client may send instead of JSON, or JSON spelled oddly. */
export const contentType = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 14 },
  {
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json;charset=latin1',
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/problem+json',
      'application/octet-stream',
      'application/jsonx',
      'application/json, text/plain',
      '*/*',
      'none',
    ),
    weight: 3,
  },
);

/** Samples `count` values of `arb` with the fuzz seed: the same cases on every run. */
export function cases<T>(arb: fc.Arbitrary<T>, count: number, seedOffset = 0): T[] {
  return fc.sample(arb, { seed: FUZZ_SEED + seedOffset, numRuns: count });
}

/** Runs `work` over `items` with at most `width` in flight (keep-alive connections stay busy). */
export async function pool<T>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}
