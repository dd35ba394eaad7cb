/**
 * The decision record as it was built before issue 17 (copy-on-write redaction, no full copy of
 * the request, a length bound instead of a serialisation, canonical text written in one pass),
 * kept verbatim as the oracle the equivalence properties compare the current code with
 * (audit-record-equivalence.property.test.ts). Not used by Warden itself.
 *
 * The redactor is the one thing not copied: the reference redacts with `redact`, the full copy,
 * whose code issue 17 left as it was; `redactShared` is compared with it there.
 */
import { hash as oneShotHash } from 'node:crypto';
import type { Redactor } from '../../src/audit/redact.js';
import type { Exchange } from '../../src/enforcement/exchange.js';
import type { ActionRequest } from '../../src/model/action-request.js';
import type { Decision } from '../../src/model/decision.js';
import type { JsonObject, JsonValue } from '../../src/model/json.js';
import type { RecordColumns } from '../../src/model/compact-recorded-request.js';
import type { NewDecisionRecord, Outcome } from '../../src/store/records.js';

/* ------------------------------------------------------------ model/canonical-json.ts */

const quotedKeys = new Map<string, string>();
function quoted(key: string): string {
  let text = quotedKeys.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (quotedKeys.size < 10_000) quotedKeys.set(key, text);
  }
  return text;
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined ? 'null' : typeof item === 'string' ? JSON.stringify(item) : canonicalJson(item);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 0) return '{}';
  if (keys.length > 1) keys.sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const v = record[key];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${quoted(key)}:${typeof v === 'string' ? JSON.stringify(v) : canonicalJson(v)}`;
  }
  return `${out}}`;
}

/* ------------------------------------------------------------ audit/hash-chain.ts */

export const HASHED_FIELDS = [
  'seq', 'prevHash', 'id', 'time', 'kind', 'requestId', 'traceId', 'tenant', 'sessionId', 'agentId', 'userId',
  'serviceId', 'action', 'resourceType', 'resourceId', 'effect', 'reason', 'stage', 'policy', 'rule',
  'policyVersion', 'bundle', 'obligations', 'outcome', 'latencyUs', 'args', 'resultSummary', 'approvalId',
  'breakGlass', 'decisionId', 'details',
] as const;
const BODY_FIELDS = HASHED_FIELDS.filter((f) => f !== 'seq' && f !== 'prevHash');

export function fieldsText(record: object, fields: readonly string[]): string {
  const values = record as Record<string, unknown>;
  let text = '';
  for (const field of fields) {
    const value = values[field];
    text += value === undefined ? '\u0000|' : `${typeof value === 'object' && value !== null ? canonicalJson(value) : JSON.stringify(value)}|`;
  }
  return text;
}
const sha256Hex = (text: string): string => oneShotHash('sha256', text, 'hex');
export const recordHash = (record: object): string => `sha256:${sha256Hex(fieldsText(record, HASHED_FIELDS))}`;
export const bodyHash = (entry: object): string => sha256Hex(fieldsText(entry, BODY_FIELDS));

/* ------------------------------------------------------------ model/recorded-request.ts */

interface RecordedRequest {
  v: 1;
  request: JsonObject;
  redacted: string[][];
  overflow?: true;
}
const MAX_REDACTED_PATHS = 64;

export function differingPaths(original: unknown, redacted: unknown, prefix: string[], out: string[][], max = MAX_REDACTED_PATHS): boolean {
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
  for (const key of Object.keys(a)) {
    path[depth] = key;
    if (!walkPaths(a[key], b[key], path, depth + 1, out, max)) return false;
  }
  for (const key of Object.keys(b)) {
    if (Object.prototype.propertyIsEnumerable.call(a, key)) continue;
    path[depth] = key;
    if (!walkPaths(undefined, b[key], path, depth + 1, out, max)) return false;
  }
  return true;
}

/* ------------------------------------------------------------ enforcement/recorded-request.ts */

const MAX_RECORDED_CHARS = 16_384;
const DROPPABLE = ['context', 'relationships', 'session'] as const;

export function recordedRequest(request: ActionRequest, decidedArgs: JsonObject, loggedArgs: JsonValue, redactor: Redactor, argsChanged: boolean): RecordedRequest {
  const { args: _args, requestId: _id, traceId: _trace, ...rest } = request;
  const kept = redactor.redact(rest) as JsonObject;
  const paths: string[][] = [];
  let complete = differingPaths(rest, kept, [], paths);
  if (argsChanged) {
    const args = redactor.redact(decidedArgs);
    kept.args = args;
    complete = differingPaths(decidedArgs, args, ['args'], paths) && complete;
  } else {
    complete = differingPaths(decidedArgs, loggedArgs, ['args'], paths) && complete;
  }
  let size = JSON.stringify(kept).length;
  for (const part of DROPPABLE) {
    if (size <= MAX_RECORDED_CHARS) break;
    if (!(part in kept)) continue;
    size -= JSON.stringify(kept[part]).length;
    delete kept[part];
    const under = paths.filter((p) => p[0] !== part);
    paths.length = 0;
    paths.push(...under);
    if (paths.length < MAX_REDACTED_PATHS) paths.push([part]);
    else complete = false;
  }
  return { v: 1, request: kept, redacted: paths, ...(complete ? {} : { overflow: true as const }) };
}

/* ------------------------------------------------------------ model/compact-recorded-request.ts */

function quietSignals(): JsonObject {
  const nothing = (): JsonObject => ({ score: 0, suspicious: false, critical: false, kinds: [], findings: [] });
  return { injection: { prompt: nothing(), args: nothing() }, taint: { session: false, sensitive_args: [], sources: [], injected: [] }, trifecta: false, counterparty: { new: [] } };
}
function defaultAuthzen(c: RecordColumns): JsonObject {
  return { subject: { type: 'identity', id: c.agentId }, action: { name: 'tools/call' }, resource: { type: 'tool', id: c.resourceId }, context: { agent: c.agentId } };
}
function requestTemplate(c: RecordColumns): JsonObject {
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

export function compactRecordedRequest(full: RecordedRequest, columns: RecordColumns): object {
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
const SAME = Symbol('same as the template');
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
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
const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);
function put(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/* ------------------------------------------------------------ enforcement/audit-record.ts */

const SUMMARY_CHARS = 2_048;
function summarise(value: JsonValue | undefined, redactor: Redactor): JsonValue | undefined {
  if (value === undefined) return undefined;
  const redacted = redactor.redact(value);
  const text = JSON.stringify(redacted);
  return text.length <= SUMMARY_CHARS ? redacted : { truncated: true, preview: `${text.slice(0, SUMMARY_CHARS)}…`, bytes: text.length };
}

/** auditRecord as it was; `id` and `latencyUs` are the caller's (they differ per call). */
export function auditRecord(
  x: Exchange,
  decision: Decision,
  outcome: Outcome,
  redactor: Redactor,
  extra: { result?: JsonValue; approvalId?: string; kind?: 'decision' | 'outcome'; decisionId?: string },
  id: string,
  latencyUs: number,
): NewDecisionRecord {
  const call = x.call;
  const details: JsonObject = { ...x.details };
  if (decision.matched.length) details.matched = decision.matched;
  if (decision.advice.length) details.advice = redactor.redact(decision.advice);
  if (decision.shadow.length) details.shadow = decision.shadow as unknown as JsonValue;
  if (call.agentVersion) details.agentVersion = call.agentVersion;
  if (call.via) details.via = call.via;
  if (x.dryRun) details.dryRun = true;
  if (x.user && !x.user.verified) details.userVerified = false;
  if (call.tenant !== undefined && call.tenant !== recordTenant(x)) details.requestedTenant = call.tenant;
  const args = x.args ? redactor.redact(x.args) : unvalidatedArgs(call.args, redactor);
  const record: NewDecisionRecord = {
    id,
    time: x.now,
    kind: extra.kind ?? 'decision',
    requestId: x.requestId,
    traceId: call.traceId,
    tenant: recordTenant(x),
    sessionId: call.sessionId,
    agentId: call.agentId,
    userId: x.user?.id ?? call.user?.id,
    serviceId: call.service?.id,
    action: call.action ?? 'tool.call',
    resourceType: x.request?.resource.type ?? 'tool',
    resourceId: call.tool,
    effect: decision.effect,
    reason: redactor.redactText(decision.reason),
    stage: decision.stage ?? 'policy',
    policy: decision.policy,
    rule: decision.rule,
    policyVersion: decision.policyVersion,
    bundle: decision.bundle,
    obligations: decision.obligations,
    outcome,
    latencyUs,
    args,
    resultSummary: summarise(extra.result, redactor),
    approvalId: extra.approvalId,
    breakGlass: decision.breakGlass?.grant,
    decisionId: extra.decisionId,
    details,
  };
  if (x.request && x.args && record.kind === 'decision') {
    const full = recordedRequest(x.request, x.decidedArgs ?? x.args, args, redactor, x.decidedArgs !== undefined);
    details.pdpInput = compactRecordedRequest(full, record) as unknown as JsonObject;
  }
  return record;
}
function unvalidatedArgs(args: unknown, redactor: Redactor): JsonValue {
  if (args === undefined || args === null || (typeof args === 'object' && !Array.isArray(args) && Object.keys(args).length === 0)) return {};
  let text: string;
  try {
    text = JSON.stringify(args) ?? String(args);
  } catch {
    text = String(args);
  }
  return { unvalidated: redactor.redactText(text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS)}…` : text) };
}
function recordTenant(x: Exchange): string {
  return x.tenant ?? x.agent?.tenant ?? '';
}
