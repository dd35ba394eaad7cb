/**
 * Property-based tests for the redactor (src/audit/redact.ts):
 * - a planted secret (generated emails, SSNs, Luhn-valid card numbers, JWTs, PEM keys, provider and
 *   Warden keys, Bearer tokens, URL passwords, `key=value` text, and anything under a sensitive
 *   key) embedded at a random place of a random JSON structure, inside random text, never appears
 *   in the redacted output, in structures or in free text;
 * - redaction is idempotent, on planted structures, on arbitrary JSON and on text built from
 *   fragments of every pattern glued together;
 * - values without secrets (from an alphabet that cannot form any pattern or sensitive key) come
 *   back deep-equal, and the input is never mutated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { luhnValid } from '../../src/audit/luhn.js';
import { DEFAULT_SENSITIVE_KEYS, createRedactor } from '../../src/audit/redact.js';

/** REDACT_PROPERTY_RUNS=20000 for a longer search. */
const RUNS = { numRuns: Number(process.env.REDACT_PROPERTY_RUNS ?? 300) };
const r = createRedactor();

/* ------------------------------------------------------------------ alphabets */

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const ALNUM = UPPER + LOWER + DIGITS;
const B64URL = ALNUM + '-_';
/**
 * No digits, no `@ : = . - _ /`, and none of the letters a c k p s t (either case): every default
 * sensitive key has one of them, and so does every prefix a detector needs (AKIA, AIza, bearer, sk-,
 * xox…, wk_…), so text and keys made of these can never be masked.
 */
const SAFE_LETTERS = 'bdefghijlmnoqruvwxyzBDEFGHIJLMNOQRUVWXYZ';
const SAFE_CHARS = `${SAFE_LETTERS} ,!?()`;

const chars = (alphabet: string, minLength: number, maxLength = minLength) =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });

const safeText = chars(SAFE_CHARS, 0, 24);
const safeKey = chars(SAFE_LETTERS, 1, 8);

/** Random JSON made only of safe strings and keys. */
const safeJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 4, depthSize: 'small' },
    safeText,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(safeKey, tie('value'), { maxKeys: 4 }),
})).value;

/* ------------------------------------------------------------------ secrets */

/** A secret as it appears in text, and the substrings that must not survive redaction. */
interface Secret {
  kind: string;
  text: string;
  forbidden: string[];
}
const whole = (kind: string) => (text: string): Secret => ({ kind, text, forbidden: [text] });

const email = fc
  .tuple(chars(ALNUM + '._%+-', 1, 16), fc.array(chars(LOWER + DIGITS + '-', 1, 8), { minLength: 1, maxLength: 3 }), chars(LOWER, 2, 6))
  .map(([local, labels, tld]) => whole('email')(`${local}@${labels.join('.')}.${tld}`));

const ssn = fc
  .tuple(
    fc.integer({ min: 1, max: 899 }).filter((a) => a !== 666),
    fc.integer({ min: 1, max: 99 }),
    fc.integer({ min: 1, max: 9999 }),
  )
  .map(([a, g, s]) =>
    whole('ssn')(`${String(a).padStart(3, '0')}-${String(g).padStart(2, '0')}-${String(s).padStart(4, '0')}`),
  );

const card = fc
  .tuple(fc.integer({ min: 13, max: 19 }).chain((n) => chars(DIGITS, n - 1)), fc.constantFrom('', ' ', '-'))
  .map(([body, sep]) => {
    let digits = '';
    for (let d = 0; d <= 9 && !digits; d++) if (luhnValid(body + d)) digits = body + d;
    return whole('card')(sep ? digits.replace(/(\d{4})(?=\d)/g, `$1${sep}`) : digits);
  });

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const jwt = fc
  .tuple(
    fc.constantFrom('HS256', 'RS256', 'ES256', 'EdDSA', 'none'),
    fc.record({ sub: fc.string({ maxLength: 12 }), iat: fc.nat(), admin: fc.boolean() }),
    fc.uint8Array({ maxLength: 64 }),
  )
  .map(([alg, claims, signature]) =>
    whole('jwt')(
      `${Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${b64url(signature)}`,
    ),
  );

const pem = fc
  .tuple(fc.constantFrom('', 'RSA ', 'EC ', 'OPENSSH ', 'ENCRYPTED ', 'DSA '), fc.uint8Array({ minLength: 16, maxLength: 160 }))
  .map(([label, bytes]): Secret => {
    const body = Buffer.from(bytes).toString('base64').replace(/.{64}(?=.)/g, '$&\n');
    const text = `-----BEGIN ${label}PRIVATE KEY-----\n${body}\n-----END ${label}PRIVATE KEY-----`;
    return { kind: 'private_key', text, forbidden: [text, body.slice(0, 16)] };
  });

const providerKey = fc.oneof(
  fc.tuple(fc.constantFrom('AKIA', 'ASIA'), chars(UPPER + DIGITS, 16)).map(([p, k]) => whole('aws_access_key_id')(p + k)),
  chars(ALNUM + '/+', 40).map(
    (k): Secret => ({ kind: 'aws_secret_access_key', text: `aws_secret_access_key=${k}`, forbidden: [k] }),
  ),
  fc.tuple(fc.constantFrom('ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'), chars(ALNUM, 36)).map(([p, k]) => whole('github')(p + k)),
  fc.tuple(chars(ALNUM, 22), chars(ALNUM, 59)).map(([a, b]) => whole('github')(`github_pat_${a}_${b}`)),
  fc
    .tuple(fc.constantFrom(...'abpors'), chars(DIGITS, 10, 13), chars(DIGITS, 10, 13), chars(ALNUM, 24))
    .map(([t, a, b, c]) => whole('slack')(`xox${t}-${a}-${b}-${c}`)),
  fc.tuple(fc.constantFrom('sk_live_', 'rk_live_', 'sk_test_'), chars(ALNUM, 24, 99)).map(([p, k]) => whole('stripe')(p + k)),
  chars(ALNUM, 48).map((k) => whole('openai')(`sk-${k}`)),
  chars(B64URL, 40, 120).map((k) => whole('openai')(`sk-proj-${k}`)),
  chars(B64URL, 80, 95).map((k) => whole('anthropic')(`sk-ant-api03-${k}`)),
  chars(B64URL, 35).map((k) => whole('google')(`AIza${k}`)),
  fc.tuple(chars(ALNUM, 12), fc.uint8Array({ minLength: 32, maxLength: 32 })).map(([id, s]) => whole('warden')(`wk_${id}_${b64url(s)}`)),
  chars(ALNUM + '._~+/-', 20, 60).map((t): Secret => ({ kind: 'bearer', text: `Bearer ${t}`, forbidden: [t] })),
);

const urlPassword = fc
  .tuple(fc.constantFrom('postgres', 'redis', 'https', 'mongodb+srv'), chars(ALNUM, 0, 10), chars(ALNUM + '!$*', 7, 20))
  .map(([scheme, user, pass]): Secret => {
    const password = `9${pass}`;
    return { kind: 'url_credentials', text: `${scheme}://${user}:${password}@db.example.com:5432/x`, forbidden: [password] };
  });

/** A default sensitive key, spelled as people spell it: any case, `-`, `_` or nothing between words. */
const keyVariant = fc
  .tuple(fc.constantFrom(...DEFAULT_SENSITIVE_KEYS), fc.constantFrom('lower', 'upper', 'title'), fc.constantFrom('_', '-', '', null))
  .map(([key, caseStyle, sep]) => {
    const parts = key.split(/[-_]/);
    const cased = parts.map((p, i) =>
      caseStyle === 'upper' ? p.toUpperCase() : caseStyle === 'title' && i > 0 ? p[0]!.toUpperCase() + p.slice(1) : p,
    );
    return cased.join(sep ?? (key.includes('-') ? '-' : '_'));
  });

const keyValueText = fc
  .tuple(keyVariant, chars(ALNUM, 6, 20), fc.constantFrom('=', ': ', ':', ' = '), fc.boolean())
  .map(([key, v, sep, json]): Secret => {
    const value = `9${v}`;
    return { kind: 'key_value', text: json ? `"${key}":"${value}"` : `${key}${sep}${value}`, forbidden: [value] };
  });

const textSecret: fc.Arbitrary<Secret> = fc.oneof(email, ssn, card, jwt, pem, providerKey, urlPassword, keyValueText);

/** Characters that end a token for every detector (never part of a secret's own alphabet). */
const separator = fc.constantFrom(' ', '\n', '\t', '(', ')', '"', "'", '<', '>', ', ', '; ', '[', ']', '{', '}', '|', ' — ');

const secretInText = fc
  .record({ secret: textSecret, before: safeText, after: safeText, open: separator, close: separator })
  .map(({ secret, before, after, open, close }) => ({ secret, text: `${before}${open}${secret.text}${close}${after}` }));

/** What goes under a sensitive key: any JSON, carrying a unique marker. */
const sensitiveValue = chars("0123456789abcdef", 12).chain((hex) => {
  const mark = `Zq9#${hex}`;
  return fc
    .constantFrom<unknown>(mark, { inner: mark }, [mark, 1], 987_654_321_987, { deep: { deeper: [mark] } })
    .map((value) => ({ value, forbidden: typeof value === 'number' ? String(value) : mark }));
});

/* ------------------------------------------------------------------ planting */

type Plant = { kind: 'text'; text: string } | { kind: 'key'; key: string; value: unknown };

/** Puts `plant` in a copy of `tree`: in the container picked by `seed`, at a position picked by `seed`. */
function plantIn(tree: unknown, plant: Plant, seed: number): unknown {
  const root: unknown = typeof tree === 'object' && tree !== null ? structuredClone(tree) : [tree];
  const containers: Array<unknown[] | Record<string, unknown>> = [];
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) {
      containers.push(v);
      v.forEach(collect);
    } else if (typeof v === 'object' && v !== null) {
      containers.push(v as Record<string, unknown>);
      Object.values(v).forEach(collect);
    }
  };
  collect(root);
  const target = containers[seed % containers.length]!;
  if (Array.isArray(target)) {
    const item = plant.kind === 'text' ? plant.text : { [plant.key]: plant.value };
    target.splice(seed % (target.length + 1), 0, item);
  } else if (plant.kind === 'text') {
    target.hidden = plant.text;
  } else {
    target[plant.key] = plant.value;
  }
  return root;
}

const plantedTree = fc
  .tuple(
    safeJson,
    fc.nat(),
    fc.oneof(
      secretInText.map(({ secret, text }) => ({ plant: { kind: 'text', text } as Plant, forbidden: secret.forbidden, kind: secret.kind })),
      fc.tuple(keyVariant, sensitiveValue).map(([key, { value, forbidden }]) => ({
        plant: { kind: 'key', key, value } as Plant,
        forbidden: [forbidden],
        kind: `key ${key}`,
      })),
    ),
  )
  .map(([tree, seed, { plant, forbidden, kind }]) => ({ value: plantIn(tree, plant, seed), forbidden, kind }));

/** True when `output` (JSON text) contains `secret`, raw or JSON-escaped. */
function leaks(output: string, secret: string): boolean {
  return output.includes(secret) || output.includes(JSON.stringify(secret).slice(1, -1));
}

/* ------------------------------------------------------------------ properties */

describe('redactor properties', () => {
  it('a planted secret never survives redact, wherever it is', () => {
    fc.assert(
      fc.property(plantedTree, ({ value, forbidden, kind }) => {
        const out = JSON.stringify(r.redact(value));
        for (const secret of forbidden) expect(leaks(out, secret), `${kind}: ${secret} in ${out}`).toBe(false);
        expect(r.containsSensitive(value)).toBe(true);
        expect(r.containsSensitive(r.redact(value))).toBe(false);
      }),
      RUNS,
    );
  });

  it('a secret in free text never survives redactText', () => {
    fc.assert(
      fc.property(secretInText, ({ secret, text }) => {
        const out = r.redactText(text);
        for (const s of secret.forbidden) expect(out.includes(s), `${secret.kind}: ${s} in ${out}`).toBe(false);
        expect(out).toContain('[REDACTED');
      }),
      RUNS,
    );
  });

  it('redact is idempotent on planted structures and arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.oneof(plantedTree.map((p) => p.value), fc.jsonValue()), (value) => {
        const once = r.redact(value);
        expect(r.redact(once)).toEqual(once);
      }),
      RUNS,
    );
  });

  it('redactText is idempotent on glued fragments of every pattern', () => {
    const fragment = fc.oneof(
      fc.constantFrom(
        'eyJ',
        'eyJhbGciOiJIUzI1NiJ9',
        '.',
        'sk-',
        'sk-ant-',
        'sk_live_',
        'ghp_',
        'github_pat_',
        'AKIA',
        'AIza',
        'wk_',
        'xoxb-',
        'Bearer ',
        'bearer\t',
        'password=',
        'Authorization: ',
        'Cookie:',
        'token: "',
        "pin='",
        '\\"api_key\\":\\"',
        'aws_secret_access_key=',
        '://',
        'redis://:',
        '@',
        '.com',
        '-----BEGIN RSA PRIVATE KEY-----',
        '-----END RSA PRIVATE KEY-----',
        '4111',
        '1111 ',
        '123-45-6789',
        '"',
        "'",
        '[REDACTED]',
        '[REDACTED:email]',
        ':',
        '=',
        '\n',
      ),
      chars(`${ALNUM} -@._:=/"'\\[]{}+%\n`, 0, 12),
      textSecret.map((s) => s.text),
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 16 }), (parts) => {
        const once = r.redactText(parts.join(''));
        expect(r.redactText(once)).toBe(once);
      }),
      RUNS,
    );
  });

  it('values without secrets come back deep-equal, and the input is never mutated', () => {
    fc.assert(
      fc.property(safeJson, safeText, (value, text) => {
        const before = structuredClone(value);
        expect(r.redact(value)).toEqual(value);
        expect(r.containsSensitive(value)).toBe(false);
        expect(r.redactText(text)).toBe(text);
        expect(value).toEqual(before);
      }),
      RUNS,
    );
  });

  it('redacting planted structures leaves the input untouched', () => {
    fc.assert(
      fc.property(plantedTree, ({ value }) => {
        const before = structuredClone(value);
        r.redact(value);
        expect(value).toEqual(before);
      }),
      { numRuns: 100 },
    );
  });
});
