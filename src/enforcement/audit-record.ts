import { DeferredEntry } from '../audit/decision-log.js';
import type { Redactor } from '../audit/redact.js';
import type { ActionRequest } from '../model/action-request.js';
import type { Decision } from '../model/decision.js';
import { copyJson, type JsonObject, type JsonValue } from '../model/json.js';
import { compactRecordedRequest } from '../model/compact-recorded-request.js';
import { jsonLengthAtMost, jsonTextLengthAtMost } from '../model/json-length.js';
import { RECORDED_REQUEST_KEY } from '../model/recorded-request.js';
import type { NewDecisionRecord, Outcome } from '../store/records.js';
import type { Exchange } from './exchange.js';
import { sharedRecordedRequest } from './recorded-request.js';
import { timeOrderedId } from '../lib/time-ordered-id.js';

/** Results are summarised in the log, not stored whole: enough to explain, never a data dump. */
const SUMMARY_CHARS = 2_048;

export function summarise(value: JsonValue | undefined, redactor: Redactor): JsonValue | undefined {
  if (value === undefined) return undefined;
  const redacted = redactor.redact(value);
  // Most results are small: a bound from their lengths (model/json-length.ts) shows they fit
  // without writing them out; only a result that may not fit is serialised, to measure and cut it.
  // The first bound settles small results for little; the closer one, results of a kilobyte or so.
  if (jsonLengthAtMost(redacted, SUMMARY_CHARS) || jsonTextLengthAtMost(redacted, SUMMARY_CHARS)) return redacted;
  const text = JSON.stringify(redacted);
  return text.length <= SUMMARY_CHARS ? redacted : { truncated: true, preview: `${text.slice(0, SUMMARY_CHARS)}…`, bytes: text.length };
}

/**
 * The last reason each redactor redacted, and what it made of it. Consecutive records mostly give
 * the same reason (a rule's fixed reason is one string of the policy set), and the detectors cost
 * ~0.5-0.7 µs for a reason of ~90 characters against one comparison here. One entry per redactor:
 * a cache of many texts would keep alive what its short texts may have been sliced from, and one
 * of unbounded size would cost more than it saves on reasons that differ each time (rendered).
 */
const lastReason = new WeakMap<Redactor, { text: string; redacted: string }>();

/** `redactor.redactText(text)`, remembered for the next record (exported for its test). */
export function redactedReason(text: string, redactor: Redactor): string {
  const last = lastReason.get(redactor);
  if (last !== undefined && last.text === text) return last.redacted;
  const redacted = redactor.redactText(text);
  if (typeof text !== 'string') return redacted;
  if (last === undefined) lastReason.set(redactor, { text, redacted });
  else {
    last.text = text;
    last.redacted = redacted;
  }
  return redacted;
}

/** A decision record's id: time-ordered, so that the log's unique index is written at its end. */
export function newAuditId(now = Date.now()): string {
  return timeOrderedId('dec_', now);
}

interface RecordExtra {
  result?: JsonValue;
  approvalId?: string;
  kind?: 'decision' | 'outcome';
  decisionId?: string;
}

/** The decision log entry for an exchange: redacted, with what was decided and what happened. */
export function auditRecord(x: Exchange, decision: Decision, outcome: Outcome, redactor: Redactor, extra: RecordExtra = {}): NewDecisionRecord {
  return completed(recordHead(x, decision, outcome, redactor, extra), x, x.request, redactor);
}

/**
 * auditRecord, built by the flush that writes it (audit/decision-log.ts DeferredEntry): the
 * arguments' redaction and the request the PDP saw — ~a quarter of a read's time in the
 * pipeline — leave the caller's path. What the caller could change after the call returns is
 * copied now: the record's scalar fields and the result's summary (recordHead) and, in the
 * request, the context and service it passed. The rest is Warden's: the arguments (copied when
 * checked), the session, the agent, the tool's entry, the decision. A copy that fails (a value
 * no JSON copy takes, from an in-process caller) builds the record now, as auditRecord does.
 */
export function deferredAuditRecord(x: Exchange, decision: Decision, outcome: Outcome, redactor: Redactor, extra: RecordExtra = {}): DeferredEntry | NewDecisionRecord {
  const head = recordHead(x, decision, outcome, redactor, extra);
  // Unchecked arguments are the caller's own object: previewed now (a refusal; rare, and cheap).
  if (!x.args) return completed(head, x, x.request, redactor);
  let request = x.request;
  if (request && head.kind === 'decision') {
    try {
      request = { ...request, context: copyJson(request.context), ...(request.actor.service ? { actor: { ...request.actor, service: copyJson(request.actor.service) } } : {}) };
    } catch {
      return completed(head, x, request, redactor);
    }
  }
  return new DeferredEntry(head.id, () => {
    try {
      return completed(head, x, request, redactor);
    } catch (e) {
      // A record is never lost for want of its costly part: it says what it lacks.
      return { ...head, args: {}, details: { ...head.details, recordIncomplete: redactor.redactText(`the arguments and the recorded request could not be recorded: ${(e as Error).message}`) } };
    }
  });
}

/** Everything a record says but its arguments and the request the PDP saw. */
function recordHead(x: Exchange, decision: Decision, outcome: Outcome, redactor: Redactor, extra: RecordExtra): NewDecisionRecord {
  const call = x.call;
  const details = copiedDetails(x.details);
  if (decision.matched.length) details.matched = decision.matched;
  if (decision.advice.length) details.advice = redactor.redact(decision.advice);
  if (decision.shadow.length) details.shadow = decision.shadow as unknown as JsonValue;
  if (call.agentVersion) details.agentVersion = call.agentVersion;
  if (call.via) details.via = call.via;
  if (x.dryRun) details.dryRun = true;
  if (x.user && !x.user.verified) details.userVerified = false;
  if (call.tenant !== undefined && call.tenant !== recordTenant(x)) details.requestedTenant = call.tenant;
  return {
    id: newAuditId(x.now),
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
    reason: redactedReason(decision.reason, redactor),
    stage: decision.stage ?? 'policy',
    policy: decision.policy,
    rule: decision.rule,
    policyVersion: decision.policyVersion,
    bundle: decision.bundle,
    obligations: decision.obligations,
    outcome,
    latencyUs: Number((process.hrtime.bigint() - x.started) / 1000n),
    // Replaced by completed(); first here so that every record has the same member order.
    args: null,
    resultSummary: summarise(extra.result, redactor),
    approvalId: extra.approvalId,
    breakGlass: decision.breakGlass?.grant,
    decisionId: extra.decisionId,
    details,
  };
}

/** The head with its arguments and, for a decision, the request the PDP saw (`request`). */
function completed(head: NewDecisionRecord, x: Exchange, request: ActionRequest | undefined, redactor: Redactor): NewDecisionRecord {
  const args = x.args ? redactor.redact(x.args) : unvalidatedArgs(x.call.args, redactor);
  head.args = args;
  // What the PDP saw, for replay (a decision, not the outcome record that completes one): stored
  // as its difference from what the record's columns already say (model/compact-recorded-request.ts).
  // The whole redacted request is never copied: it shares what nothing was redacted in with
  // the request, and the difference, a copy, is all the record keeps of it.
  if (request && x.args && head.kind === 'decision') {
    const full = sharedRecordedRequest(request, x.decidedArgs ?? x.args, args, redactor, x.decidedArgs !== undefined, x.historyUnread === true);
    head.details[RECORDED_REQUEST_KEY] = compactRecordedRequest(full, head) as unknown as JsonObject;
  }
  return head;
}

/**
 * A copy of the exchange's details, member by member. Not `{ ...details }`: members added to a
 * spread copy of a non-empty object make a new hidden class per record (measured: ~11 µs a record
 * with one detail and three added, against ~0.1 µs for this).
 */
function copiedDetails(details: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(details)) {
    // "__proto__" stays an own member, as the spread made it.
    if (key === '__proto__') Object.defineProperty(out, key, { value: details[key], enumerable: true, writable: true, configurable: true });
    else out[key] = details[key]!;
  }
  return out;
}

/** Arguments the pipeline refused may be huge or hostile: keep a short, redacted preview. */
function unvalidatedArgs(args: unknown, redactor: Redactor): JsonValue {
  // Nothing sent (or an empty object): nothing to preview.
  if (args === undefined || args === null || (typeof args === 'object' && !Array.isArray(args) && Object.keys(args).length === 0)) return {};
  let text: string;
  try {
    text = JSON.stringify(args) ?? String(args);
  } catch {
    text = String(args);
  }
  return { unvalidated: redactor.redactText(text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS)}…` : text) };
}

/**
 * The tenant a record belongs to: the one the exchange was settled in, else the authenticated
 * agent's. Never just the tenant a caller named: a refused cross-tenant request is its own
 * tenant's record (the requested tenant is kept in `details.requestedTenant`), and one whose agent
 * is unknown or unproven belongs to no tenant.
 */
function recordTenant(x: Exchange): string {
  return x.tenant ?? x.agent?.tenant ?? '';
}
