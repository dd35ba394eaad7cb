/**
 * Keyword pre-filter: which rules of a detector can possibly match a text. One pass of one
 * combined regex over the lowercased text finds every needle occurrence (overlaps included),
 * instead of one `includes` per needle per rule — on short texts that fixed cost dominated.
 */
import { isAsciiText } from './text-utils.js';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

interface TrieNode {
  end: boolean;
  next: Map<string, TrieNode>;
}

/**
 * The needles as one regex shaped like a trie (`i(?:gnor|f you are)|d(?:isregard|ear)`), so the
 * engine dispatches on one character per position instead of trying every needle in turn —
 * a flat alternation of ~200 words was the single most expensive step of a scan.
 */
function trieSource(needles: readonly string[]): string {
  const root: TrieNode = { end: false, next: new Map() };
  for (const needle of needles) {
    let node = root;
    for (const ch of needle) {
      let child = node.next.get(ch);
      if (!child) {
        child = { end: false, next: new Map() };
        node.next.set(ch, child);
      }
      node = child;
    }
    node.end = true;
  }
  const emit = (node: TrieNode): string => {
    const branches: string[] = [];
    for (const [ch, child] of node.next) {
      let chain = escape(ch);
      let cur = child;
      // Collapse single-child chains into a literal run.
      while (!cur.end && cur.next.size === 1) {
        const [[c, only]] = [...cur.next] as [[string, TrieNode]];
        chain += escape(c);
        cur = only;
      }
      if (cur.next.size === 0) branches.push(chain);
      else {
        const rest = emit(cur);
        branches.push(`${chain}(?:${rest})${cur.end ? '?' : ''}`);
      }
    }
    return branches.join('|');
  };
  return emit(root);
}

/** At most this many needle hits are examined per text; after that every rule runs on the whole text. */
const MAX_HITS = 4096;
/** Positions kept per rule; a rule with more hits runs on the whole text. */
const MAX_POSITIONS = 512;

/** Where a rule's needles occur: positions in the text, or 'all' to scan the whole text. */
export type RuleHits = number[] | 'all' | undefined;

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\u0000-\u007f]/;
/** A regex that never matches (a trie of no needles). */
const NOTHING = /(?!)/g;

/**
 * The needles as one global regex. Needles that start with an ASCII letter or digit only match
 * at the start of a word (the text is lowercased), so the engine rejects most positions on a
 * cheap look-behind before dispatching on the trie. Other needles (CJK, Cyrillic, punctuation)
 * match anywhere.
 */
function needleRegex(needles: readonly string[]): RegExp {
  const wordStart = needles.filter((n) => /^[a-z0-9]/.test(n));
  const other = needles.filter((n) => !/^[a-z0-9]/.test(n));
  const parts: string[] = [];
  if (wordStart.length) parts.push(`(?<![a-z0-9])(?:${trieSource(wordStart)})`);
  if (other.length) parts.push(trieSource(other));
  return parts.length ? new RegExp(parts.join('|'), 'g') : new RegExp(NOTHING.source, 'g');
}

/** The last text asked about and whether it is ASCII: the detectors of one text ask in turn, with the same string. */
let lastText: string | undefined;
let lastAscii = false;
/** Whether `lower` has only ASCII characters (remembered for the last string asked about). */
export function isAscii(lower: string): boolean {
  if (lower !== lastText) {
    lastAscii = isAsciiText(lower);
    lastText = lower;
  }
  return lastAscii;
}

/** Tells isAscii that `lower` is ASCII (scan.ts knows it of the text, and so of its lowercase). */
export function knownAscii(lower: string): void {
  lastText = lower;
  lastAscii = true;
}

export class Triggers {
  private readonly re: RegExp;
  /** The trie of the ASCII needles, for an ASCII text. */
  private readonly reAscii: RegExp;
  /** Per needle, the rules a match of it triggers (its own and those of the needles it starts with). */
  private readonly rulesAt = new Map<string, readonly number[]>();
  private readonly ruleCount: number;

  constructor(needlesPerRule: ReadonlyArray<readonly string[]>) {
    this.ruleCount = needlesPerRule.length;
    const rulesOf = new Map<string, number[]>();
    needlesPerRule.forEach((needles, rule) => {
      for (const n of needles) {
        const key = n.toLowerCase();
        const list = rulesOf.get(key);
        if (list) list.push(rule);
        else rulesOf.set(key, [rule]);
      }
    });
    const needles = [...rulesOf.keys()].sort((a, b) => b.length - a.length);
    // The trie regex returns the LONGEST needle at a position (each node's continuation is
    // greedy, and its branches start with distinct characters); every other needle there is a
    // prefix of it. So the rules a match triggers are those of the needle and of its prefixes
    // that are needles, computed here once instead of trying the needles one by one per match.
    for (const needle of needles) {
      const rules = new Set<number>();
      for (let k = 1; k <= needle.length; k++) for (const r of rulesOf.get(needle.slice(0, k)) ?? []) rules.add(r);
      this.rulesAt.set(needle, [...rules].sort((a, b) => a - b));
    }
    this.re = needleRegex(needles);
    // A needle with a character the text does not have cannot match it: an ASCII text (most
    // tool results, in English) is scanned with the ASCII needles' trie alone. The same matches
    // at the same positions (each trie node's branches start with distinct characters, so
    // dropping branches that cannot match changes no match), at a fraction of the cost: Cyrillic,
    // CJK and accented needles made a whole trie several times slower to run over plain English
    // (goal-hijack.ts's: 4x, measured).
    const ascii = needles.filter((n) => !NON_ASCII.test(n));
    this.reAscii = ascii.length === needles.length ? this.re : needleRegex(ascii);
  }

  /**
   * Per rule, the positions where its needles occur in `lower` (undefined when none do).
   * `lower` must be index-aligned with the scanned text (same length); otherwise every
   * triggered rule is marked 'all'.
   */
  scan(lower: string, aligned: boolean): RuleHits[] {
    const hits = new Array<RuleHits>(this.ruleCount);
    const re = this.reAscii === this.re || !isAscii(lower) ? this.re : this.reAscii;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    let n = 0;
    while ((m = re.exec(lower)) !== null) {
      const at = m.index;
      if (++n > MAX_HITS) return hits.fill('all');
      for (const r of this.rulesAt.get(m[0]) ?? []) {
        const h = hits[r];
        if (h === 'all') continue;
        if (!aligned) hits[r] = 'all';
        else if (h === undefined) hits[r] = [at];
        else if (h.length >= MAX_POSITIONS) hits[r] = 'all';
        else if (h[h.length - 1] !== at) h.push(at);
      }
      re.lastIndex = at + 1; // overlapping needles ("you are now" inside "from now on, you are now")
    }
    re.lastIndex = 0;
    return hits;
  }
}

/* ------------------------------------------------------------------ one pass for several detectors */

const registered: Array<readonly string[]> = [];
let combined: Triggers | undefined;
let combinedFor = -1;
/** The last two texts scanned (a rescan of derived text sits between two detectors of the outer text). */
const memo: Array<{ lower: string; aligned: boolean; hits: RuleHits[]; none: boolean }> = [];
/** Whether the last combinedHits call found no needle at all (most short argument values). */
let lastNone = false;

function combinedHits(lower: string, aligned: boolean): RuleHits[] {
  if (combinedFor !== registered.length) {
    combined = new Triggers(registered);
    combinedFor = registered.length;
    memo.length = 0;
  }
  for (const m of memo) {
    if (m.aligned === aligned && m.lower === lower) {
      lastNone = m.none;
      return m.hits;
    }
  }
  const hits = combined!.scan(lower, aligned);
  let none = true;
  for (let i = 0; i < hits.length && none; i++) if (hits[i] !== undefined) none = false;
  memo.unshift({ lower, aligned, hits, none });
  if (memo.length > 2) memo.pop();
  lastNone = none;
  return hits;
}

/** Registers rules with the shared pass; returns the index of the first. */
function register(needlesPerRule: ReadonlyArray<readonly string[]>): number {
  const offset = registered.length;
  registered.push(...needlesPerRule);
  return offset;
}

/**
 * Like `new Triggers(needlesPerRule).scan`, but the needles of every detector that registers
 * this way are found in ONE pass over a text, shared by those detectors (the trie pass was a
 * fixed cost per detector and per kilobyte). Register at module load; the returned function
 * gives this detector's rules' hits, in its own rule order.
 */
export function sharedTriggers(needlesPerRule: ReadonlyArray<readonly string[]>): (lower: string, aligned: boolean) => RuleHits[] {
  const offset = register(needlesPerRule);
  const count = needlesPerRule.length;
  // When the text has no needle at all, every detector gets the same array of no hits (callers only read it).
  const none: RuleHits[] = new Array<RuleHits>(count).fill(undefined);
  return (lower, aligned) => {
    const hits = combinedHits(lower, aligned);
    if (lastNone) return none;
    // A text with a needle mostly has none of this detector's: then the same array, not a copy.
    for (let i = offset; i < offset + count; i++) if (hits[i] !== undefined) return hits.slice(offset, offset + count);
    return none;
  };
}

/** A character `\b` counts as a word character: A–Z, a–z, 0–9, _. */
const isWordChar = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || (c >= 0x41 && c <= 0x5a);

/**
 * A keyword pre-filter `/\b(?:word|word|…)/.test(lower)` answered from the shared pass instead
 * of its own regex run over the text (a large alternation after `\b` cost a few percent of a
 * scan each). Every word must start with a–z: the pass finds such needles only where no a–z or
 * 0–9 precedes them, and `\b` also rules out A–Z and _ there, which is checked at each hit.
 * `verify`, a sticky regex, must also match at the hit (for a pattern that is not a plain word:
 * "tu\s+so" is the needle "tu" verified by /tu\s+so/y). Returns undefined when the pass cannot
 * say (its positions were not kept: 'all'); the caller then runs its regex.
 */
export function sharedWordGate(words: readonly string[], verify?: RegExp): (lower: string, aligned: boolean) => boolean | undefined {
  if (!words.every((w) => /^[a-z]/.test(w))) throw new Error('sharedWordGate: every word must start with a-z');
  if (verify && !verify.sticky) throw new Error('sharedWordGate: verify must be sticky');
  const rule = register([words]);
  return (lower, aligned) => {
    const hits = combinedHits(lower, aligned)[rule];
    if (hits === undefined) return false;
    if (hits === 'all') return undefined;
    for (const p of hits) {
      if (p > 0 && isWordChar(lower.charCodeAt(p - 1))) continue;
      if (!verify) return true;
      verify.lastIndex = p;
      if (verify.test(lower)) return true;
    }
    return false;
  };
}
