import type { ActionRequest } from '../model/action-request.js';
import type { Effect } from '../model/effect.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../model/json.js';
import { recordedRequestOf } from '../model/compact-recorded-request.js';
import { RECORDED_REQUEST_KEY, type RecordedRequest } from '../model/recorded-request.js';
import type { RecordHead } from '../store/decision-pages.js';

/**
 * One logged request made ready to be decided again: the request, the decision instant, and the
 * paths (in the terms of the CEL variables: `["args", "card"]`, `["agent", "roles"]`) whose value
 * replay does not know — redacted in the log, or never logged. A rule whose condition reads one of
 * them cannot be evaluated faithfully.
 */
export interface ReplayInput {
  request: ActionRequest;
  now: number;
  unknown: string[][];
  /** Written before records kept the request as decided: rebuilt from the record's columns. */
  legacy: boolean;
  /** What the PDP decided then, by which bundle: evidence for conditions replay cannot evaluate. */
  logged?: LoggedDecision;
}

/**
 * The policy decision a record carries: its effect, deciding rule, and the rules of the winning
 * effect that matched (`details.matched`, absent when none did).
 */
export interface LoggedDecision {
  bundle: string;
  effect: Effect;
  rule?: string;
  matched: ReadonlySet<string>;
}

export type ReplayCase = { ok: true; input: ReplayInput } | { ok: false; skipped: string };

/**
 * What a record written before the recorded request existed cannot tell: everything the request
 * builder added to the record's columns. Replay still decides such a record when no rule that
 * could apply reads any of these.
 */
export const LEGACY_UNKNOWN: readonly string[][] = [
  ['agent', 'roles'],
  ['agent', 'trust'],
  ['agent', 'tenant'],
  ['agent', 'attributes'],
  ['user', 'roles'],
  ['user', 'tenant'],
  ['user', 'verified'],
  ['user', 'attributes'],
  ['service', 'attributes'],
  ['resource', 'tenant'],
  ['resource', 'attributes'],
  ['context'],
  ['tool'],
  ['session'],
  ['signals'],
  ['relationships'],
];

/** The markers the redactor leaves (audit/redact.ts, audit/secret-patterns.ts): a value the log does not hold. */
const MARKER = /\[(?:REDACTED(?::[A-Za-z0-9_.-]+)?|TRUNCATED|CIRCULAR|UNREADABLE|BINARY \d+ bytes)\]/;

/**
 * Turns a decision record into what replay decides, or says why it is not replayed: an outcome
 * record (it completes a decision), an operator action or a listing (no tool call was decided), a
 * dry run (unless asked for), or a request that ended before the policies were asked.
 */
export function replayCase(record: RecordHead, options: { dryRuns?: boolean; keepRecord?: boolean } = {}): ReplayCase {
  if (record.kind !== 'decision') return { ok: false, skipped: 'outcome record' };
  if (record.resourceType === 'warden') return { ok: false, skipped: 'operator action' };
  if (record.stage === 'list') return { ok: false, skipped: 'tool listing' };
  if (record.details.dryRun === true && !options.dryRuns) return { ok: false, skipped: 'dry run' };
  const recorded = recordedRequestOf(record.details[RECORDED_REQUEST_KEY], record);
  let input: ReplayInput;
  // The request is completed in place, unless the record itself is shown afterwards (samples).
  if (recorded) input = fromRecorded(record, options.keepRecord ? { ...recorded, request: structuredClone(recorded.request) } : recorded);
  else if (record.stage !== 'policy' || !isJsonObject(record.args)) return { ok: false, skipped: `ended at the ${record.stage} stage, before the policies` };
  else input = fromColumns(record, record.args);
  // Evidence only matters when something is unknown: most records need none.
  const logged = input.unknown.length ? loggedDecision(record) : undefined;
  return { ok: true, input: logged ? { ...input, logged } : input };
}

/**
 * The PDP's decision as the record gives it, when the record is that decision: ended at the
 * policy stage, not overridden by break-glass.
 */
function loggedDecision(record: RecordHead): LoggedDecision | undefined {
  if (record.stage !== 'policy' || record.breakGlass !== undefined || !record.bundle) return undefined;
  const matched = Array.isArray(record.details.matched) ? record.details.matched.filter((m): m is string => typeof m === 'string') : [];
  return { bundle: record.bundle, effect: record.effect, ...(record.policy && record.rule ? { rule: `${record.policy}/${record.rule}` } : {}), matched: new Set(matched) };
}

/** ActionRequest paths as the CEL variables name them (`actor.agent.x` is `agent.x`). */
function variablePath(path: readonly string[]): string[][] {
  const [head, ...rest] = path;
  if (head === undefined) return [['*']];
  if (head === 'actor') {
    const [who, ...under] = rest;
    if (who === 'agent' || who === 'user' || who === 'service') return [[who, ...under]];
    return [['agent'], ['user'], ['service']];
  }
  if (head === 'relationships') return [['relationships']];
  if (head === 'tool' && rest.length === 0) return [['tool']];
  // Without a registry entry, `tool` in CEL is built from the resource id.
  if (head === 'resource' && rest[0] === 'id') return [['resource', 'id'], ['tool', 'name']];
  return [[head, ...rest]];
}

/** The record's columns are never redacted: they say who, what and where exactly. */
const FROM_COLUMNS = new Set(['tenant', 'action', 'sessionId', 'resource.id', 'resource.type', 'actor.agent.id', 'actor.user.id', 'actor.service.id']);

function fromRecorded(record: RecordHead, recorded: RecordedRequest): ReplayInput {
  // Completed in place: the request was parsed for this record alone (a million records make a
  // copy per record the largest cost of replay after parsing). Identity fields come from columns.
  const request = recorded.request as unknown as ActionRequest;
  request.requestId = record.requestId;
  request.tenant = record.tenant;
  request.action = record.action;
  request.args ??= isJsonObject(record.args) ? record.args : {};
  request.context ??= {};
  request.actor ??= { agent: { id: record.agentId, roles: [], trust: 'low' } };
  request.actor.agent.id = record.agentId;
  if (request.actor.user && record.userId !== undefined) request.actor.user.id = record.userId;
  if (request.actor.service && record.serviceId !== undefined) request.actor.service.id = record.serviceId;
  request.resource ??= { type: record.resourceType, id: record.resourceId, attributes: {} };
  request.resource.type = record.resourceType;
  request.resource.id = record.resourceId;
  const unknown: string[][] = [];
  for (const path of recorded.redacted) {
    if (!Array.isArray(path) || FROM_COLUMNS.has(path.join('.'))) continue;
    unknown.push(...variablePath(path.map(String)));
  }
  // An incomplete list: every part that can carry caller data counts as unknown.
  if (recorded.overflow) unknown.push(['args'], ['context'], ['agent'], ['user'], ['service'], ['resource'], ['signals'], ['session']);
  return { request, now: record.time, unknown, legacy: false };
}

function fromColumns(record: RecordHead, args: JsonObject): ReplayInput {
  const request: ActionRequest = {
    requestId: record.requestId,
    tenant: record.tenant,
    ...(record.sessionId ? { sessionId: record.sessionId } : {}),
    actor: {
      agent: { id: record.agentId, roles: [], trust: 'low' },
      ...(record.userId ? { user: { id: record.userId, roles: [] } } : {}),
      ...(record.serviceId ? { service: { id: record.serviceId } } : {}),
    },
    action: record.action,
    resource: { type: record.resourceType, id: record.resourceId, tenant: record.tenant, attributes: {} },
    args,
    context: {},
  };
  const unknown = LEGACY_UNKNOWN.map((p) => [...p]);
  // Obligations (caps, redactions) changed these arguments after the decision.
  if (record.details.obligationsApplied !== undefined) unknown.push(['args']);
  else markerPaths(args, ['args'], unknown);
  return { request, now: record.time, unknown, legacy: true };
}

/** Paths of values the redactor masked (found by its markers), for records that do not list them. */
function markerPaths(value: JsonValue, path: string[], out: string[][]): void {
  if (typeof value === 'string') {
    if (MARKER.test(value)) out.push(path);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, v] of Object.entries(value)) markerPaths(v, [...path, key], out);
}
