/**
 * The classifier's features (features.ts) against a plain reference written here: the skeleton
 * by its definition (every pass run; one gate kept, see refSkeleton), words by a tokenising
 * regex, 4-grams of the padded skeleton. features.ts reads ASCII text from its bytes (one native conversion per text,
 * its own skeleton loop) and sums weights while it dedupes; the training script reads
 * featuresOf, so its indices and their order must not move, or the committed weights are wrong.
 * Equality of whole scans before and after is bench/guards/compare-builds.js.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKETS, WINDOW, featuresOf, weightSum, weightSumAt } from '../../src/guards/injection/features.js';

/* ------------------------------------------------------------------ the reference */

const CONFUSABLE = 'аеорсухіјѕԁɡһӏոսαορνικτυε';
const AS_LATIN = 'aeopcyxijsdghlnuaopviktue';
function refSkeleton(text: string): string {
  let s = text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]|\uDB40[\uDC00-\uDC7F]/g, '')
    .replace(/\s+/g, ' ');
  // skeleton()'s gate for look-alikes leaves out the Armenian two (ո, ս): alone they stay.
  if (/[\u03b1-\u051f\u0261]/.test(s)) s = s.replace(new RegExp(`(?<=[a-z])[${CONFUSABLE}]|[${CONFUSABLE}](?=[a-z])`, 'g'), (c) => AS_LATIN[CONFUSABLE.indexOf(c)]!);
  return s.replace(/(?<=[a-z])[013457@$](?=[a-z])/g, (c) => 'oieasta s'['013457@$'.indexOf(c)]!);
}
const fnv = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};
const mix = (a: number, b: number): number => Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x01000193) >>> 0;
const W = 'a-zA-Z0-9_\\u0080-\\u1fff\\u2070-\\u2fff\\u3040-\\ufeff\\uff10-\\uffff';
const TOKEN = new RegExp(`[${W}]+|[^ ${W}]`, 'g');
/** Distinct features of the first window of text, in first-seen order: word unigrams and bigrams, then 4-grams. */
function refFeatures(text: string): number[] {
  const skel = refSkeleton(text.slice(0, WINDOW)).slice(0, 2 * WINDOW);
  const out: number[] = [];
  let prev = 0;
  let taken = 0;
  let lastEnd = -1;
  let lastWasWord = false;
  for (const m of skel.matchAll(TOKEN)) {
    // At most 1,024 tokens; one more when a punctuation mark touches the 1,024th, a word.
    const isWord = m[0].length > 1 || new RegExp(`[${W}]`).test(m[0]);
    if (taken >= 1024 && !(taken === 1024 && lastWasWord && !isWord && m.index === lastEnd)) break;
    const h = fnv(m[0]);
    out.push(mix(h, 1) & (BUCKETS - 1));
    if (prev !== 0) out.push(mix(mix(prev, h), 2) & (BUCKETS - 1));
    prev = h;
    taken++;
    lastEnd = m.index + m[0].length;
    lastWasWord = isWord;
  }
  const padded = ` ${skel}  `;
  for (let i = 0; i < skel.length; i++) out.push(fnv(padded.slice(i, i + 4)) & (BUCKETS - 1));
  return [...new Set(out)];
}

/* ------------------------------------------------------------------ texts */

// Lone surrogates are built, not written: bench/guards/compare-builds.js reads this file's string literals and URL-encodes them.
const PIECES = [
  'Ignore', 'the', 'previous', 'instructions', 'Quarterly', 'REVIEW', 'a', 'I', 'x9', '4,210', '38', 'e-mail', '_', 'ok.',
  ' ', '  ', '\n', '\n\n', '\r\n', '\t', '\v', '\f', '\x1c', '\x00', '\x7f', ' \n \t ', '.', '!', '###', '<|', '$', '@', '1', '0',
  '1gn0re', 'h3ll0', 'a$b', 'p@ss', 'x1y', 's3cr3t', '@', 'b4', '4b', '7o', 'ab1', '1ab',
  'é', 'Ж', 'Привет', 'αβγ', 'Ελλάδα', '日本語のテキスト', '中文', 'ＡＢｃ', '！', '、', '\u2014', '\u00a0', '\u3000', '\u2028', '\u200b', '\u00ad', '\u2060', '\udb40\udc41',
  'раssword', 'sуstem', 'ignоre', 'οpen', 'սystem', 'ոo', 'ﬁle', 'ﬀ', '①', '㎞', '\ufdfd', 'İ', 'ß', '😀', String.fromCharCode(0xd800), String.fromCharCode(0xdc00), 'क्या', 'مرحبا',
];
const ASCII_PIECES = PIECES.filter((p) => [...p].every((c) => c.charCodeAt(0) < 0x80));
const joined = (min: number, max: number) => fc.array(fc.constantFrom(...PIECES), { minLength: min, maxLength: max }).map((p) => p.join(''));
const asciiOnly = (min: number, max: number) => fc.array(fc.constantFrom(...ASCII_PIECES), { minLength: min, maxLength: max }).map((p) => p.join(''));
const texts = fc.oneof(
  joined(0, 40),
  asciiOnly(0, 60),
  fc.string({ maxLength: 120 }),
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.string({ unit: 'grapheme', maxLength: 120 }),
  fc.lorem({ maxCount: 60 }),
  // Longer than a window, ASCII and not.
  joined(700, 1000),
  asciiOnly(900, 1300),
  // Past 1,024 tokens: the cap, reached at a word's end followed by its punctuation mark.
  fc.tuple(fc.integer({ min: 1000, max: 1030 }), fc.constantFrom('a ', 'a.', '. ', 'ab!', '!', 'x1.', 'é,')).map(([n, t]) => t.repeat(n)),
  // Random one-character tokens, so that a token past the cap makes new bigrams.
  fc.array(fc.constantFrom(...'.,;:!?-+#<|a b7é'), { minLength: 1500, maxLength: 2100 }).map((p) => p.join('')),
  // A skeleton longer than two windows (NFKC expands U+FDFD to 18 characters).
  fc.integer({ min: 100, max: 300 }).map((n) => '\ufdfd '.repeat(n)),
);

/** Deterministic int8 weights, none of them special. */
const WEIGHTS = Int8Array.from({ length: BUCKETS }, (_, i) => ((Math.imul(i, 0x9e3779b1) >>> 24) - 128) | 0);
const refSum = (f: number[]): { sum: number; count: number } => ({ sum: f.reduce((s, i) => s + WEIGHTS[i]!, 0), count: f.length });
const show = (t: string): string => JSON.stringify(t.slice(0, 100));

describe('features.ts against a plain reference', () => {
  it('featuresOf: the same distinct indices in the same order (what training reads)', () => {
    fc.assert(
      fc.property(texts, (text) => {
        expect(Array.from(featuresOf(text)), show(text)).toEqual(refFeatures(text));
      }),
      { numRuns: 4000 },
    );
  });

  it('weightSum: the sum of the weights of those features, and their number', () => {
    fc.assert(
      fc.property(texts, (text) => {
        expect({ ...weightSum(text, WEIGHTS) }, show(text)).toEqual(refSum(refFeatures(text)));
      }),
      { numRuns: 4000 },
    );
  });

  it('weightSumAt: any range of a long text reads as its slice, whatever was read before', () => {
    const long = fc.oneof(joined(300, 1500), asciiOnly(400, 2000), fc.string({ unit: 'grapheme', minLength: 1000, maxLength: 3000 }));
    fc.assert(
      fc.property(long, long, fc.array(fc.tuple(fc.nat(6000), fc.nat(2600)), { minLength: 1, maxLength: 6 }), (a, b, ranges) => {
        // Two texts in turn (features.ts keeps the last text's bytes): b, then a, then b again.
        for (const text of [b, a, b]) {
          for (const [s, len] of ranges) {
            const start = Math.min(s, text.length);
            const end = start + len;
            expect({ ...weightSumAt(text, start, end, WEIGHTS) }, `${show(text)} [${start}, ${end})`).toEqual(refSum(refFeatures(text.slice(start, end))));
          }
        }
      }),
      { numRuns: 600 },
    );
  });

  it('texts of the same length read one after another are not mixed up', () => {
    fc.assert(
      fc.property(asciiOnly(0, 80), fc.nat(), (a, seed) => {
        const b = a.split('').reverse().join('');
        const c = `${a.slice(0, seed % (a.length + 1))}é${a.slice((seed % (a.length + 1)) + 1)}`.slice(0, Math.max(a.length, 1));
        for (const t of [a, b, c, a]) expect({ ...weightSumAt(t, 0, t.length, WEIGHTS) }, show(t)).toEqual(refSum(refFeatures(t)));
      }),
      { numRuns: 2000 },
    );
  });
});
