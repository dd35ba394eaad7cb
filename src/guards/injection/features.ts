/**
 * Features of the learned injection classifier (classifier.ts), shared with its training script
 * (scripts/guard-data/train.mjs imports this module from dist/): hashed word unigrams and
 * bigrams and character 4-grams of the text's skeleton.
 *
 * The skeleton is the text as a reader sees it: NFKC (full-width and compatibility forms folded),
 * lowercased, invisible format characters removed, common Cyrillic/Greek look-alikes of Latin
 * letters mapped to them, digits used as letters ("1gn0re") left alone except inside words,
 * whitespace collapsed. Hashing (FNV-1a, 2^BITS buckets) keeps the model a fixed size whatever
 * the vocabulary, so Japanese, Hindi or Arabic text gets features too.
 */

import { isAsciiText } from './text-utils.js';

export const BITS = 18;
export const BUCKETS = 1 << BITS;
/** Characters of one text the classifier reads (longer texts are read as windows of this size). */
export const WINDOW = 2048;

const INVISIBLE = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]|\uDB40[\uDC00-\uDC7F]/g;
const CONFUSABLE_CHARS = 'аеорсухіјѕԁɡһӏոսαορνικτυε';
const CONFUSABLE_LATIN = 'aeopcyxijsdghlnuaopviktue';
/** Cyrillic and Greek look-alikes of Latin letters, only next to a Latin letter (Russian and Greek words stay as they are). */
const CONFUSABLE_RE = new RegExp(`(?<=[a-z])[${CONFUSABLE_CHARS}]|[${CONFUSABLE_CHARS}](?=[a-z])`, 'g');
const LEET_FROM = '013457@$';
const LEET_TO = 'oieasta s';
/** Digits and signs written for letters between two letters: "1gn0re" keeps its "1", "ign0re" → "ignore". */
const LEET_RE = /(?<=[a-z])[013457@$](?=[a-z])/g;

/**
 * Skeleton of a text: NFKC, lowercase, invisible characters dropped, whitespace collapsed,
 * Cyrillic/Greek look-alikes next to a Latin letter mapped to Latin, digits and @/$ between two
 * letters read as the letters they imitate. Native regex passes, each gated by a test.
 */
export function skeleton(text: string): string {
  // ASCII text is its own NFKC form and holds no invisible or look-alike characters: skip those passes.
  const ascii = isAsciiText(text);
  let s = ascii ? text.toLowerCase() : text.normalize('NFKC').toLowerCase();
  if (!ascii && /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF\uDB40]/.test(s)) s = s.replace(INVISIBLE, '');
  // The same as replace(/\s+/g, ' '), without rewriting every single space between two words.
  s = s.replace(/\s{2,}|[^\S ]/g, ' ');
  if (!ascii && /[\u03b1-\u051f\u0261]/.test(s)) s = s.replace(CONFUSABLE_RE, (c) => CONFUSABLE_LATIN[CONFUSABLE_CHARS.indexOf(c)] ?? c);
  if (/[a-z][013457@$][a-z]/.test(s)) s = s.replace(LEET_RE, (c) => LEET_TO[LEET_FROM.indexOf(c)] ?? c);
  return s;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** ASCII word characters (letter, digit, underscore): 1; the rest 0. */
const ASCII_WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) ASCII_WORD[c] = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || (c >= 0x41 && c <= 0x5a) ? 1 : 0;

/** A word character: ASCII letter or digit, underscore, or any non-ASCII character that is not punctuation or a symbol we treat as one token. */
function wordChar(c: number): boolean {
  if (c < 0x80) return ASCII_WORD[c] === 1;
  return !(c >= 0x2000 && c <= 0x206f) && !(c >= 0x3000 && c <= 0x303f) && !(c >= 0xff00 && c <= 0xff0f);
}

const mix = (a: number, b: number): number => Math.imul(a ^ Math.imul(b, 0x9e3779b1), FNV_PRIME) >>> 0;

const MAX_WORDS = 1024;
/** Longest skeleton read: a window's NFKC form may be longer than the window. */
const MAX_SKELETON = WINDOW * 2;
/** The skeleton of the current read as character codes, and two spaces after it (the 4-grams' padding). */
const SKEL = new Uint16Array(MAX_SKELETON + 2);
/** The distinct feature indices of the current read, in first-seen order (words, then 4-grams). */
const FEATURES = new Uint32Array(2 * MAX_WORDS + MAX_SKELETON + 8);

/**
 * The skeleton of ASCII text, as skeleton() makes it, straight into SKEL: lowercase, each run of
 * whitespace one space, a digit or @/$ between two letters read as the letter it imitates.
 * `CODE[c]` is c lowercased, | IS_SPACE for whitespace, | IS_LEET for the characters leetspeak uses.
 * Returns the length, or -1 at the first non-ASCII character (then skeleton() reads the text).
 */
const IS_SPACE = 0x100;
const IS_LEET = 0x200;
const CODE = new Uint16Array(128);
for (let c = 0; c < 128; c++) {
  CODE[c] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  // What \s matches in ASCII: tab, line feed, vertical tab, form feed, carriage return, space.
  if ((c >= 0x09 && c <= 0x0d) || c === 0x20) CODE[c] = 0x20 | IS_SPACE;
}
/** What each leetspeak character reads as between two letters (LEET_FROM → LEET_TO, "$" → " " included). */
const LEET_AS = new Uint16Array(128);
for (let j = 0; j < LEET_FROM.length; j++) {
  const c = LEET_FROM.charCodeAt(j);
  CODE[c] = c | IS_LEET;
  LEET_AS[c] = LEET_TO.charCodeAt(j);
}
const isLower = (c: number): boolean => c >= 0x61 && c <= 0x7a;

/** Room for the bytes of the text being read (grown on demand). */
let BYTES = new Uint8Array(4 * WINDOW);
const encoder = new TextEncoder();
/** The text BYTES holds, and whether it is all ASCII (else BYTES is not used). */
let bytesText: string | undefined;
let bytesAscii = false;

/**
 * Whether `text` is all ASCII, and if so its characters into BYTES: one native conversion (far
 * cheaper than charCodeAt per character) for the many reads classifier.ts makes of one long text.
 */
function asciiBytes(text: string): boolean {
  if (text === bytesText) return bytesAscii;
  bytesText = text;
  bytesAscii = isAsciiText(text);
  if (bytesAscii) {
    if (BYTES.length < text.length) BYTES = new Uint8Array(Math.max(text.length, 2 * BYTES.length));
    // UTF-8 writes one byte for each ASCII character: BYTES[i] is text.charCodeAt(i).
    encoder.encodeInto(text, BYTES);
  }
  return bytesAscii;
}

/** The letters (A–Z, a–z) of the text asciiSkeleton last read, and its words (runs of letters). */
let skelLetters = 0;
let skelWords = 0;

/**
 * The skeleton of ASCII text (BYTES[start, end)), as skeleton() makes it, into SKEL: lowercase,
 * each run of whitespace one space, a digit or @/$ between two letters read as the letter it
 * imitates. Returns its length.
 */
function asciiSkeleton(start: number, end: number): number {
  const bytes = BYTES;
  let k = 0;
  let space = false;
  let leet = false;
  let letters = 0;
  let words = 0;
  let inLetters = false;
  for (let i = start; i < end; i++) {
    const code = CODE[bytes[i]!]!;
    if (code < 0x100) {
      SKEL[k++] = code;
      space = false;
      // Only a letter lowercases into a–z.
      if (isLower(code)) {
        letters++;
        if (!inLetters) words++;
        inLetters = true;
      } else inLetters = false;
    } else if (code & IS_SPACE) {
      if (!space) SKEL[k++] = 0x20;
      space = true;
      inLetters = false;
    } else {
      // A leetspeak character after a letter: read again below once the next character is known.
      if (k > 0 && isLower(SKEL[k - 1]!)) leet = true;
      SKEL[k++] = code & 0xff;
      space = false;
      inLetters = false;
    }
  }
  skelLetters = letters;
  skelWords = words;
  if (leet) {
    // As LEET_RE (lookbehind and lookahead on the text before any replacement): a replaced
    // character is followed by a letter, so it is never the left neighbour of another candidate.
    for (let j = 1; j + 1 < k; j++) {
      const c = SKEL[j]!;
      if (c < 0x80 && (CODE[c]! & IS_LEET) !== 0 && isLower(SKEL[j - 1]!) && isLower(SKEL[j + 1]!)) SKEL[j] = LEET_AS[c]!;
    }
  }
  return k;
}

/** The skeleton of text[start, end) into SKEL; returns its length (at most MAX_SKELETON). */
function skeletonInto(text: string, start: number, end: number): number {
  let n: number;
  if (asciiBytes(text)) n = asciiSkeleton(start, end);
  else {
    const skel = skeleton(text.slice(start, end));
    n = Math.min(skel.length, MAX_SKELETON);
    for (let i = 0; i < n; i++) SKEL[i] = skel.charCodeAt(i);
  }
  SKEL[n] = 0x20;
  SKEL[n + 1] = 0x20;
  return n;
}

// Dedupe without a Set: a stamp per bucket, bumped per text (one 256 KiB array, reused; cleared every 255 texts).
const stamp = new Uint8Array(BUCKETS);
let generation = 0;

/** A fresh stamp for the next text's dedupe. */
function nextGeneration(): number {
  if (++generation > 255) {
    stamp.fill(0);
    generation = 1;
  }
  return generation;
}

const SUM = { sum: 0, count: 0 };

/**
 * The features of SKEL[0, n) — words (runs of word characters; each punctuation mark is a token
 * too, so "###" and "<|" count) as unigrams and bigrams, and character 4-grams, which carry
 * scripts without spaces (ja, zh) and misspellings — each distinct one once: its index into
 * FEATURES (first-seen order) and its weight into SUM.sum; SUM.count is how many. The sum is of
 * integers (int8 weights), so it is exact in any order.
 */
function collect(n: number, weights: Int8Array): void {
  const mask = BUCKETS - 1;
  const g = nextGeneration();
  let count = 0;
  let sum = 0;
  let f: number;
  let prevWord = 0;
  let word = FNV_OFFSET;
  let inWord = false;
  let words = 0;
  // SKEL[n] is a space: the last word ends there.
  for (let i = 0; i <= n && words < MAX_WORDS; i++) {
    const c = SKEL[i]!;
    if (i < n && wordChar(c)) {
      word = Math.imul((inWord ? word : FNV_OFFSET) ^ c, FNV_PRIME);
      inWord = true;
      continue;
    }
    if (inWord) {
      // The word that ends here.
      f = mix(word, 1) & mask;
      if (stamp[f] !== g) {
        stamp[f] = g;
        FEATURES[count++] = f;
        sum += weights[f]!;
      }
      if (prevWord !== 0) {
        f = mix(mix(prevWord, word), 2) & mask;
        if (stamp[f] !== g) {
          stamp[f] = g;
          FEATURES[count++] = f;
          sum += weights[f]!;
        }
      }
      prevWord = word;
      words++;
      inWord = false;
    }
    if (c !== 0x20) {
      // A punctuation mark or symbol: a token of its own.
      word = Math.imul(FNV_OFFSET ^ c, FNV_PRIME);
      f = mix(word, 1) & mask;
      if (stamp[f] !== g) {
        stamp[f] = g;
        FEATURES[count++] = f;
        sum += weights[f]!;
      }
      if (prevWord !== 0) {
        f = mix(mix(prevWord, word), 2) & mask;
        if (stamp[f] !== g) {
          stamp[f] = g;
          FEATURES[count++] = f;
          sum += weights[f]!;
        }
      }
      prevWord = word;
      words++;
    }
  }
  // 4-grams of " " + skeleton + "  ": n of them (SKEL[n], SKEL[n + 1] are spaces).
  let a = 0x20;
  let b = SKEL[0]!;
  let c = SKEL[1]!;
  for (let i = 2; i <= n + 1; i++) {
    const d = SKEL[i]!;
    let h = Math.imul(FNV_OFFSET ^ a, FNV_PRIME);
    h = Math.imul(h ^ b, FNV_PRIME);
    h = Math.imul(h ^ c, FNV_PRIME);
    h = Math.imul(h ^ d, FNV_PRIME);
    f = h & mask;
    if (stamp[f] !== g) {
      stamp[f] = g;
      FEATURES[count++] = f;
      sum += weights[f]!;
    }
    a = b;
    b = c;
    c = d;
  }
  SUM.sum = sum;
  SUM.count = count;
}

/**
 * The sum of `weights` over the distinct features of text[start, end) — at most WINDOW
 * characters of it are read — and how many there are: what classifier.ts needs, in one pass,
 * without copying the text. The same as weightSum(text.slice(start, end)). The result object is reused.
 */
export function weightSumAt(text: string, start: number, end: number, weights: Int8Array): { sum: number; count: number } {
  collect(skeletonInto(text, start, Math.min(end, text.length, start + WINDOW)), weights);
  return SUM;
}

/**
 * For classifier.ts, which reads only parts with enough language: weightSumAt(text, start, end,
 * weights) when text[start, end) has at least `minLetters` letters (A–Z, a–z) and `minWords`
 * words (runs of letters), undefined when it has fewer — counted while its skeleton is made, so
 * the part is read once, not once to count and once more for its features. Only for an ASCII
 * text and a part of at most WINDOW characters (end ≤ text.length): null otherwise, and the
 * caller counts for itself. The result object is reused.
 */
export function asciiWeightSumIfWords(text: string, start: number, end: number, weights: Int8Array, minLetters: number, minWords: number): { sum: number; count: number } | undefined | null {
  if (end - start > WINDOW || end > text.length || !asciiBytes(text)) return null;
  const n = asciiSkeleton(start, end);
  if (skelLetters < minLetters || skelWords < minWords) return undefined;
  SKEL[n] = 0x20;
  SKEL[n + 1] = 0x20;
  collect(n, weights);
  return SUM;
}

/**
 * The sum of `weights` over the distinct features of one window of text (its first WINDOW
 * characters), and how many there are. The result object is reused.
 */
export function weightSum(text: string, weights: Int8Array): { sum: number; count: number } {
  return weightSumAt(text.length > WINDOW ? text.slice(0, WINDOW) : text, 0, WINDOW, weights);
}

let noWeights: Int8Array | undefined;

/** Distinct feature indices of one window of text, copied (for training), in first-seen order: words, then 4-grams. */
export function featuresOf(text: string): Uint32Array {
  const window = text.length > WINDOW ? text.slice(0, WINDOW) : text;
  collect(skeletonInto(window, 0, window.length), (noWeights ??= new Int8Array(BUCKETS)));
  return FEATURES.slice(0, SUM.count);
}
