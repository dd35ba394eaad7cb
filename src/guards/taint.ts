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

/** Hash of one normalized token: 12 base64url characters (72 bits). */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 12);
}

function numberToken(n: number): string | undefined {
  return Number.isFinite(n) ? `n:${n}` : undefined;
}

function tokensOfString(text: string, out: Set<string>): void {
  const norm = text.normalize('NFKC').trim().toLowerCase();
  if (norm === '') return;
  if (norm.length <= MAX_WHOLE_STRING) out.add(`s:${norm}`);
  if (/\d/.test(norm)) {
    for (const m of norm.matchAll(NUMBER)) {
      const t = numberToken(Number(m[0].replace(/[$,+]/g, '')));
      if (t) out.add(t);
    }
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

/** Every token of a value (strings, numbers, nested arrays and objects; keys are not values). */
export function valueTokens(value: unknown, out: Set<string> = new Set()): Set<string> {
  const walk = (v: unknown, depth: number): void => {
    if (out.size >= MAX_TOKENS_PER_VALUE || depth > 32) return;
    if (typeof v === 'string') tokensOfString(v, out);
    else if (typeof v === 'number') {
      const t = numberToken(v);
      if (t) out.add(t);
    } else if (Array.isArray(v)) for (const item of v) walk(item, depth + 1);
    else if (v !== null && typeof v === 'object') for (const item of Object.values(v)) walk(item, depth + 1);
  };
  walk(value, 0);
  return out;
}

/** The hashes of a value's tokens. */
export function taintHashes(value: unknown): string[] {
  return [...valueTokens(value)].map(tokenHash);
}

/**
 * Adds hashes to a bounded memory, oldest first: a hash seen again moves to the end, and the
 * oldest are forgotten beyond `max`. Returns the same array when nothing changed.
 */
export function rememberHashes(memory: readonly string[], hashes: readonly string[], max: number): readonly string[] {
  if (hashes.length === 0) return memory;
  const known = new Set(memory);
  const fresh = hashes.filter((h) => !known.has(h));
  if (fresh.length === 0) return memory;
  const next = [...memory, ...new Set(fresh)];
  return next.length > max ? next.slice(next.length - max) : next;
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
export function taintedArguments(args: Record<string, JsonValue>, sensitive: ReadonlySet<string>, isTainted: (hash: string) => boolean): string[] {
  const hits = new Set<string>();
  const check = (leaf: JsonValue, path: string) => {
    for (const token of valueTokens(leaf)) {
      if (isTainted(tokenHash(token))) {
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
