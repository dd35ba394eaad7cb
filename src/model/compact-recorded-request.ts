import { copyJson, isJsonObject, type JsonObject, type JsonValue } from './json.js';
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

/**
 * Templates to compare against, kept by their columns: a gateway's records come from a few
 * agents, tenants and tools, and building one is ~25 objects per record. Never handed out (the
 * difference copies only the request's parts), so never changed; restoring builds its own.
 */
const templates = new Map<string, JsonObject>();
const MAX_TEMPLATES = 1_000;
/** The last template handed out and its columns: consecutive records mostly share them, and comparing costs less than a key. */
let last: { columns: RecordColumns; template: JsonObject } | undefined;

function sharedTemplate(c: RecordColumns): JsonObject {
  if (last && sameColumns(last.columns, c)) return last.template;
  const template = cachedTemplate(c);
  // A copy of the columns: `c` is a record, which its owner may change.
  last = { columns: { tenant: c.tenant, sessionId: c.sessionId, agentId: c.agentId, userId: c.userId, serviceId: c.serviceId, action: c.action, resourceType: c.resourceType, resourceId: c.resourceId }, template };
  return template;
}

const sameColumns = (a: RecordColumns, b: RecordColumns): boolean =>
  a.tenant === b.tenant && a.sessionId === b.sessionId && a.agentId === b.agentId && a.userId === b.userId && a.serviceId === b.serviceId && a.action === b.action && a.resourceType === b.resourceType && a.resourceId === b.resourceId;

function cachedTemplate(c: RecordColumns): JsonObject {
  // Columns that are not strings (a caller's mistake) could share a key: no caching for them.
  if (!(isColumn(c.tenant) && isColumn(c.sessionId) && isColumn(c.agentId) && isColumn(c.userId) && isColumn(c.serviceId) && isColumn(c.action) && isColumn(c.resourceType) && isColumn(c.resourceId))) {
    return requestTemplate(c);
  }
  // Each column with its length, so that no two sets of columns make one key.
  const key = `${part(c.tenant)}${part(c.sessionId)}${part(c.agentId)}${part(c.userId)}${part(c.serviceId)}${part(c.action)}${part(c.resourceType)}${part(c.resourceId)}`;
  let template = templates.get(key);
  if (template === undefined) {
    // Full: start over (the columns in use change; most records reuse a few).
    if (templates.size >= MAX_TEMPLATES) templates.clear();
    template = requestTemplate(c);
    templates.set(key, template);
  }
  return template;
}

const isColumn = (value: unknown): boolean => value === undefined || typeof value === 'string';
const part = (value: string | undefined): string => (value === undefined ? '-' : `${value.length}:${value}`);

/**
 * The stored form of a recorded request (form 2): its difference from the record's template. A
 * copy of its own: what it keeps of `full.request` is copied, so `full` may share objects with
 * the live request (enforcement/recorded-request.ts sharedRecordedRequest).
 */
export function compactRecordedRequest(full: RecordedRequest, columns: RecordColumns): CompactRecordedRequest {
  const absent: string[][] = [];
  const diff = difference(full.request, sharedTemplate(columns), [], 0, absent);
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
 * `value`'s difference from `template` (SAME when equal), made of copies of `value`'s parts.
 * Undefined members count as absent, as they do once written as JSON. `path` is one stack shared
 * by the walk, copied for `absent` only. An object is made only once a member differs: most of a
 * request equals its template.
 */
function difference(value: unknown, template: unknown, path: string[], depth: number, absent: string[][]): unknown {
  if (value === template) return SAME;
  if (isPlain(value) && isPlain(template)) {
    let out: Record<string, unknown> | undefined;
    // Template members the value has too: when that is all of them, none is absent.
    let shared = 0;
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (v === undefined) continue;
      const t = hasOwn(template, key) ? template[key] : undefined;
      if (t === undefined) {
        put((out ??= {}), key, copied(v));
        continue;
      }
      shared++;
      path[depth] = key;
      const d = difference(v, t, path, depth + 1, absent);
      if (d !== SAME) put((out ??= {}), key, d);
    }
    const templateKeys = Object.keys(template);
    if (shared === templateKeys.length) return out ?? SAME;
    for (const key of templateKeys) {
      if (hasOwn(value, key) && value[key] !== undefined) continue;
      path[depth] = key;
      absent.push(path.slice(0, depth + 1));
    }
    return out ?? {};
  }
  if (Array.isArray(value) && Array.isArray(template)) return sameJson(value, template) ? SAME : copied(value);
  return copied(value);
}

/** A part of the request as the difference keeps it: objects and arrays copied, so nothing is shared with the request. */
const copied = (v: unknown): unknown => (typeof v === 'object' && v !== null ? copyJson(v as JsonValue) : v);

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
