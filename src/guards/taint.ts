import { createHash } from 'node:crypto';
import type { GuardsConfig } from '../config/config-schema.js';
import type { ToolEntry } from '../model/action-request.js';
import type { JsonValue } from '../model/json.js';

/**
 * Taint tracking: which values reached the session from untrusted sources (the user prompt, the
 * results of untrusted tools, results the injection guard flagged), so that a sensitive argument
 * carrying one of them (a refund amount, a recipient, a URL, SQL) can be signalled.
 *
 * Values are remembered as short hashes of normalized tokens, never as text: a whole short string
 * (`s:`), every number written in text or given as a number (`n:`), every e-mail address (`e:`),
 * URL (`u:`) and URL host (`h:`). "$1,250.00" in a prompt and `amount: 1250` in the arguments
 * meet as `n:1250`; "send it to Eve@Evil.example" and `recipient: "eve@evil.example"` as `e:…`.
 */

/** Whole strings longer than this are not remembered as one value (only the tokens found in them). */
const MAX_WHOLE_STRING = 256;
/** Stop walking a value after this many tokens (a huge result must not make taint tracking slow). */
const MAX_TOKENS_PER_VALUE = 4_000;

const NUMBER = /(?<![\w.\-/:@#])[-+]?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w\-/:@]|\.\d)/g;
const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
const URL_RE = /\bhttps?:\/\/[^\s<>"'`)\]]+/gi;
/** IBAN: country, check digits, 11–30 alphanumerics, also written in groups of four ("GB29 NWBK 6016 …"). */
const IBAN = /\b[a-z]{2}\d{2}(?:[ ]?[a-z0-9]{4}){2,7}(?:[ ]?[a-z0-9]{1,4})?\b/g;
/** Account numbers: 6–20 digits, possibly grouped by dashes or spaces ("123-1234-1234"), not dates. */
const ACCOUNT = /(?<![\w.\-/:@#])\d{2,6}(?:[- ]\d{2,8}){1,4}(?![\w\-/:@]|\.\d)|(?<![\w.\-/:@#,])\d{6,20}(?![\w\-/:@]|[.,]\d)/g;
/** A date written with dashes or spaces ("2026-11-02", "02 11 2026"): not an account. */
const DATE = /^(?:\d{4}[- ]\d{1,2}[- ]\d{1,2}|\d{1,2}[- ]\d{1,2}[- ]\d{2,4})$/;
/** Phone numbers: + and 8–15 digits, with spaces, dots, dashes or brackets. */
const PHONE = /(?<![\w+])\+\d[\d\s().-]{6,18}\d\b/g;
/** A currency or an amount word near a number in text: it is an amount, not an id, a count or a date part. */
const AMOUNT_BEFORE = /(?:[$€£¥₹]|\b(?:usd|eur|gbp|chf|jpy|amount|total|sum|price|pay|paid|payment|transfer|send|sent|refund|owe|owed|balance|fee|cost|costs|charge|charged|deposit|withdraw)\b)[^\d\n]{0,12}$/;
const AMOUNT_AFTER = /^\s?(?:[$€£¥₹]|(?:usd|eur|gbp|chf|jpy|dollars?|euros?|pounds?|francs?)\b)/;
/** JSON keys whose numbers are identifiers, counts or dates, never amounts worth remembering. */
const ID_KEY = /(?:^|_|-)(?:id|ids|idx|index|no|num|number|count|page|pages|year|month|day|date|time|timestamp|ts|version|rating|stars|port|line|row|col|n)$|^(?:id|n|i|count|page|year|month|day)$/i;

/** Hash of one normalized token: 12 base64url characters (72 bits). */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 12);
}

function numberToken(n: number): string | undefined {
  return Number.isFinite(n) ? `n:${n}` : undefined;
}

/**
 * How a value is read. `check`: an argument — every number counts. `remember`: untrusted content
 * being remembered — a number in text counts only next to a currency or an amount word, and a
 * JSON number only under a key that is not an id, a count or a date (so the 4 of "transaction 4"
 * does not taint a payment of 4.00).
 */
export type TokenMode = 'check' | 'remember';

/** ISO 13616 check: the country and check digits moved to the end, letters as numbers, mod 97 is 1. */
function ibanChecks(iban: string): boolean {
  let rest = 0;
  const moved = iban.slice(4) + iban.slice(0, 4);
  for (let i = 0; i < moved.length; i++) {
    const c = moved.charCodeAt(i);
    const v = c >= 0x61 && c <= 0x7a ? c - 0x61 + 10 : c - 0x30;
    rest = v >= 10 ? (rest * 100 + v) % 97 : (rest * 10 + v) % 97;
  }
  return rest === 1;
}

/**
 * The IBAN a match of IBAN holds. The grouped form also matches a short word after the number
 * ("… 5332 for the bakery" reads "…5332for"), which made the same IBAN two different tokens in a
 * prompt and in an argument: trailing groups are dropped until the check digits agree. A match
 * that never checks (test data, a typo) is kept whole, as before.
 */
function ibanOf(match: string): string {
  const whole = match.replace(/ /g, '');
  if (ibanChecks(whole)) return whole;
  for (let cut = match.lastIndexOf(' '); cut > 4; cut = match.lastIndexOf(' ', cut - 1)) {
    const shorter = match.slice(0, cut).replace(/ /g, '');
    if (shorter.length >= 15 && ibanChecks(shorter)) return shorter;
  }
  return whole;
}

/** Identifiers of a counterparty inside text: IBANs, account and phone numbers (digits only), e-mail addresses, URL hosts. */
function identifiers(norm: string, out: Set<string>): void {
  if (/\d/.test(norm)) {
    for (const m of norm.matchAll(IBAN)) {
      const iban = ibanOf(m[0]);
      if (/[a-z]/.test(iban.slice(4)) || iban.length >= 15) out.add(`i:${iban}`);
    }
    for (const m of norm.matchAll(ACCOUNT)) {
      if (DATE.test(m[0])) continue;
      const digits = m[0].replace(/\D/g, '');
      if (digits.length >= 6 && digits.length <= 20) out.add(`a:${digits}`);
    }
    if (norm.includes('+')) for (const m of norm.matchAll(PHONE)) out.add(`p:${m[0].replace(/\D/g, '')}`);
  }
}

function tokensOfString(text: string, out: Set<string>, mode: TokenMode = 'check'): void {
  const norm = text.normalize('NFKC').trim().toLowerCase();
  if (norm === '') return;
  if (norm.length <= MAX_WHOLE_STRING) out.add(`s:${norm}`);
  if (/\d/.test(norm)) {
    for (const m of norm.matchAll(NUMBER)) {
      if (mode === 'remember' && !AMOUNT_BEFORE.test(norm.slice(Math.max(0, m.index - 24), m.index)) && !AMOUNT_AFTER.test(norm.slice(m.index + m[0].length, m.index + m[0].length + 10)) && !m[0].includes('$')) continue;
      const t = numberToken(Number(m[0].replace(/[$,+]/g, '')));
      if (t) out.add(t);
    }
    identifiers(norm, out);
  }
  if (norm.includes('@')) for (const m of norm.matchAll(EMAIL)) out.add(`e:${m[0].replace(/^[.]+|[.]+$/g, '')}`);
  if (norm.includes('http')) {
    for (const m of norm.matchAll(URL_RE)) {
      const url = m[0].replace(/[.,;:!?]+$/, '');
      out.add(`u:${url}`);
      try {
        out.add(`h:${new URL(url).hostname}`);
      } catch {
        // not a URL after all
      }
    }
  }
}

/** Every token of a value (strings, numbers, nested arrays and objects; keys are not values, but say what a number is in `remember` mode). */
export function valueTokens(value: unknown, out: Set<string> = new Set(), mode: TokenMode = 'check'): Set<string> {
  const walk = (v: unknown, key: string, depth: number): void => {
    if (out.size >= MAX_TOKENS_PER_VALUE || depth > 32) return;
    if (typeof v === 'string') tokensOfString(v, out, mode);
    else if (typeof v === 'number') {
      if (mode === 'remember' && ID_KEY.test(key)) return;
      const t = numberToken(v);
      if (t) out.add(t);
    } else if (Array.isArray(v)) for (const item of v) walk(item, key, depth + 1);
    else if (v !== null && typeof v === 'object') for (const [k, item] of Object.entries(v)) walk(item, k, depth + 1);
  };
  walk(value, '', 0);
  return out;
}

/** The hashes of a value's tokens (an argument, or a prompt: every number counts). */
export function taintHashes(value: unknown): string[] {
  return [...valueTokens(value)].map(tokenHash);
}

/** The hashes of untrusted content's tokens, numbers read with their context (see TokenMode). */
export function resultHashes(value: unknown): string[] {
  return [...valueTokens(value, new Set(), 'remember')].map(tokenHash);
}

const COUNTERPARTY_PREFIXES = ['i:', 'a:', 'p:', 'e:', 'h:'];

/** The counterparty identifiers in a value (IBANs, account and phone numbers, e-mail addresses, URL hosts), as tokens. */
export function counterpartyTokens(value: unknown): string[] {
  return [...valueTokens(value)].filter((t) => COUNTERPARTY_PREFIXES.some((p) => t.startsWith(p)));
}

/**
 * The membership set of a hash memory (a session's `flow.taint` or `flow.trusted`), kept per
 * array. A memory is never changed in place — rememberHashes returns a new array — so its set
 * stays true, and rememberHashes hands the set on to the array that replaces it. Without this a
 * call rebuilt a set of the whole memory twice (~9 µs at the default 512 hashes, ~600 µs at the
 * 10,000 allowed): a session's cost per call grew with what it remembered.
 * A memory read back from a store is a new array: its first lookup builds the set once.
 * The set returned is valid until rememberHashes is next called with the same memory; use it at once.
 */
const memorySets = new WeakMap<readonly string[], Set<string>>();

export function hashSet(memory: readonly string[]): ReadonlySet<string> {
  let set = memorySets.get(memory);
  if (!set) {
    set = new Set(memory);
    memorySets.set(memory, set);
  }
  return set;
}

/**
 * Adds hashes to a bounded memory, oldest first: a hash already known stays where it is, and the
 * oldest are forgotten beyond `max`. Returns the same array when nothing changed, else a new one
 * that takes over the memory's set (see hashSet).
 */
export function rememberHashes(memory: readonly string[], hashes: readonly string[], max: number): readonly string[] {
  if (hashes.length === 0) return memory;
  const known = memorySets.get(memory) ?? new Set(memory);
  const fresh = new Set<string>();
  for (const h of hashes) if (!known.has(h)) fresh.add(h);
  if (fresh.size === 0) return memory;
  const all = [...memory, ...fresh];
  const forgotten = Math.max(0, all.length - max);
  const next = forgotten ? all.slice(forgotten) : all;
  // The old array's set becomes the new one's: when every hash in `all` is distinct, adding the
  // fresh ones and deleting the forgotten ones leaves exactly the hashes of `next`. A memory with
  // repeats (only a store's row could hold one) keeps its set, and `next` gets one when looked up.
  if (known.size !== memory.length) return next;
  memorySets.delete(memory);
  for (const h of fresh) known.add(h);
  for (let i = 0; i < forgotten; i++) known.delete(all[i]!);
  memorySets.set(next, known);
  return next;
}

/** The argument names (or dotted paths) that are sensitive for a tool. */
export function sensitiveArgNames(tool: { sensitiveArgs?: readonly string[]; spendArg?: string } | undefined, config: GuardsConfig): Set<string> {
  const names = tool?.sensitiveArgs ?? config.taint.sensitive_args;
  const set = new Set(names.map((n) => n.toLowerCase()));
  if (tool?.spendArg) set.add(tool.spendArg.toLowerCase());
  return set;
}

/**
 * The sensitive arguments (as paths: `amount`, `payment.amount`, `to[1]`) whose value, or a token
 * in it, is tainted. A leaf is sensitive when its nearest key or its dotted path is in `sensitive`.
 */
export function taintedArguments(args: Record<string, JsonValue>, sensitive: ReadonlySet<string>, isTainted: (hash: string) => boolean, isTrusted: (hash: string) => boolean = () => false): string[] {
  const hits = new Set<string>();
  const check = (leaf: JsonValue, path: string) => {
    const tokens = valueTokens(leaf);
    // A value whose identifiers all come from trusted data (the user's own IBAN, written as it was
    // echoed back by a tool) is vouched for as a whole: its whole-string token does not taint it.
    const ids = [...tokens].filter((t) => COUNTERPARTY_PREFIXES.some((p) => t.startsWith(p)));
    const vouched = ids.length > 0 && ids.every((t) => isTrusted(tokenHash(t)));
    for (const token of tokens) {
      const h = tokenHash(token);
      if (isTrusted(h) || (vouched && token.startsWith('s:'))) continue;
      if (isTainted(h)) {
        hits.add(path);
        return;
      }
    }
  };
  const walk = (v: JsonValue, path: string, key: string, sensitiveHere: boolean, depth: number): void => {
    if (depth > 32) return;
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${path}[${i}]`, key, sensitiveHere, depth + 1));
      return;
    }
    if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        const p = path ? `${path}.${k}` : k;
        walk(item, p, k, sensitiveHere || sensitive.has(k.toLowerCase()) || sensitive.has(p.toLowerCase()), depth + 1);
      }
      return;
    }
    if (sensitiveHere && (typeof v === 'string' || typeof v === 'number')) check(v, path);
  };
  walk(args, '', '', false, 0);
  return [...hits].sort();
}

const hasTag = (tool: ToolEntry | undefined, tags: readonly string[]) => !!tool && tool.tags.some((t) => tags.includes(t));

/** Its results are untrusted content: tagged so (untrusted_output, web, …) or a tool acting outside. */
export function isUntrustedSource(tool: ToolEntry | undefined, config: GuardsConfig): boolean {
  return !!tool && (tool.effect === 'external' || hasTag(tool, config.taint.untrusted_tags));
}

/** It reads private data (tags private_data, pii, secrets, …). */
export function readsPrivateData(tool: ToolEntry | undefined, config: GuardsConfig): boolean {
  return hasTag(tool, config.taint.private_tags);
}

/** It acts outside: effect external, or tags such as send, export, http. */
export function hasExternalEffect(tool: ToolEntry | undefined, config: GuardsConfig): boolean {
  return !!tool && (tool.effect === 'external' || hasTag(tool, config.taint.external_tags));
}
