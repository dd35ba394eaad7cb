/**
 * The redactor's speed-ups (digit-run and per-feature detector gates in secret-patterns.ts, the
 * first-character key gate in sensitive-keys.ts) change no output: on generated JSON with planted
 * secrets, card numbers, SSNs, dates, sensitive keys spelled every way, Unicode look-alikes and
 * random text, `redact`, `redactShared`, `redactText` and `containsSensitive` answer exactly what
 * the code before them answers (test/audit/redact-reference/, a frozen copy), under several
 * configurations (custom keys starting with a digit or beyond ASCII, custom patterns, disabled
 * detectors).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { luhnValid } from '../../src/audit/luhn.js';
import { DEFAULT_SENSITIVE_KEYS, createRedactor, type RedactionConfig } from '../../src/audit/redact.js';
import { createRedactor as createReference } from './redact-reference/redact.js';

/** REDACT_EQUIVALENCE_RUNS=20000 for a longer search. */
const RUNS = { numRuns: Number(process.env.REDACT_EQUIVALENCE_RUNS ?? 400) };

const CONFIGS: RedactionConfig[] = [
  {},
  { keys: ['1pass', 'order_ref', 'пароль', '９key'] },
  { keys: ['Zip'], patterns: [{ name: 'order', regex: 'ord_\\d+' }], disable: ['email', 'card'] },
  { disable: ['key_value', 'ssn'] },
];
const pairs = CONFIGS.map((config) => ({ config, next: createRedactor(config), reference: createReference(config) }));

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const ALNUM = LOWER.toUpperCase() + LOWER + DIGITS;
const chars = (alphabet: string, minLength: number, maxLength = minLength) =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });

/** Digit runs of every length around 9 and 13, Luhn-valid or not, grouped by spaces, dashes or nothing. */
const digitRun = fc
  .tuple(fc.integer({ min: 7, max: 21 }).chain((n) => chars(DIGITS, n)), fc.constantFrom('', ' ', '-', '  ', ' -', '.'), fc.integer({ min: 1, max: 5 }), fc.boolean())
  .map(([body, sep, group, luhn]) => {
    let digits = body;
    if (luhn) for (let d = 0; d <= 9; d++) if (luhnValid(body.slice(1) + d)) digits = body.slice(1) + d;
    return sep === '' ? digits : digits.replace(new RegExp(`(\\d{${group}})(?=\\d)`, 'g'), `$1${sep}`);
  });
const ssn = fc
  .tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 9999 }))
  .map(([a, g, s]) => `${String(a).padStart(3, '0')}-${String(g).padStart(2, '0')}-${String(s).padStart(4, '0')}`);
const date = fc
  .date({ min: new Date('1990-01-01'), max: new Date('2090-01-01'), noInvalidDate: true })
  .map((d) => d.toISOString());

/** Key names: the defaults in any spelling, look-alikes, the configured extras, and plain words. */
const keyName = fc.oneof(
  fc.constantFrom(...DEFAULT_SENSITIVE_KEYS),
  fc
    .tuple(fc.constantFrom(...DEFAULT_SENSITIVE_KEYS), fc.constantFrom('upper', 'title', 'lower'), fc.constantFrom('', '-', '_', ' ', '\u200b', '.'))
    .map(([k, style, sep]) => {
      const parts = k.split(/[-_]/).map((p) => (style === 'upper' ? p.toUpperCase() : style === 'title' ? p[0]!.toUpperCase() + p.slice(1) : p));
      return parts.join(sep);
    }),
  fc.constantFrom('ｐａｓｓｗｏｒｄ', 'pаssword', 'pass\u200bword', 'ТОКЕН', 'пароль', '９key', '1pass', '1Pass', 'ORDER-REF', 'zip', 'Zip'),
  fc.constantFrom('id', 'name', 'key', 'value', 'email', 'amount', 'created_at', '__proto__', 'max_tokens', 'next_page_token', 'Pin', 'pinned', '_token', '-pwd', '2fa', ''),
  chars(ALNUM + '_-', 1, 14),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

/** Provider keys whole, or cut short (near-misses). */
const providerKey = fc
  .tuple(
    fc.constantFrom('AKIA', 'ASIA', 'AIza', 'sk-', 'sk-ant-', 'sk_live_', 'rk_test_', 'wk_abcd_', 'ghp_', 'xoxb-', 'eyJ'),
    chars(ALNUM + '-_', 8, 40),
    fc.boolean(),
  )
  .map(([prefix, body, upper]) => prefix + (upper ? body.toUpperCase() : body));

/** Pieces of text: secrets, near-misses, realistic values, separators and arbitrary Unicode. */
const piece = fc.oneof(
  digitRun,
  providerKey,
  ssn,
  date,
  fc.double({ noNaN: true }).map(String),
  fc.tuple(chars(ALNUM + '._%+-', 1, 10), chars(LOWER + '-', 1, 8), chars(LOWER, 1, 4)).map(([l, d, t]) => `${l}@${d}.${t}`),
  fc.tuple(keyName, fc.constantFrom('=', ': ', ':', '="', '": "', '\\":\\"', ' = '), chars(ALNUM + '/+=', 0, 44)).map(([k, s, v]) => `${k}${s}${v}`),
  fc.constantFrom(
    'Bearer ', 'bearer of news', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig', 'AKIAABCDEFGHIJKLMNOP', 'AIza', 'sk-', 'sk-ant-', 'xoxb-',
    'ghp_', 'github_pat_', 'sk_live_', '_test_', 'wk_abcd_', '://', 'postgres://u:p@h/db', '-----BEGIN RSA PRIVATE KEY-----',
    '-----END RSA PRIVATE KEY-----', '[REDACTED]', '[REDACTED:card]', 'aws_secret_access_key=', 'ord_123', 'Zip: 10115',
  ),
  chars(ALNUM + ' -_.:=@/', 0, 20),
  fc.constantFrom(' ', '\n', '\t', '"', "'", ',', ';', '(', ')', '[', ']', '{', '}', 'T', 'x', '.', '-', ':'),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
/** Mostly short texts (the feature scan's domain), some past its 256-character limit. */
const text = fc.oneof(
  { weight: 5, arbitrary: fc.array(piece, { maxLength: 6 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.array(piece, { minLength: 20, maxLength: 60 }).map((p) => p.join('')) },
);

const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 4, depthSize: 'small' },
    text,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    tie('array'),
    tie('object'),
    tie('entry'),
    tie('pair'),
  ),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(keyName, tie('value'), { maxKeys: 6 }),
  entry: fc.record({ name: keyName, value: tie('value') }),
  pair: fc.tuple(keyName, tie('value')),
})).value;

/** JSON.parse gives `__proto__` as an own property, as a tool's result would have it. */
const asParsed = (v: unknown): unknown => JSON.parse(JSON.stringify(v) ?? 'null');

/**
 * Everything about a value the output could differ in: types, -0, undefined members, holes,
 * prototypes, key order, property flags. (Not toStrictEqual: it compares `constructor`
 * properties by identity, so two equal copies of `{ constructor: [] }` differ.)
 */
function shape(v: unknown): string {
  if (typeof v !== 'object' || v === null) return `${typeof v}:${Object.is(v, -0) ? '-0' : String(v)}`;
  const proto = Object.getPrototypeOf(v);
  const tag = proto === Object.prototype ? 'O' : proto === Array.prototype ? 'A' : proto === null ? 'N' : '?';
  const members = Reflect.ownKeys(v).map((k) => {
    const d = Object.getOwnPropertyDescriptor(v, k)!;
    const flags = `${d.enumerable ? 'e' : ''}${d.writable ? 'w' : ''}${d.configurable ? 'c' : ''}${d.get || d.set ? 'a' : ''}`;
    return `${JSON.stringify(String(k))}/${flags}=${'value' in d ? shape(d.value) : ''}`;
  });
  return `${tag}{${members.join(',')}}`;
}

function same(a: unknown, b: unknown): void {
  expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  expect(shape(a)).toBe(shape(b));
}

describe('redactor speed-ups: outputs identical to the code before them', () => {
  it('redactText on generated text, every configuration', () => {
    fc.assert(
      fc.property(text, (t) => {
        for (const { next, reference } of pairs) expect(next.redactText(t)).toBe(reference.redactText(t));
      }),
      { numRuns: RUNS.numRuns * 5 },
    );
  });

  it('redact, redactShared and containsSensitive on generated JSON, every configuration', () => {
    fc.assert(
      fc.property(json, fc.boolean(), (tree, parse) => {
        const value = parse ? asParsed(tree) : tree;
        for (const { next, reference } of pairs) {
          same(next.redact(value), reference.redact(value));
          same(next.redactShared(value), reference.redactShared(value));
          expect(next.containsSensitive(value)).toBe(reference.containsSensitive(value));
        }
      }),
      RUNS,
    );
  });

  it('the same texts in a long-lived redactor (warm key cache) and in a fresh one', () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 12 }), (texts) => {
        const fresh = createRedactor();
        const reference = createReference();
        for (const t of texts) {
          expect(pairs[0]!.next.redactText(t)).toBe(reference.redactText(t));
          expect(fresh.redactText(t)).toBe(reference.redactText(t));
        }
      }),
      RUNS,
    );
  });

  it('examples: dates, amounts and ids stay, 13-digit cards, SSNs and keys in any case go', () => {
    const { next, reference } = pairs[0]!;
    for (const t of [
      '2026-11-10T08:10:00Z',
      '4222222222222',
      '4222 2222 2222 2',
      'x4222222222222',
      '078-05-1120',
      '078 05 1120',
      'PASSWORD=hunter2',
      'Password: s3cret!',
      '2026-11-10T08:10:00Z token=abc',
      'ｐａｓｓｗｏｒｄ=x',
      'total: 19.99 EUR',
    ]) {
      expect(next.redactText(t)).toBe(reference.redactText(t));
    }
    expect(next.redactText('4222222222222')).toBe('[REDACTED:card]');
    expect(next.redactText('078-05-1120')).toBe('[REDACTED:ssn]');
    expect(next.redactText('PASSWORD=hunter2')).toBe('PASSWORD=[REDACTED]');
    expect(pairs[1]!.next.redactText('1PASS=x пароль=y')).toBe(pairs[1]!.reference.redactText('1PASS=x пароль=y'));
  });
});
