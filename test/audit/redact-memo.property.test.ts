/**
 * Issue 17 (record CPU): the redactor remembers short texts its detectors left alone
 * (secret-patterns.ts rememberingClean), so a string seen before is answered with a set lookup.
 * The detectors are a pure function of the text, so the memo must answer every text, call after
 * call, exactly as the detectors alone do: the default set and custom ones, texts recurring (clean
 * words, dates, ids, secrets of every detector, texts around the 13- and 64-character edges,
 * unicode, escapes), also once the memo has filled and started over. The redactor calls the runner
 * wherever it reads a text (redact.ts), so this is the redactor's answer too.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/audit/redact.js';
import { customDetector, defaultDetectors, detectorRunner, rememberingClean } from '../../src/audit/secret-patterns.js';
import { DEFAULT_SENSITIVE_KEYS, KeyMatcher } from '../../src/audit/sensitive-keys.js';

/** REDACT_MEMO_RUNS=5000 for a longer search. */
const RUNS = { numRuns: Number(process.env.REDACT_MEMO_RUNS ?? 300) };

/** The detector sets a redactor may run: the defaults, with more keys and a custom pattern, some disabled. */
const DETECTOR_SETS = [
  defaultDetectors(new KeyMatcher(DEFAULT_SENSITIVE_KEYS)),
  [...defaultDetectors(new KeyMatcher([...DEFAULT_SENSITIVE_KEYS, 'customer_id', 'пароль'])), customDetector('order', 'ORD-\\d{4}')].filter((d) => d.name !== 'email'),
  defaultDetectors(new KeyMatcher(DEFAULT_SENSITIVE_KEYS)).filter((d) => !['key_value', 'ssn', 'card'].includes(d.name)),
];

/** Texts that recur across calls: clean ones the memo keeps, and secrets it must never keep. */
const recurring = fc.constantFrom(
  'acme-corp',
  'support-agent',
  'read_orders',
  'tools/call',
  'shipped',
  'EUR',
  '2026-11-02T10:00:00Z',
  'c-100001',
  'o-10008',
  'abcdefghijkl', // 12: kept as it is
  'abcdefghijklm', // 13: kept as a flat copy
  'x'.repeat(64),
  'x'.repeat(65), // not remembered
  `${'y'.repeat(50)} bob@example.com`, // a secret past the 64th character
  'bob@example.com',
  'mail bob@example.com now',
  'ORD-1234',
  'password=hunter2',
  'token: abc123',
  'Bearer abcdefghijklmnop1234567890',
  '4111 1111 1111 1111',
  '078-05-1120',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl',
  'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789',
  'wk_live_abcdefghijklmnop1234',
  'https://user:pa55word@example.com/x',
  'AKIAABCDEFGHIJKLMNOP',
  '[REDACTED]',
  '[REDACTED:email]x',
  'пароль: секрет',
  'emoji 😀 \ud800 lone',
  '"quoted" back\\slash\nline',
  '',
);
const text = fc.oneof({ weight: 4, arbitrary: recurring }, fc.string({ maxLength: 16 }), fc.string({ unit: 'binary', maxLength: 16 }), fc.string({ unit: 'grapheme', maxLength: 8 }));

describe('the clean-text memo (issue 17)', () => {
  it('answers every text as the detectors alone do, texts recurring within and across runs', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 40 }), fc.constantFrom(...DETECTOR_SETS.keys()), (texts, d) => {
        const detectors = DETECTOR_SETS[d]!;
        const alone = detectorRunner(detectors);
        const remembering = rememberingClean(detectorRunner(detectors));
        // Twice over: the second time every clean short text is remembered.
        for (const t of [...texts, ...texts]) expect(remembering(t)).toBe(alone(t));
      }),
      RUNS,
    );
  });

  it('starts over when full, and answers as before after it', () => {
    const alone = detectorRunner(DETECTOR_SETS[0]!);
    const remembering = rememberingClean(detectorRunner(DETECTOR_SETS[0]!));
    const many = Array.from({ length: 9_000 }, (_, i) => `id-${i}-clean`);
    const secrets = ['bob@example.com', 'password=hunter2', '4111 1111 1111 1111'];
    for (let i = 0; i < many.length; i++) {
      expect(remembering(many[i]!)).toBe(many[i]);
      if (i % 1_000 === 0) for (const s of [...secrets, many[0]!]) expect(remembering(s)).toBe(alone(s));
    }
  });

  it('a redactor answers a repeated secret the same every time (a text it changed is never remembered)', () => {
    const redactor = createRedactor();
    const long = `${'a'.repeat(10_000)}bob@example.com${'b'.repeat(10_000)}`;
    const clean = long.slice(20, 60);
    const secret = long.slice(9_990, 10_030);
    const first = redactor.redact({ note: secret, clean });
    expect(JSON.stringify(first)).toContain('[REDACTED');
    for (let i = 0; i < 3; i++) {
      expect(redactor.redactText(clean)).toBe(clean);
      expect(redactor.redact({ note: secret, clean })).toStrictEqual(first);
    }
  });
});
