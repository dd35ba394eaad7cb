/**
 * Cheap pre-filters for the injection detectors: tests that read a fraction of a text, or a few
 * table entries per word, and say when the expensive test behind them cannot succeed. Each is
 * exact for the test it guards (test/guards/scan-prefilters.property.test.ts checks them
 * against it), so a gated detector finds the same as an ungated one.
 */

const a = 0x61;
const isAz = (c: number): boolean => c >= a && c <= 0x7a;

/**
 * A pre-filter for typo matching (addressed.ts): whether the word `lower[start, end)` (a–z
 * letters) can be a misspelling of one of `keywords` at all — its length within 2 of the
 * keyword's, and its first two letters, its first letter and last two, or its last three the
 * keyword's. The same test as the keyword loop's, answered by a few table lookups, so the loop
 * runs only for the rare word that passes it. With keywords it cannot index (more than 31, or
 * not a–z), it passes every word.
 */
export function misspellingFilter(keywords: readonly string[]): (lower: string, start: number, end: number) => boolean {
  if (keywords.length > 31 || !keywords.every((k) => /^[a-z]{3,}$/.test(k))) return () => true;
  const longest = Math.max(...keywords.map((k) => k.length));
  const byLength = new Int32Array(longest + 3);
  const byFirst = new Int32Array(26);
  const byFirstTwo = new Int32Array(26 * 26);
  const byLastTwo = new Int32Array(26 * 26);
  const byLastThree = new Int32Array(26 * 26 * 26);
  keywords.forEach((k, i) => {
    const bit = 1 << i;
    const c = (j: number): number => k.charCodeAt(j < 0 ? k.length + j : j) - a;
    for (let l = Math.max(0, k.length - 2); l <= k.length + 2; l++) byLength[l]! |= bit;
    byFirst[c(0)]! |= bit;
    byFirstTwo[c(0) * 26 + c(1)]! |= bit;
    byLastTwo[c(-2) * 26 + c(-1)]! |= bit;
    byLastThree[(c(-3) * 26 + c(-2)) * 26 + c(-1)]! |= bit;
  });
  return (lower, start, end) => {
    const length = end - start;
    if (length < 3) return true;
    const c0 = lower.charCodeAt(start);
    const c1 = lower.charCodeAt(start + 1);
    const e3 = lower.charCodeAt(end - 3);
    const e2 = lower.charCodeAt(end - 2);
    const e1 = lower.charCodeAt(end - 1);
    if (!isAz(c0) || !isAz(c1) || !isAz(e3) || !isAz(e2) || !isAz(e1)) return true;
    const lengths = length < byLength.length ? byLength[length]! : 0;
    const lastTwo = byLastTwo[(e2 - a) * 26 + (e1 - a)]!;
    const starts = byFirstTwo[(c0 - a) * 26 + (c1 - a)]! | (byFirst[c0 - a]! & lastTwo);
    return (lengths & (starts | byLastThree[((e3 - a) * 26 + (e2 - a)) * 26 + (e1 - a)]!)) !== 0;
  };
}

/** A table of the ASCII characters `chars` holds (ranges as "A-Z"), for hasRun. */
export function asciiSet(ranges: string): Uint8Array {
  const set = new Uint8Array(128);
  for (let i = 0; i < ranges.length; i++) {
    if (ranges[i + 1] === '-' && i + 2 < ranges.length) {
      for (let c = ranges.charCodeAt(i); c <= ranges.charCodeAt(i + 2); c++) set[c] = 1;
      i += 2;
    } else set[ranges.charCodeAt(i)] = 1;
  }
  return set;
}

/**
 * Whether `text` has a run of at least `min` consecutive characters of `set` (ASCII only). Any such
 * run covers a position that is a multiple of `min`, so only those positions are probed, and a
 * run is measured only around a probe that hits one: about 1/min of the characters are read
 * when the runs are short (prose), instead of every one.
 */
export function hasRun(text: string, set: Uint8Array, min: number): boolean {
  const n = text.length;
  for (let p = min - 1; p < n; p += min) {
    if (set[text.charCodeAt(p)] !== 1) continue;
    let start = p;
    while (start > 0 && set[text.charCodeAt(start - 1)] === 1) start--;
    let end = p + 1;
    while (end < n && end - start < min && set[text.charCodeAt(end)] === 1) end++;
    if (end - start >= min) return true;
    p = end; // the run ends before `end`: the next probe comes after it
  }
  return false;
}

/** Letter counts of an a–z word, for letterBound. */
export function letterCounts(word: string): Int32Array {
  const counts = new Int32Array(26);
  for (let i = 0; i < word.length; i++) counts[word.charCodeAt(i) - a]!++;
  return counts;
}

const scratch = new Int32Array(26);

/**
 * A lower bound of the edit distance (insert, delete, substitute, swap two neighbours) between
 * the a–z word `lower[start, end)` and a word with letter counts `counts`: each edit changes
 * the two words' letter counts by at most 2 in total (a swap by none), so the distance is at
 * least half their difference. Counting letters costs far less than the distance's table, and
 * most words that pass misspellingFilter ("product" for "previous") are rejected by it.
 */
export function letterBound(lower: string, start: number, end: number, counts: Int32Array): number {
  scratch.set(counts);
  for (let i = start; i < end; i++) scratch[lower.charCodeAt(i) - a]!--;
  let diff = 0;
  for (let c = 0; c < 26; c++) diff += Math.abs(scratch[c]!);
  return Math.ceil(diff / 2);
}
