/**
 * scanText / scanValue: run every detector over a text (or every string in a JSON value) and
 * combine the findings. Pure and synchronous.
 *
 * Combining: the strongest finding of each kind counts, and kinds combine as independent
 * evidence, score = 1 − Π_k (1 − max_k). Ten weak role labels in a chat log stay weak; an
 * override phrase plus an exfiltration image is stronger than either.
 *
 * Cost control: a string longer than MAX_SCAN (256 Ki UTF-16 units) is scanned in two windows,
 * its first 192 Ki and its last 64 Ki units (padding an injection to the middle of a 10 MB
 * result is the remaining blind spot), and the result says `truncated`. Each detector is gated
 * by substring pre-filters, caps its matches, and uses bounded, linear-time patterns.
 */
import type { DetectorContext, Detector } from './context.js';
import { detectAddressed } from './addressed.js';
import { detectClassifier } from './classifier.js';
import { detectEncoded } from './encoded.js';
import { detectExfiltration } from './exfiltration.js';
import { detectHiddenText } from './hidden-text.js';
import { detectLayers } from './layers.js';
import { detectManipulation } from './manipulation.js';
import { detectGoalHijack } from './goal-hijack.js';
import { detectMultilingual } from './multilingual.js';
import { hostMatcher, type HostMatcher } from './hosts.js';
import { detectOverride } from './override.js';
import { detectRoleHeader } from './role-header.js';
import { isQuotedMention, isReportedMention, REPORTED_FORM, type MentionState } from './mention.js';
import { detectScript } from './script.js';
import { cachedScan, type CachedScan } from './scan-cache.js';
import { clampScore, isAsciiText } from './text-utils.js';
import { knownAscii } from './triggers.js';
import type { InjectionFinding, InjectionKind, InjectionScan, ScanOptions } from './types.js';

export const DEFAULT_THRESHOLD = 0.5;
/** A classifier finding below 0.5 counts only from here, and only beside a rule finding. */
const WEAK_CLASSIFIER = 0.4;
const MAX_SCAN = 256 * 1024;
const HEAD = 192 * 1024;
const TAIL = MAX_SCAN - HEAD;
/** Findings kept per kind per string (the strongest), so a pathological input yields a short list. */
const MAX_PER_KIND = 8;

/** Phrase detectors: also run over derived text (decoded blobs, tag characters, text without zero-width characters). */
const PHRASE_DETECTORS: readonly Detector[] = [detectOverride, detectRoleHeader, detectScript, detectExfiltration, detectAddressed, detectManipulation, detectMultilingual, detectGoalHijack, detectLayers];
const ALL_DETECTORS: readonly Detector[] = [...PHRASE_DETECTORS, detectHiddenText, detectEncoded, detectClassifier];

const QUOTED = ' (quoted in a text about attacks)';
const REPORTED = ' (reported in a text about attacks)';
/** A finding damped as a mention of an attack (mention.ts), not the use of one. */
// REPORTED_FORM sits before the quoted text of the detail: read only there, so a text cannot forge it.
const isMention = (f: InjectionFinding): boolean => f.detail.endsWith(QUOTED) || f.detail.endsWith(REPORTED) || f.detail.split(' "', 1)[0]!.endsWith(REPORTED_FORM);

/** Kinds whose matches can be quoted in prose about attacks (see mention.ts). */
const MENTIONABLE = new Set<InjectionKind>(['instruction_override', 'role_header', 'script', 'addressed_instruction']);

/**
 * `text.toLowerCase()` with the same length as `text`, so positions found in it are positions in
 * `text`. Only U+0130 (İ) lowercases to two code units; it becomes a plain i.
 */
function lowerAligned(text: string): string {
  const lower = text.toLowerCase();
  return lower.length === text.length ? lower : text.replace(/\u0130/g, 'I').toLowerCase();
}

/** What the detectors see of one text: one object per text, its methods on the prototype (not two closures and their context made per text). */
class DetectorRun implements DetectorContext {
  readonly lower: string;
  readonly ascii: boolean;
  private readonly mention: MentionState = {};

  constructor(
    readonly text: string,
    readonly hosts: HostMatcher,
    readonly depth: number,
    private readonly base: number,
    private readonly out: InjectionFinding[],
  ) {
    this.ascii = isAsciiText(text);
    this.lower = lowerAligned(text);
    // An ASCII text lowercases to ASCII: the needle pass need not ask again.
    if (this.ascii) knownAscii(this.lower);
  }

  add(kind: InjectionKind, score: number, detail: string, offset: number): void {
    if (MENTIONABLE.has(kind) && isQuotedMention(this.text, offset, this.mention)) {
      score *= 0.5;
      detail += QUOTED;
    } else if (MENTIONABLE.has(kind) && isReportedMention(this.text, offset, this.mention)) {
      score *= 0.5;
      detail += REPORTED;
    }
    this.out.push({ kind, score: clampScore(score), detail, offset: this.base + offset });
  }

  rescan(derived: string): InjectionFinding[] {
    const inner: InjectionFinding[] = [];
    runDetectors(derived.length > HEAD ? derived.slice(0, HEAD) : derived, this.hosts, this.depth + 1, PHRASE_DETECTORS, 0, inner);
    return inner;
  }
}

function runDetectors(text: string, hosts: HostMatcher, depth: number, detectors: readonly Detector[], base: number, out: InjectionFinding[], learned = true): void {
  const ctx = new DetectorRun(text, hosts, depth, base, out);
  for (const detect of detectors) {
    // The classifier is a second opinion (withClassifier): not asked when the rules already flag the text.
    if (detect === detectClassifier && (!learned || combine(out) >= DEFAULT_THRESHOLD)) continue;
    detect(ctx);
  }
}

/** Keeps the strongest MAX_PER_KIND findings of each kind (one per kind and offset), in text order. */
function prune(findings: InjectionFinding[]): InjectionFinding[] {
  if (findings.length <= 1) return findings;
  const byKind = new Map<InjectionKind, InjectionFinding[]>();
  for (const f of findings) {
    const list = byKind.get(f.kind);
    if (list) list.push(f);
    else byKind.set(f.kind, [f]);
  }
  const kept: InjectionFinding[] = [];
  for (const list of byKind.values()) {
    list.sort((a, b) => b.score - a.score || a.offset - b.offset);
    const seen = new Set<number>();
    for (const f of list) {
      if (seen.has(f.offset)) continue;
      seen.add(f.offset);
      kept.push(f);
      if (seen.size >= MAX_PER_KIND) break;
    }
  }
  return kept.sort((a, b) => a.offset - b.offset || b.score - a.score);
}

/** 1 − Π_k (1 − max score of kind k). */
export function combine(findings: readonly InjectionFinding[]): number {
  if (findings.length === 0) return 0; // clampScore(1 - 1), without the map
  const max = new Map<InjectionKind, number>();
  for (const f of findings) if (f.score > (max.get(f.kind) ?? 0)) max.set(f.kind, f.score);
  let rest = 1;
  for (const s of max.values()) rest *= 1 - s;
  return clampScore(1 - rest);
}

function cachedFindingsOf(text: string, hosts: HostMatcher, hostsKey: string, useCache: boolean, learned = true): CachedScan {
  if (!useCache) return findingsOf(text, hosts, learned);
  return cachedScan(text, learned ? hostsKey : `${hostsKey}\u0000rules-only`, (t) => findingsOf(t, hosts, learned));
}

/** Cache keys of allowed-host lists, by list: the configured list is the same array on every call (as hosts.ts's matchers assume), and joining it per scan cost ~1% of a corpus scan. */
const hostsKeys = new WeakMap<readonly string[], string>();
function hostsKeyOf(options: ScanOptions | undefined): string {
  const hosts = options?.allowedHosts;
  if (!hosts) return '';
  let key = hostsKeys.get(hosts);
  if (key === undefined) hostsKeys.set(hosts, (key = hosts.join('\n')));
  return key;
}

function findingsOf(text: string, hosts: HostMatcher, learned = true): CachedScan {
  const out: InjectionFinding[] = [];
  if (text.length <= MAX_SCAN) {
    runDetectors(text, hosts, 0, ALL_DETECTORS, 0, out, learned);
    return { findings: prune(out), truncated: false };
  }
  runDetectors(text.slice(0, HEAD), hosts, 0, ALL_DETECTORS, 0, out, learned);
  runDetectors(text.slice(text.length - TAIL), hosts, 0, ALL_DETECTORS, text.length - TAIL, out, learned);
  return { findings: prune(out), truncated: true };
}

function threshold(options: ScanOptions | undefined): number {
  const t = options?.threshold;
  return typeof t === 'number' && Number.isFinite(t) ? t : DEFAULT_THRESHOLD;
}

/**
 * The classifier is a second opinion: it can make suspicious a text the rules pass, alone (its
 * finding ≥ 0.5) or with a weaker rule finding, but it does not change the score or the findings
 * of a text the rules already flag, and a weak classifier finding alone is dropped.
 */
function withClassifier<F extends InjectionFinding>(findings: F[], t: number): F[] {
  let learned = false;
  let strong = false;
  for (const f of findings) {
    if (f.kind !== 'classifier') continue;
    learned = true;
    if (f.score >= 0.5) strong = true;
  }
  if (!learned) return findings;
  const rules = findings.filter((f) => f.kind !== 'classifier');
  if (combine(rules) >= t || (!strong && rules.length === 0)) return rules;
  if (strong) return findings;
  // A weak classifier finding counts beside a rule finding only when it is close to the line, and
  // not when every rule finding is a mention: a text quoting or reporting an attack reads like
  // one to the model too, so the two together are no more evidence than the mention alone.
  if (rules.every(isMention)) return rules;
  return findings.filter((f) => f.kind !== 'classifier' || f.score >= WEAK_CLASSIFIER);
}

export function scanText(text: string, options?: ScanOptions): InjectionScan {
  const found = typeof text === 'string' && text.length > 0 ? cachedFindingsOf(text, hostMatcher(options?.allowedHosts), hostsKeyOf(options), options?.cache !== false, options?.classifier !== false) : { findings: [], truncated: false };
  const truncated = found.truncated;
  const findings = withClassifier(found.findings, DEFAULT_THRESHOLD);
  const score = combine(findings);
  const result: InjectionScan = { score, suspicious: score >= threshold(options), findings };
  if (truncated) result.truncated = true;
  return result;
}

/* ------------------------------------------------------------------ scanValue */

const MAX_DEPTH = 32;
const MAX_STRINGS = 10_000;
const MAX_TOTAL_CHARS = 1024 * 1024;
/** Two letters in a row, in any script: a short string without them holds no words (a hex blob may not: see worthScanning). */
const TWO_LETTERS = /\p{L}\p{L}/u;
/** One token of letters, digits and . _ @ + -: an id, an enum value, a slug, an e-mail address, a date. */
const TOKEN = /^[\p{L}\p{N}_.@+-]+$/u;
const UPPER = /[A-Z]/;
/** Invisible format characters (zero-width, bidi controls, tag characters). */
const FORMAT = /\p{Cf}/u;
/** Object keys shorter than this are not scanned (ids, field names). */
const MIN_KEY_SCAN = 16;
/** Whether `key` is what /^[A-Za-z_$][A-Za-z0-9_$]*$/ matches (a key written `.key` in a path), by char code: a regex call per key cost more than the loop. */
function isIdentifier(key: string): boolean {
  const n = key.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x24;
    if (!letter && !(i > 0 && c >= 0x30 && c <= 0x39)) return false;
  }
  return true;
}

/**
 * worthScanning for an ASCII string, by one walk of char codes instead of three Unicode-property
 * regexes (most argument values are short ASCII ids, numbers and enums): in ASCII, \p{L} is
 * A–Z a–z, \p{N} is 0–9 and \p{Cf} is empty. `undefined` for a string with a non-ASCII character.
 */
function asciiWorthScanning(s: string): boolean | undefined {
  let twoLetters = false;
  let token = true;
  let upper = false;
  let prevLetter = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return undefined;
    const isUpper = c >= 0x41 && c <= 0x5a;
    const letter = isUpper || (c >= 0x61 && c <= 0x7a);
    if (letter && prevLetter) twoLetters = true;
    if (isUpper) upper = true;
    // TOKEN's characters: letters, digits, _ . @ + -
    if (!letter && !(c >= 0x30 && c <= 0x39) && c !== 0x5f && c !== 0x2e && c !== 0x40 && c !== 0x2b && c !== 0x2d) token = false;
    // Two letters in a row and a character no token has: worth scanning, whatever follows. The
    // Unicode path answers the same for a string with a non-ASCII character further on (its
    // TWO_LETTERS and TOKEN tests see these ASCII characters), so the rest need not be read.
    if (twoLetters && !token) return true;
    prevLetter = letter;
  }
  if (!twoLetters) return false; // FORMAT (\p{Cf}) has no ASCII character
  if (!token) return true;
  return s.length >= 24 && upper;
}

/**
 * Whether a string can hold anything a detector finds. Not, below 64 characters: no two letters
 * in a row (numbers, amounts, dates, ids of digits), or a single token shorter than any encoded blob the
 * detectors decode (base32 runs from 24 characters, base64 from 40 with both cases, hex from
 * 64) — no phrase fits in one token, and no role header, tag, link or script fits in its
 * characters. `{limit: 10, status: "open"}` is walked, not scanned.
 */
export function worthScanning(s: string): boolean {
  // 64 characters and more can be a hex blob, which may have no two letters in a row ("69676e6f7265…").
  if (s.length >= 64) return true;
  if (s.length === 0) return false;
  const ascii = asciiWorthScanning(s);
  if (ascii !== undefined) return ascii;
  // Letters kept apart by invisible characters ("i\u200bg\u200bn…") are hidden text, not an id.
  if (!TWO_LETTERS.test(s)) return FORMAT.test(s);
  if (!TOKEN.test(s)) return true;
  return s.length >= 24 && UPPER.test(s);
}

type PathFinding = InjectionFinding & { path: string };

/**
 * A chunk's finding moved to the string it fell in. Written out field by field, not as
 * `{ ...f, offset, path }`: that spread cost 1.5–2.5 µs per finding (measured, Node 20), a
 * fifth of scanning a two-sentence argument object, which most often has one finding (a weak
 * classifier one, dropped afterwards by withClassifier). Same keys in the same order as the
 * spread (findings are made in runDetectors' add with exactly these four).
 */
function atPath(f: InjectionFinding, offset: number, path: string): PathFinding {
  return { kind: f.kind, score: f.score, detail: f.detail, offset, path };
}

/** Between strings scanned together: a sentence break, which no phrase pattern reads across. */
const SEPARATOR = '\n\n.\n\n';
/** Strings are scanned together up to this many characters (a longer one alone). */
const CHUNK = 64 * 1024;

/** The string a chunk offset falls in (binary search over the parts' starts). */
function partAt<T extends { start: number }>(parts: readonly T[], offset: number): T | undefined {
  let lo = 0;
  let hi = parts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (parts[mid]!.start <= offset) lo = mid;
    else hi = mid - 1;
  }
  return parts[lo];
}

/** The path of member `key` under `path`: `path.key`, or `path["key"]` for a key that is no identifier. */
export function childPath(path: string, key: string): string {
  if (isIdentifier(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

/**
 * One scanValue call: the walk's state and steps. A class, not closures made per call: four
 * closures and the context they shared were a tenth of scanning a small argument object.
 *
 * Strings are scanned together, joined by a sentence break no phrase pattern spans, in chunks of
 * up to CHUNK characters: a JSON result holds many short strings (ids, dates, names), and the
 * detectors' cost per scanned text, not per character, dominated them one by one.
 */
class ValueWalk {
  readonly findings: PathFinding[] = [];
  truncated = false;
  private strings = 0;
  private chars = 0;
  // Objects already walked (shared references and cycles are walked once). The first one (the
  // argument object itself) is kept aside and a set made only when a second object comes: a flat
  // argument object, the common case, then allocates none (a WeakSet per call was ~2% of it).
  private first: object | undefined = undefined;
  private seen: Set<object> | undefined = undefined;
  private chunk: string[] = [];
  private parts: Array<{ path: string; start: number; length: number }> = [];
  private chunkLength = 0;

  constructor(
    private readonly hosts: HostMatcher,
    private readonly hostsKey: string,
    private readonly useCache: boolean,
    private readonly learned: boolean,
  ) {}

  flush(): void {
    const parts = this.parts;
    if (parts.length === 0) return;
    const r = cachedFindingsOf(this.chunk.join(''), this.hosts, this.hostsKey, this.useCache, this.learned);
    if (r.truncated) this.truncated = true;
    for (const f of r.findings) {
      const part = partAt(parts, f.offset);
      if (part && f.offset < part.start + part.length) this.findings.push(atPath(f, f.offset - part.start, part.path));
    }
    this.chunk = [];
    this.parts = [];
    this.chunkLength = 0;
  }

  /** `s` is worth scanning (see worthScanning). */
  scanString(s: string, path: string): void {
    if (this.strings >= MAX_STRINGS || this.chars >= MAX_TOTAL_CHARS) {
      this.truncated = true;
      return;
    }
    this.strings++;
    let text = s;
    if (this.chars + s.length > MAX_TOTAL_CHARS) {
      text = s.slice(0, MAX_TOTAL_CHARS - this.chars);
      this.truncated = true;
    }
    this.chars += text.length;
    if (this.chunkLength > 0 && this.chunkLength + SEPARATOR.length + text.length > CHUNK) this.flush();
    if (this.chunkLength > 0) {
      this.chunk.push(SEPARATOR);
      this.chunkLength += SEPARATOR.length;
    }
    this.parts.push({ path, start: this.chunkLength, length: text.length });
    this.chunk.push(text);
    this.chunkLength += text.length;
  }

  // Paths are built only for what is scanned or walked into: most values of an argument object
  // are numbers, ids and enums, and their paths were most of the walk's cost.
  visit(v: unknown, parent: string, key: string | number, depth: number): void {
    if (typeof v === 'string') {
      if (worthScanning(v)) this.scanString(v, typeof key === 'number' ? `${parent}[${key}]` : childPath(parent, key));
      return;
    }
    if (v !== null && typeof v === 'object') this.walk(v, typeof key === 'number' ? `${parent}[${key}]` : childPath(parent, key), depth);
  }

  walk(v: object, path: string, depth: number): void {
    if (depth >= MAX_DEPTH) {
      this.truncated = true;
      return;
    }
    if (this.first === undefined) this.first = v;
    else if (v === this.first) return;
    else if (this.seen === undefined) this.seen = new Set([v]);
    else if (this.seen.has(v)) return;
    else this.seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) this.visit(v[i], path, i, depth + 1);
      return;
    }
    const obj = v as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (key.length >= MIN_KEY_SCAN && worthScanning(key)) this.scanString(key, childPath(path, key));
      this.visit(obj[key], path, key, depth + 1);
    }
  }
}

/**
 * Walks a JSON value (objects and arrays, up to 32 levels, 10,000 strings and 1 MiB of text)
 * and scans every string, and every object key of 16 characters or more (its findings carry
 * the property's path). `truncated` is set when any limit was reached.
 */
export function scanValue(value: unknown, options?: ScanOptions & { rootPath?: string }): Omit<InjectionScan, 'findings'> & { findings: PathFinding[] } {
  // Honoured here as in scanText: an elicitation's form is scanned as a value (injection-guard.ts).
  const walk = new ValueWalk(hostMatcher(options?.allowedHosts), hostsKeyOf(options), options?.cache !== false, options?.classifier !== false);
  const root = options?.rootPath ?? '';
  if (typeof value === 'string') {
    if (worthScanning(value)) walk.scanString(value, root);
  } else if (value !== null && typeof value === 'object') walk.walk(value, root, 0);
  walk.flush();
  const kept = withClassifier(walk.findings, DEFAULT_THRESHOLD);
  const score = combine(kept);
  const result: Omit<InjectionScan, 'findings'> & { findings: PathFinding[] } = { score, suspicious: score >= threshold(options), findings: kept };
  if (walk.truncated) result.truncated = true;
  return result;
}
