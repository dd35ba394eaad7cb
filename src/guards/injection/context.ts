import type { InjectionFinding, InjectionKind } from './types.js';
import type { HostMatcher } from './hosts.js';
import type { RuleHits } from './triggers.js';

/** What every detector sees for one piece of text. */
export interface DetectorContext {
  /** The text being scanned (one window of a string). */
  readonly text: string;
  /** `text` lowercased, computed once, index-aligned with `text` (see lowerAligned in scan.ts); for keyword pre-filters. */
  readonly lower: string;
  /** Whether `text` has only ASCII characters (isAsciiText, asked once per text): a pattern that needs another character is not run. */
  readonly ascii: boolean;
  /** Links and images to these hosts produce no finding. */
  readonly hosts: HostMatcher;
  /** 0 for the text itself; 1 inside a decoded blob or de-obfuscated copy (no further decoding). */
  readonly depth: number;
  /** Records a finding at `offset` in `text`. */
  add(kind: InjectionKind, score: number, detail: string, offset: number): void;
  /** Runs the phrase detectors (override, role header, script, links) over derived text, e.g. decoded base64. */
  rescan(derived: string): InjectionFinding[];
}

export type Detector = (ctx: DetectorContext) => void;

/**
 * Runs a global regex over `text`, calling `onMatch` for each match, at most `limit` times
 * (a pathological input cannot make a detector allocate without bound).
 */
export function eachMatch(re: RegExp, text: string, onMatch: (m: RegExpExecArray) => void, limit = 64): void {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) re.lastIndex++;
    onMatch(m);
    if (++n >= limit) break;
  }
  re.lastIndex = 0;
}

/** True when any of the needles occurs in the lowercased text. */
export function hasAny(lower: string, needles: readonly string[]): boolean {
  for (const n of needles) if (lower.includes(n)) return true;
  return false;
}

/** How far before a needle a match may start, and after it end (every rule's matches are shorter). */
const WINDOW_BEFORE = 120;
const WINDOW_AFTER = 240;

/** Whether eachMatchNear(re, text, hits, …, before) runs `re` over the whole text (not in windows around the hits). */
export function readsWholeText(text: string, hits: RuleHits, before = WINDOW_BEFORE): boolean {
  return hits === 'all' || text.length <= before + WINDOW_AFTER;
}

/**
 * Like eachMatch, but only in windows around the positions where the rule's needles occur,
 * so a rule costs time in proportion to its keyword hits rather than to the text's length.
 * Windows start at a line start or a whitespace boundary (so `^` and `\b` keep their meaning)
 * and overlapping windows are merged. `onMatch` gets matches with indices into `text`.
 */
export function eachMatchNear(re: RegExp, text: string, hits: RuleHits, onMatch: (m: RegExpExecArray) => void, limit = 64, before = WINDOW_BEFORE): void {
  if (hits === undefined) return;
  if (hits === 'all' || readsWholeText(text, hits, before)) return eachMatch(re, text, onMatch, limit);
  let n = 0;
  let i = 0;
  while (i < hits.length && n < limit) {
    const first = hits[i]!;
    let start = Math.max(0, first - before);
    let end = Math.min(text.length, first + WINDOW_AFTER);
    while (i + 1 < hits.length && hits[i + 1]! - before <= end) end = Math.min(text.length, hits[++i]! + WINDOW_AFTER);
    i++;
    if (start > 0) {
      // Back to the line start (so ^ means a line start) if it is near, else to a word boundary.
      const nl = text.lastIndexOf('\n', start);
      if (nl !== -1 && start - nl < 200) start = nl + 1;
      else while (start > 0 && start > first - before - 40 && !/\s/.test(text[start - 1]!)) start--;
    }
    const window = text.slice(start, end);
    eachMatch(re, window, (m) => {
      m.index += start;
      onMatch(m);
      n++;
    }, limit - n);
  }
}

const stickyCache = new WeakMap<RegExp, RegExp>();

/**
 * For rules whose match starts at a fixed distance from a needle ("ignore…" starts at the
 * needle "ignor"; "do not follow" 3 characters before "not follow"): try the regex, sticky,
 * only at those starts. The cost is then the length of the few matches tried, not of the text.
 * Falls back to a whole-text scan when the hits were not recorded ('all').
 */
export function eachMatchAt(re: RegExp, text: string, hits: RuleHits, anchors: readonly number[], onMatch: (m: RegExpExecArray) => void, limit = 64): void {
  if (hits === undefined) return;
  if (hits === 'all') return eachMatch(re, text, onMatch, limit);
  let sticky = stickyCache.get(re);
  if (!sticky) {
    sticky = new RegExp(re.source, re.flags.replace('g', '') + 'y');
    stickyCache.set(re, sticky);
  }
  let n = 0;
  let covered = -1; // end of the last match: later hits inside it are part of it
  for (const hit of hits) {
    if (hit < covered) continue;
    for (const a of anchors) {
      const at = hit + a;
      if (at < 0 || at < covered) continue;
      sticky.lastIndex = at;
      const m = sticky.exec(text);
      if (m) {
        covered = at + Math.max(1, m[0].length);
        onMatch(m);
        if (++n >= limit) return;
        break;
      }
    }
  }
}
