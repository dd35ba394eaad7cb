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
  // eslint-disable-next-line no-control-regex
  const ascii = !/[^\u0000-\u007f]/.test(text);
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

/** A word character: ASCII letter or digit, underscore, or any non-ASCII character that is not punctuation or a symbol we treat as one token. */
function wordChar(c: number): boolean {
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || (c >= 0x41 && c <= 0x5a);
  return !(c >= 0x2000 && c <= 0x206f) && !(c >= 0x3000 && c <= 0x303f) && !(c >= 0xff00 && c <= 0xff0f);
}

const mix = (a: number, b: number): number => Math.imul(a ^ Math.imul(b, 0x9e3779b1), FNV_PRIME) >>> 0;

const MAX_WORDS = 1024;
/** Feature indices of the current text, with repeats: ≤ 2 per word, 1 per character (+2). */
const FEATURES = new Uint32Array(2 * MAX_WORDS + WINDOW * 2 + 8);

/**
 * Writes the feature indices of a skeleton (with repeats) into FEATURES and returns how many:
 * words (runs of word characters; each punctuation mark is a token too, so "###" and "<|"
 * count) as unigrams and bigrams, and character 4-grams, which carry scripts without spaces
 * (ja, zh) and misspellings.
 */
function collect(skel: string): number {
  const mask = BUCKETS - 1;
  const n = Math.min(skel.length, WINDOW * 2);
  let k = 0;
  let prevWord = 0;
  let word = FNV_OFFSET;
  let inWord = false;
  let words = 0;
  // One branch per character class (a word character; the end of a word; a token of its own)
  // instead of a loop of two passes per non-word character: the same features in the same order,
  // ~17% less time for this loop, the classifier's largest cost on prose.
  for (let i = 0; i <= n && words < MAX_WORDS; i++) {
    const c = i < n ? skel.charCodeAt(i) : 0x20;
    if (i < n && wordChar(c)) {
      word = Math.imul((inWord ? word : FNV_OFFSET) ^ c, FNV_PRIME);
      inWord = true;
      continue;
    }
    if (inWord) {
      // The word that ends here.
      FEATURES[k++] = mix(word, 1) & mask;
      if (prevWord !== 0) FEATURES[k++] = mix(mix(prevWord, word), 2) & mask;
      prevWord = word;
      words++;
      inWord = false;
    }
    if (c !== 0x20) {
      // A punctuation mark or symbol: a token of its own.
      word = Math.imul(FNV_OFFSET ^ c, FNV_PRIME);
      FEATURES[k++] = mix(word, 1) & mask;
      if (prevWord !== 0) FEATURES[k++] = mix(mix(prevWord, word), 2) & mask;
      prevWord = word;
      words++;
    }
  }
  let a = 0x20;
  let b = n > 0 ? skel.charCodeAt(0) : 0x20;
  let c = n > 1 ? skel.charCodeAt(1) : 0x20;
  for (let i = 2; i <= n + 1; i++) {
    const d = i < n ? skel.charCodeAt(i) : 0x20;
    let h = Math.imul(FNV_OFFSET ^ a, FNV_PRIME);
    h = Math.imul(h ^ b, FNV_PRIME);
    h = Math.imul(h ^ c, FNV_PRIME);
    h = Math.imul(h ^ d, FNV_PRIME);
    FEATURES[k++] = (h >>> 0) & mask;
    a = b;
    b = c;
    c = d;
  }
  return k;
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

/** The features of the text's first window into FEATURES; returns how many (duplicates included). */
function collectWindow(text: string): number {
  return collect(skeleton(text.length > WINDOW ? text.slice(0, WINDOW) : text));
}

/**
 * The sum of `weights` over the distinct features of one window of text, and how many there
 * are: what classifier.ts needs, in one pass. The sum is of integers (int8 weights), so it is
 * exact in any order: the same as summing featuresOf's indices. The result object is reused.
 */
export function weightSum(text: string, weights: Int8Array): { sum: number; count: number } {
  const g = nextGeneration();
  const total = collectWindow(text);
  let count = 0;
  let sum = 0;
  for (let j = 0; j < total; j++) {
    const i = FEATURES[j]!;
    if (stamp[i] === g) continue;
    stamp[i] = g;
    count++;
    sum += weights[i]!;
  }
  SUM.sum = sum;
  SUM.count = count;
  return SUM;
}
const SUM = { sum: 0, count: 0 };

/** Distinct feature indices of one window of text, copied (for training). */
export function featuresOf(text: string): Uint32Array {
  const g = nextGeneration();
  const total = collectWindow(text);
  let count = 0;
  for (let j = 0; j < total; j++) {
    const i = FEATURES[j]!;
    if (stamp[i] === g) continue;
    stamp[i] = g;
    FEATURES[count++] = i;
  }
  return FEATURES.slice(0, count);
}
