import { z } from 'zod';
import type { ActionRequest, ParseResult } from './action-request.js';
import type { Decision } from './decision.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json.js';
import { DEFAULT_JSON_LIMITS, findLimitViolation } from './json-limits.js';
import type { TrustLevel } from './trust.js';

/**
 * The OpenID AuthZEN Authorization API 1.0 information model (subject, action, resource, context,
 * decision) and its mapping onto Warden's ActionRequest and Decision, both directions. Pure: who
 * the acting agent and user are is settled by the caller (the registry, a verified credential) and
 * handed in as `AuthzenParties`; nothing here trusts what a subject claims about itself.
 */

export interface AuthzenEntity {
  type: string;
  id: string;
  properties?: JsonObject;
}
export interface AuthzenAction {
  name: string;
  properties?: JsonObject;
}
export interface AuthzenEvaluation {
  subject: AuthzenEntity;
  action: AuthzenAction;
  resource: AuthzenEntity;
  context?: JsonObject;
}
export interface AuthzenDecision {
  decision: boolean;
  context?: JsonObject;
}

export const EVALUATIONS_SEMANTICS = ['execute_all', 'deny_on_first_deny', 'permit_on_first_permit'] as const;
export type EvaluationsSemantic = (typeof EVALUATIONS_SEMANTICS)[number];

const jsonObject = z.custom<JsonObject>((v) => isJsonObject(v), { message: 'must be an object' });
const text = (max: number) => z.string().min(1, 'must not be empty').max(max);
// Unknown members are ignored, as the spec requires of receivers (forward compatibility).
const entity = z.object({ type: text(128), id: text(512), properties: jsonObject.optional() });
const action = z.object({ name: text(128), properties: jsonObject.optional() });
const evaluationSchema = z.object({ subject: entity, action, resource: entity, context: jsonObject.optional() });
const partial = z.object({ subject: entity.optional(), action: action.optional(), resource: entity.optional(), context: jsonObject.optional() });

/** One Access Evaluation request, validated (structural limits first, then the model). Errors name the path. */
export function parseAuthzenEvaluation(input: unknown): ParseResult<AuthzenEvaluation> {
  const violation = findLimitViolation(input, DEFAULT_JSON_LIMITS);
  if (violation) return { ok: false, errors: [violation] };
  return settle(evaluationSchema.safeParse(input));
}

export interface AuthzenBatch {
  evaluations: AuthzenEvaluation[];
  semantic: EvaluationsSemantic;
}

/**
 * An Access Evaluations request: each item of `evaluations` takes the top-level subject, action,
 * resource and context as defaults, and a key it has itself replaces the default whole (the spec
 * overrides, it does not merge). No `evaluations` (or an empty one) is a single evaluation.
 * `maxEvaluations` bounds the work one request may ask for.
 */
export function parseAuthzenEvaluations(input: unknown, maxEvaluations: number): ParseResult<AuthzenBatch> {
  const violation = findLimitViolation(input, DEFAULT_JSON_LIMITS);
  if (violation) return { ok: false, errors: [violation] };
  if (!isJsonObject(input)) return { ok: false, errors: ['the request must be a JSON object'] };
  const options = input.options ?? {};
  if (!isJsonObject(options)) return { ok: false, errors: ['options: must be an object'] };
  const semantic = options.evaluations_semantic ?? 'execute_all';
  if (typeof semantic !== 'string' || !(EVALUATIONS_SEMANTICS as readonly string[]).includes(semantic)) {
    return { ok: false, errors: [`options.evaluations_semantic: must be one of ${EVALUATIONS_SEMANTICS.join(', ')}`] };
  }
  const items = input.evaluations ?? [];
  if (!Array.isArray(items)) return { ok: false, errors: ['evaluations: must be an array'] };
  if (items.length > maxEvaluations) return { ok: false, errors: [`evaluations: ${items.length} items; at most ${maxEvaluations} per request`] };
  if (items.length === 0) {
    const single = settle(evaluationSchema.safeParse(pick(input)));
    return single.ok ? { ok: true, value: { evaluations: [single.value], semantic: semantic as EvaluationsSemantic } } : single;
  }
  const defaults = partial.safeParse(input);
  if (!defaults.success) return settle(defaults);
  const evaluations: AuthzenEvaluation[] = [];
  const errors: string[] = [];
  items.forEach((item, i) => {
    if (!isJsonObject(item)) return void errors.push(`evaluations[${i}]: must be an object`);
    const merged = { ...pick(input), ...pick(item) };
    const result = settle(evaluationSchema.safeParse(merged));
    if (result.ok) evaluations.push(result.value);
    else errors.push(...result.errors.map((e) => `evaluations[${i}].${e}`));
  });
  return errors.length ? { ok: false, errors } : { ok: true, value: { evaluations, semantic: semantic as EvaluationsSemantic } };
}

function pick(o: JsonObject): Partial<Record<'subject' | 'action' | 'resource' | 'context', JsonValue>> {
  const out: Partial<Record<'subject' | 'action' | 'resource' | 'context', JsonValue>> = {};
  for (const key of ['subject', 'action', 'resource', 'context'] as const) if (o[key] !== undefined) out[key] = o[key];
  return out;
}

function settle<T>(result: { success: true; data: T } | { success: false; error: z.ZodError }): ParseResult<T> {
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join('.') : 'request';
      return issue.code === 'invalid_type' && /received undefined/.test(issue.message) ? `${path} is required` : `${path}: ${issue.message}`;
    }),
  };
}

/** Who acts, as the caller settled it: the agent from the registry, the user as authenticated. */
export interface AuthzenParties {
  tenant: string;
  agent: { id: string; roles: string[]; trust: TrustLevel; tenant?: string };
  user?: { id: string; roles: string[]; verified: boolean; tenant?: string; attributes?: JsonObject };
  service?: { id: string; attributes?: JsonObject };
  requestId?: string;
}

/**
 * AuthZEN → ActionRequest: `action.name` → `action`, `action.properties` → `args`,
 * `resource.{type,id}` → `resource.{type,id}`, `resource.properties` → `resource.attributes`,
 * `context` → `context`. The subject is not read here: it became `parties`.
 */
export function authzenToActionRequest(e: AuthzenEvaluation, parties: AuthzenParties): ActionRequest {
  return {
    ...(parties.requestId ? { requestId: parties.requestId } : {}),
    tenant: parties.tenant,
    actor: {
      agent: { ...parties.agent },
      ...(parties.user ? { user: { ...parties.user } } : {}),
      ...(parties.service ? { service: { ...parties.service } } : {}),
    },
    action: e.action.name,
    resource: { type: e.resource.type, id: e.resource.id, attributes: e.resource.properties ?? {} },
    args: e.action.properties ?? {},
    context: e.context ?? {},
  };
}

/**
 * ActionRequest → AuthZEN, for asking an AuthZEN PDP about a Warden request. The subject is the
 * user when there is one (with their roles), else the agent; the acting agent is always in
 * `context.agent`; the tool's registry entry (when present) is in `resource.properties.tool`.
 */
export function actionRequestToAuthzen(r: ActionRequest): AuthzenEvaluation {
  const agent: JsonObject = { id: r.actor.agent.id, roles: r.actor.agent.roles, trust: r.actor.agent.trust };
  const user = r.actor.user;
  const subject: AuthzenEntity = user
    ? { type: 'user', id: user.id, properties: { ...(user.attributes ?? {}), roles: user.roles, ...(user.verified !== undefined ? { verified: user.verified } : {}) } }
    : { type: 'agent', id: r.actor.agent.id, properties: { roles: r.actor.agent.roles, trust: r.actor.agent.trust } };
  const tool = r.tool ? (JSON.parse(JSON.stringify(r.tool)) as JsonObject) : undefined;
  const properties: JsonObject = { ...r.resource.attributes, ...(tool ? { tool } : {}) };
  return {
    subject,
    action: { name: r.action, ...(Object.keys(r.args).length ? { properties: r.args } : {}) },
    resource: { type: r.resource.type, id: r.resource.id, ...(Object.keys(properties).length ? { properties } : {}) },
    context: { ...r.context, tenant: r.tenant, agent, ...(r.sessionId ? { session_id: r.sessionId } : {}) },
  };
}

export interface AuthzenDecisionOptions {
  /** Add Warden's reason, deciding policy and rule, bundle, obligations and advice to `context`. */
  reasons: boolean;
  /** The decision record's id, given back as `context.evaluation_id`. */
  evaluationId?: string;
}

/**
 * Decision → AuthZEN: `decision` is true only for allow. A require_approval is false, and its
 * context always carries the approval requirement (`effect`, `approval`), reasons or not: a PEP
 * that understands it can have the action approved; one that does not simply sees a denial.
 */
export function decisionToAuthzen(d: Decision, options: AuthzenDecisionOptions): AuthzenDecision {
  const context: JsonObject = {};
  if (options.reasons) {
    if (options.evaluationId) context.evaluation_id = options.evaluationId;
    context.effect = d.effect;
    context.reason = d.reason;
    if (d.policy) context.policy = d.policy;
    if (d.rule) context.rule = d.rule;
    context.bundle = d.bundle;
    if (d.stage) context.stage = d.stage;
    if (d.effect === 'allow' && d.obligations.length) context.obligations = JSON.parse(JSON.stringify(d.obligations)) as JsonValue;
    if (d.advice.length) context.advice = d.advice;
  }
  if (d.effect === 'require_approval' && d.approval) {
    context.effect = d.effect;
    if (options.evaluationId) context.evaluation_id = options.evaluationId;
    context.approval = { approvers: d.approval.approvers, quorum: d.approval.quorum, expires_in: d.approval.expiresIn, allow_requester: d.approval.allowRequester };
  }
  return Object.keys(context).length ? { decision: d.effect === 'allow', context } : { decision: d.effect === 'allow' };
}

/**
 * AuthZEN decision → Warden effect and reason, for a PEP reading an AuthZEN PDP's answer. Only a
 * JSON object whose `decision` is literally `true` allows; anything else (false, "true", 1, a
 * missing key, a body that is not an object) is a deny (fail closed).
 */
export function authzenToEffect(answer: unknown): { effect: 'allow' | 'deny'; reason: string } {
  if (!isJsonObject(answer)) return { effect: 'deny', reason: 'the AuthZEN PDP answered something that is not a decision object (fail closed)' };
  const context = isJsonObject(answer.context) ? answer.context : {};
  const reason = describeReason(context);
  if (answer.decision === true) return { effect: 'allow', reason: reason ?? 'allowed by the AuthZEN PDP' };
  if (answer.decision !== false) return { effect: 'deny', reason: 'the AuthZEN PDP answered without a boolean decision (fail closed)' };
  return { effect: 'deny', reason: reason ?? 'denied by the AuthZEN PDP' };
}

/** A reason as AuthZEN PDPs give one: `reason` (string), or `reason_admin`/`reason_user` ({code: text}). */
function describeReason(context: JsonObject): string | undefined {
  if (typeof context.reason === 'string' && context.reason) return context.reason;
  for (const key of ['reason_admin', 'reason_user']) {
    const value = context[key];
    if (typeof value === 'string' && value) return value;
    if (isJsonObject(value)) {
      const first = Object.values(value).find((v) => typeof v === 'string' && v);
      if (typeof first === 'string') return first;
    }
  }
  if (isJsonObject(context.error) && typeof context.error.message === 'string') return context.error.message;
  return undefined;
}
