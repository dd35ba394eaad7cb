import { isJsonObject, type JsonObject, type JsonValue } from './json.js';
import type { RecordedRequest } from './recorded-request.js';

/*
 * The recorded request as the decision log stores it: only what differs from what the record's
 * own columns and the usual defaults already say. Most of a recorded request repeats the record
 * (tenant, agent, action, tool) or is empty (no signals found, no attributes, no relationships):
 * ~840 of a ~1,900-byte record, every byte of it serialised, hashed and inserted per record.
 *
 * Form 2 (`v: 2`) stores the request as a difference from a template built from the record's
 * columns (requestTemplate): a key whose value equals the template's is left out, an object is
 * stored as its own difference, anything else as it is, and keys the template has but the request
 * lacks are listed in `absent`. The difference is exact — restoring it gives back the request
 * the PDP saw, key for key — whatever the request holds: the template only decides how small it
 * gets. Form 1 (`v: 1`, the whole request) is what records written before kept; both read the
 * same through recordedRequestOf, the one place a stored form becomes a RecordedRequest.
 *
 * The record's hash covers the form it was stored in, so records of either form keep verifying.
 */

/** The columns of a record the template is built from. */
export interface RecordColumns {
  tenant: string;
  sessionId?: string;
  agentId: string;
  userId?: string;
  serviceId?: string;
  action: string;
  resourceType: string;
  resourceId: string;
}

export interface CompactRecordedRequest {
  v: 2;
  /** The request's difference from requestTemplate(columns). */
  request: JsonObject;
  /** Paths the template has and the request does not (a tool call without signals: `[["signals"]]`). */
  absent?: string[][];
  /** As RecordedRequest's; left out when empty. */
  redacted?: string[][];
  overflow?: true;
}

/** What the guards report when they find nothing (enforcement/stages/signals.ts). */
function quietSignals(): JsonObject {
  const nothing = (): JsonObject => ({ score: 0, suspicious: false, critical: false, kinds: [], findings: [] });
  return {
    injection: { prompt: nothing(), args: nothing() },
    taint: { session: false, sensitive_args: [], sources: [], injected: [] },
    trifecta: false,
    counterparty: { new: [] },
  };
}

/**
 * What the default COAZ mapping of a tool call puts in `context.authzen` for an agent acting for
 * itself (enforcement/stages/authzen-mapping.ts); a verified user's calls differ in the subject.
 */
function defaultAuthzen(c: RecordColumns): JsonObject {
  return { subject: { type: 'identity', id: c.agentId }, action: { name: 'tools/call' }, resource: { type: 'tool', id: c.resourceId }, context: { agent: c.agentId } };
}

/**
 * The request a record's columns and the defaults predict, in the request builder's key order
 * (enforcement/request-builder.ts). Built afresh per call: restoring hands its parts out.
 */
export function requestTemplate(c: RecordColumns): JsonObject {
  const actor: JsonObject = { agent: { id: c.agentId, roles: [], trust: 'low', tenant: c.tenant } };
  if (c.userId !== undefined) actor.user = { id: c.userId, roles: [], verified: false };
  if (c.serviceId !== undefined) actor.service = { id: c.serviceId };
  return {
    tenant: c.tenant,
    ...(c.sessionId !== undefined ? { sessionId: c.sessionId } : {}),
    actor,
    action: c.action,
    resource: { type: c.resourceType, id: c.resourceId, tenant: c.tenant, attributes: {} },
    context: c.action === 'tool.call' ? { authzen: defaultAuthzen(c) } : {},
    tool: { name: c.resourceId, tags: [] },
    ...(c.sessionId !== undefined ? { session: { callsUsed: 0, spend: 0, tainted: false, recent: [] } } : {}),
    relationships: [],
    signals: quietSignals(),
  };
}

/** The stored form of a recorded request (form 2): its difference from the record's template. */
export function compactRecordedRequest(full: RecordedRequest, columns: RecordColumns): CompactRecordedRequest {
  const absent: string[][] = [];
  const diff = difference(full.request, requestTemplate(columns), [], 0, absent);
  return {
    v: 2,
    request: diff === SAME ? {} : (diff as JsonObject),
    ...(absent.length ? { absent } : {}),
    ...(full.redacted.length ? { redacted: full.redacted } : {}),
    ...(full.overflow ? { overflow: true as const } : {}),
  };
}

/**
 * The recorded request a record's `details` value stands for, in full (form 1's shape), whichever
 * form it was stored in; undefined when it is neither. The one normaliser for every reader
 * (replay, explanations, the dashboard). A form 2 request is rebuilt as a fresh object; a form 1
 * value is returned as it is.
 */
export function recordedRequestOf(value: JsonValue | undefined, columns: RecordColumns): RecordedRequest | undefined {
  if (!isJsonObject(value) || !isJsonObject(value.request)) return undefined;
  if (value.v === 1) return Array.isArray(value.redacted) ? (value as unknown as RecordedRequest) : undefined;
  if (value.v !== 2) return undefined;
  const redacted = value.redacted ?? [];
  const absent = value.absent ?? [];
  if (!Array.isArray(redacted) || !Array.isArray(absent)) return undefined;
  const gone = new Set(absent.map((p) => pathKey(Array.isArray(p) ? p.map(String) : [])));
  const request = restore(value.request, requestTemplate(columns), [], gone) as JsonObject;
  return { v: 1, request, redacted: redacted as string[][], ...(value.overflow === true ? { overflow: true as const } : {}) };
}

const SAME = Symbol('same as the template');

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `value`'s difference from `template` (SAME when equal). Undefined members count as absent, as
 * they do once written as JSON. `path` is one stack shared by the walk, copied for `absent` only.
 */
function difference(value: unknown, template: unknown, path: string[], depth: number, absent: string[][]): unknown {
  if (value === template) return SAME;
  if (isPlain(value) && isPlain(template)) {
    const out: Record<string, unknown> = {};
    let differs = false;
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (v === undefined) continue;
      const t = hasOwn(template, key) ? template[key] : undefined;
      if (t === undefined) {
        put(out, key, v);
        differs = true;
        continue;
      }
      path[depth] = key;
      const d = difference(v, t, path, depth + 1, absent);
      if (d !== SAME) {
        put(out, key, d);
        differs = true;
      }
    }
    for (const key of Object.keys(template)) {
      if (hasOwn(value, key) && value[key] !== undefined) continue;
      path[depth] = key;
      absent.push(path.slice(0, depth + 1));
      differs = true;
    }
    return differs ? out : SAME;
  }
  if (Array.isArray(value) && Array.isArray(template)) return sameJson(value, template) ? SAME : value;
  return value;
}

/** Deep equality of JSON values (arrays in order, objects by key, undefined members absent). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], other[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x).filter((k) => x[k] !== undefined);
  if (keys.length !== Object.keys(y).filter((k) => y[k] !== undefined).length) return false;
  for (const key of keys) if (!sameJson(x[key], y[key])) return false;
  return true;
}

/** The inverse of `difference`: the template with the difference applied and `gone` paths removed. */
function restore(diff: unknown, template: unknown, path: string[], gone: ReadonlySet<string>): unknown {
  if (diff === undefined) return template;
  if (!isPlain(diff) || !isPlain(template)) return diff;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(template)) {
    // Most records lack nothing the template has: no path is built for them.
    if (gone.size && gone.has(pathKey([...path, key]))) continue;
    put(out, key, restore(hasOwn(diff, key) ? diff[key] : undefined, template[key], gone.size ? [...path, key] : path, gone));
  }
  for (const key of Object.keys(diff)) if (!hasOwn(template, key)) put(out, key, diff[key]);
  return out;
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** Sets a member; `__proto__` too, as an own member (as JSON.parse makes it), not the prototype. */
function put(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

const pathKey = (path: readonly string[]): string => JSON.stringify(path);
