/**
 * classifier: a small learned model beside the rules — logistic regression over hashed word and
 * character n-grams (features.ts), trained by scripts/guard-data/train.mjs on the TUNING sources
 * only (test/guards/public/tuning and the in-repo corpus), its weights committed as int8 in
 * model/weights.json and loaded once when this module is. Its threshold was chosen by
 * cross-validation on the tuning sources (false-positive rate ≤ 1 %), never on held-out data.
 *
 * It catches what no phrase list names: attacks written in other words, other languages, with
 * typos. Its finding has kind `classifier`; the score is its probability mapped so that the
 * model's own threshold lands on 0.5 (the scan's default), so it combines with the rules' kinds
 * like any other evidence. Long texts are read as windows (the strongest counts), at most
 * MAX_WINDOWS of them, and their paragraphs alone (an instruction padded with prose); a text with
 * too little language to judge (see enoughLanguage) is skipped.
 */
import type { Detector } from './context.js';
import { asciiWeightSumIfWords, BUCKETS, WINDOW, weightSumAt } from './features.js';
import { fixed2, quote } from './text-utils.js';
import model from './model/weights.json' with { type: 'json' };

interface ModelFile {
  bits: number;
  bias: number;
  scale: number;
  threshold: number;
  weights: string;
}

const file = model as ModelFile;
const WEIGHTS = Int8Array.from(Buffer.from(file.weights, 'base64'), (b) => (b << 24) >> 24);
if (WEIGHTS.length !== BUCKETS) throw new Error(`injection classifier: ${WEIGHTS.length} weights for ${BUCKETS} buckets (retrain: node scripts/guard-data/train.mjs)`);
const MAX_WINDOWS = 4;
/** Paragraphs (or groups of short ones) of a text longer than one window that are also read alone. */
const MAX_PARAGRAPHS = 64;
const GROUP_MIN = 200;
const GROUP_MAX = 600;
const MIN_LETTERS = 40;
const MIN_WORDS = 7;
const MIN_OTHER = 16;
/** The weakest classifier finding scan.ts keeps (its WEAK_CLASSIFIER). */
const MIN_REPORTED = 0.4;

/** Probability (0..1) that one window of text is an injection. */
export function classifierProbability(text: string): number {
  return probabilityAt(text, 0, text.length);
}

/** classifierProbability(text.slice(start, end)), without the copy. */
function probabilityAt(text: string, start: number, end: number): number {
  return probabilityOf(weightSumAt(text, start, end, WEIGHTS));
}

function probabilityOf({ sum, count }: { sum: number; count: number }): number {
  if (count === 0) return 0;
  return 1 / (1 + Math.exp(-(file.bias + (sum * file.scale) / Math.sqrt(count))));
}

/**
 * The probability of text[start, end), a part read whole (end ≤ text.length, at most WINDOW
 * characters), or undefined when it has too little language to judge (enoughLanguage): for an
 * ASCII text both from one read of the part (features.ts asciiWeightSumIfWords).
 */
function judgedPart(text: string, start: number, end: number): number | undefined {
  // In ASCII text enoughLanguage counts Latin letters and words only, and its answer for the
  // whole part (the counts only grow) is its answer: MIN_LETTERS letters in MIN_WORDS words.
  const r = asciiWeightSumIfWords(text, start, end, WEIGHTS, MIN_LETTERS, MIN_WORDS);
  if (r === null) return enoughLanguage(text, start, end) ? probabilityAt(text, start, end) : undefined;
  return r === undefined ? undefined : probabilityOf(r);
}

/** Maps a probability so that the model's threshold is 0.5: below it, a weak finding; above, one that crosses the default threshold alone. */
export function classifierScore(p: number): number {
  const t = file.threshold;
  return p < t ? (0.5 * p) / t : 0.5 + (0.5 * (p - t)) / (1 - t);
}

/**
 * Enough language to judge: MIN_LETTERS Latin letters in MIN_WORDS words, or MIN_OTHER letters of
 * other scripts (CJK has no spaces). A short argument ("here you go", an address, a URL) gives the
 * model too few features to be right; the rules judge those.
 */
function enoughLanguage(text: string, start = 0, end = text.length): boolean {
  let latin = 0;
  let other = 0;
  let words = 0;
  let inWord = false;
  const n = Math.min(end, start + 4096);
  for (let i = start; i < n; i++) {
    const c = text.charCodeAt(i);
    const isLatin = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0xc0 && c <= 0x24f);
    if (isLatin) latin++;
    else if (c >= 0x370 && !(c >= 0x2000 && c <= 0x206f) && !(c >= 0x3000 && c <= 0x303f) && !(c >= 0xff00 && c <= 0xff0f) && !(c >= 0xd800 && c <= 0xdfff)) other++;
    const letter = isLatin || c >= 0x370;
    if (letter && !inWord) words++;
    inWord = letter;
    if ((latin >= MIN_LETTERS && words >= MIN_WORDS) || other >= MIN_OTHER) return true;
  }
  return false;
}

export const detectClassifier: Detector = (ctx) => {
  const { text } = ctx;
  if (text.length < MIN_OTHER) return;
  let best = 0;
  let at = 0;
  if (text.length <= WINDOW) {
    // One window, the whole text: what enoughLanguage reads of it too.
    const p = judgedPart(text, 0, text.length);
    if (p === undefined) return;
    best = p;
  } else if (!enoughLanguage(text)) return;
  const windows = text.length <= WINDOW ? 0 : Math.min(MAX_WINDOWS, Math.ceil(text.length / WINDOW));
  for (let w = 0; w < windows; w++) {
    // The first windows, and the last one when the text is longer than they cover.
    const start = w === windows - 1 && text.length > windows * WINDOW ? text.length - WINDOW : w * WINDOW;
    const p = probabilityAt(text, start, start + WINDOW);
    if (p > best) {
      best = p;
      at = start;
    }
  }
  if (text.length > WINDOW) {
    // The paragraphs of a long text are read alone too: an instruction padded with kilobytes of
    // prose is diluted inside a window, but it is usually a paragraph of its own. Short
    // neighbouring paragraphs are read together (a group ends once it holds GROUP_MIN characters,
    // or before it would pass GROUP_MAX): one line of a poem or a list says too little to judge.
    // A paragraph longer than GROUP_MAX is not read again: the windows read it already, and an
    // instruction inside it is diluted by its own paragraph, not by the padding around it.
    let reads = 0;
    const read = (start: number, end: number): void => {
      if (end - start < MIN_OTHER || end - start > GROUP_MAX || reads >= MAX_PARAGRAPHS) return;
      reads++;
      const p = judgedPart(text, start, end);
      if (p !== undefined && p > best) {
        best = p;
        at = start;
      }
    };
    let groupStart = -1;
    let groupEnd = 0;
    const add = (start: number, end: number): void => {
      if (groupStart >= 0 && end - groupStart > GROUP_MAX) {
        read(groupStart, groupEnd);
        groupStart = -1;
      }
      if (groupStart < 0) groupStart = start;
      groupEnd = end;
      if (groupEnd - groupStart >= GROUP_MIN) {
        read(groupStart, groupEnd);
        groupStart = -1;
      }
    };
    const blank = /\n\s*\n/g;
    let from = 0;
    for (let m = blank.exec(text); m !== null && reads < MAX_PARAGRAPHS; m = blank.exec(text)) {
      add(from, m.index);
      from = m.index + m[0].length;
    }
    add(from, text.length);
    if (groupStart >= 0) read(groupStart, groupEnd);
  }
  const score = classifierScore(best);
  // Below MIN_REPORTED the finding would be dropped by the scan (scan.ts withClassifier keeps a weak
  // classifier finding only from 0.4, beside a rule finding): not worth quoting the text for.
  // A weak finding (< 0.5) counts only beside a rule finding, which quotes its own text; most weak
  // findings are dropped (an ordinary sentence of an argument object), so they are not quoted.
  if (score >= 0.5) ctx.add('classifier', score, `learned classifier p=${fixed2(best)} on ${quote(text.slice(at, at + 120), 50)}`, at);
  else if (score >= MIN_REPORTED) ctx.add('classifier', score, `learned classifier p=${fixed2(best)} (weak) at character ${at}`, at);
};
