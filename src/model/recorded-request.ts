import type { JsonObject } from './json.js';

/**
 * What the decision log keeps of the request a decision was made on, so that the decision can be
 * made again later (replay) with other policies. It sits in the record's `details` under
 * RECORDED_REQUEST_KEY, so the record's hash covers it like every other detail.
 *
 * `request` is the ActionRequest the PDP saw (after the request builder: the agent's roles, trust
 * and tenant from the registry, the user as authenticated, the tool's registry entry, the session
 * as the call found it, the guards' signals, relationships), redacted as the rest of the record
 * is. Its `args` are left out when they are the record's own `args`; they are kept here when an
 * obligation changed the arguments after the decision (the record's `args` are then what ran).
 *
 * `redacted` lists the paths, in ActionRequest terms (`["args", "card"]`,
 * `["actor", "user", "attributes", "email"]`), whose logged value is not the one the PDP saw:
 * redacted, masked in part, or left out for size. A condition that reads one of them cannot be
 * evaluated faithfully again.
 */
export interface RecordedRequest {
  v: 1;
  request: JsonObject;
  redacted: string[][];
  /** More paths than MAX_REDACTED_PATHS differed: every path under `args`, `context`, `actor` … counts as redacted. */
  overflow?: true;
}

export const RECORDED_REQUEST_KEY = 'pdpInput';

/** Paths listed at most; beyond, `overflow` says the list is incomplete. */
export const MAX_REDACTED_PATHS = 64;

/**
 * The paths where `redacted` differs from `original` (a value replaced, a string masked in part, a
 * subtree cut), appended to `out` under `prefix`. Stops listing after `max` paths and returns false
 * then (the list is incomplete). Both are JSON-like: plain objects, arrays and primitives.
 */
export function differingPaths(original: unknown, redacted: unknown, prefix: string[], out: string[][], max = MAX_REDACTED_PATHS): boolean {
  // One path stack shared by the whole walk, copied only for a path that is listed: it runs on
  // every decision record, and nearly every node is equal (no arrays or sets per node).
  return walkPaths(original, redacted, [...prefix], prefix.length, out, max);
}

function walkPaths(original: unknown, redacted: unknown, path: string[], depth: number, out: string[][], max: number): boolean {
  if (original === redacted) return true;
  const bothObjects = typeof original === 'object' && original !== null && typeof redacted === 'object' && redacted !== null;
  if (!bothObjects || Array.isArray(original) !== Array.isArray(redacted)) {
    if (out.length >= max) return false;
    out.push(path.slice(0, depth));
    return true;
  }
  const a = original as Record<string, unknown>;
  const b = redacted as Record<string, unknown>;
  // The keys of both, each once: a's in order, then those only b has (as a Set union of Object.keys would).
  for (const key of Object.keys(a)) {
    path[depth] = key;
    if (!walkPaths(a[key], b[key], path, depth + 1, out, max)) return false;
  }
  for (const key of Object.keys(b)) {
    if (propertyIsEnumerable.call(a, key)) continue;
    path[depth] = key;
    if (!walkPaths(undefined, b[key], path, depth + 1, out, max)) return false;
  }
  return true;
}

const propertyIsEnumerable = Object.prototype.propertyIsEnumerable;
