import { isJsonObject, type JsonObject, type JsonValue } from '../../model/json.js';
import { CoazMappingError } from './coaz-errors.js';
import type { CompiledMapping, ResolvedMapping, Template } from './coaz-mapping.js';

/**
 * Trust-anchored fields. A declared mapping is written by the MCP server, the party being
 * authorized, and evaluated over arguments the caller chose: neither may say who acts. Warden
 * anchors two fields to the identity it authenticated:
 * - `subject.id` — the subject-identity claim (`token.sub`: the verified user, else the agent);
 * - `context.agent` — the acting agent (`token.client_id`), in the effective context of every
 *   decision.
 * Each may be omitted (Warden supplies it) or taken from the token; a literal, or an expression
 * that reads `params`, is a mapping error when the mapping is compiled, and whatever the
 * expression resolves to must equal the trusted value when the call is made (verification, in
 * the framework's terms). COAZ-MCP lets a mapping override `subject.id` from elsewhere with a
 * warning; Warden, a gateway enforcing mappings written by upstreams, does not.
 */

/** The identity Warden established for the call: what the anchored fields must equal. */
export interface TrustedIdentity {
  /** The subject-identity claim: the verified user, else the agent acting for itself. */
  subject: string;
  /** The authenticated agent. */
  agent: string;
}

/** An AuthZEN Access Evaluation or Access Evaluations request, ready for a PDP. */
export type AuthzenRequest = { envelope: 'evaluation'; body: JsonObject } | { envelope: 'evaluations'; body: JsonObject & { evaluations: JsonObject[] } };

function field(template: Template | undefined, key: string): Template | undefined {
  return template?.kind === 'object' ? template.fields.get(key) : undefined;
}

/** A trust-anchored field's template may be absent, or an expression over `token` alone. */
function checkProvenance(template: Template | undefined, name: string): void {
  if (!template) return;
  if (template.kind === 'literal') throw new CoazMappingError('trust_anchor', `${name} is trust-anchored: a mapping may omit it or take it from the token, not set it to the literal ${JSON.stringify(template.value)}`);
  if (template.kind !== 'expression') throw new CoazMappingError('trust_anchor', `${name} is trust-anchored and must be a single value from the token`);
  if (template.reads.has('params')) throw new CoazMappingError('trust_anchor', `${name} is trust-anchored: '${template.source}' reads the call's params, which the caller chooses`);
  if (!template.reads.has('token')) throw new CoazMappingError('trust_anchor', `${name} is trust-anchored: '${template.source}' does not read the token, so it is a constant`);
}

/** Compile-time: where the anchored fields come from. Throws CoazMappingError. */
export function checkAnchorProvenance(mapping: CompiledMapping): void {
  const body = mapping.template;
  checkProvenance(field(field(body, 'subject'), 'id'), 'subject.id');
  checkProvenance(field(field(body, 'context'), 'agent'), 'context.agent');
  const entries = field(body, 'evaluations');
  if (entries?.kind === 'list') entries.items.forEach((entry, i) => checkProvenance(field(field(entry, 'context'), 'agent'), `evaluations[${i}].context.agent`));
}

const text = (v: JsonValue | undefined) => (v === undefined ? 'nothing' : JSON.stringify(v));

/** Verifies (or supplies) `context.agent` in one effective context. Returns the context to send. */
function anchorAgent(context: JsonValue | undefined, trusted: TrustedIdentity, where: string): JsonObject {
  if (context !== undefined && !isJsonObject(context)) throw new CoazMappingError('malformed', `${where} must be an object`);
  const out: JsonObject = { ...(context ?? {}) };
  if (!('agent' in out)) out.agent = trusted.agent;
  else if (out.agent !== trusted.agent) throw new CoazMappingError('trust_anchor', `${where}.agent resolved to ${text(out.agent)} but the authenticated agent is "${trusted.agent}"`);
  return out;
}

function requireString(value: JsonValue | undefined, name: string): string {
  if (typeof value !== 'string' || value === '') throw new CoazMappingError('missing', `${name} is required and must be a non-empty string (resolved to ${text(value)})`);
  return value;
}

function checkEntity(value: JsonValue | undefined, name: string, keys: readonly string[]): JsonObject {
  if (!isJsonObject(value)) throw new CoazMappingError('missing', `${name} is required (resolved to ${text(value)})`);
  for (const key of keys) requireString(value[key], `${name}.${key}`);
  if (value.properties !== undefined && !isJsonObject(value.properties)) throw new CoazMappingError('malformed', `${name}.properties must be an object`);
  return value;
}

/** The subject with its anchored id verified, or supplied when the mapping left it out. */
function anchorSubject(subject: JsonValue | undefined, trusted: TrustedIdentity): JsonObject {
  if (subject !== undefined && !isJsonObject(subject)) throw new CoazMappingError('malformed', 'subject must be an object');
  const out: JsonObject = { type: 'identity', ...(subject ?? {}) };
  if (!('id' in out)) out.id = trusted.subject;
  else if (out.id !== trusted.subject) throw new CoazMappingError('trust_anchor', `subject.id resolved to ${text(out.id)} but the authenticated subject is "${trusted.subject}"`);
  return checkEntity(out, 'subject', ['type', 'id']);
}

/**
 * Run-time: the AuthZEN request the resolved mapping describes, with the anchored fields verified
 * against (or filled from) the trusted identity and every required field present. For an
 * `evaluations` envelope the agent is anchored in every effective context: an entry that brings
 * its own context overrides the top-level one (AuthZEN semantics), so it is anchored itself.
 */
export function anchorRequest(resolved: ResolvedMapping, trusted: TrustedIdentity): AuthzenRequest {
  const body = resolved.body;
  const subject = anchorSubject(body.subject, trusted);
  if (resolved.envelope === 'evaluation') {
    return {
      envelope: 'evaluation',
      body: {
        subject,
        action: checkEntity(body.action, 'action', ['name']),
        resource: checkEntity(body.resource, 'resource', ['type', 'id']),
        context: anchorAgent(body.context, trusted, 'context'),
      },
    };
  }
  // Defaults are sent as they are, so they must be well-formed even where every entry overrides them.
  if (body.action !== undefined) checkEntity(body.action, 'action', ['name']);
  if (body.resource !== undefined) checkEntity(body.resource, 'resource', ['type', 'id']);
  const entries = body.evaluations as JsonValue[];
  const evaluations = entries.map((entry, i) => {
    const e = entry as JsonObject;
    const where = `evaluations[${i}]`;
    const out: JsonObject = {};
    const action = e.action ?? body.action;
    const resource = e.resource ?? body.resource;
    checkEntity(action, `${where}.action`, ['name']);
    checkEntity(resource, `${where}.resource`, ['type', 'id']);
    if (e.action !== undefined) out.action = e.action;
    if (e.resource !== undefined) out.resource = e.resource;
    if (e.context !== undefined) out.context = anchorAgent(e.context, trusted, `${where}.context`);
    return out;
  });
  return {
    envelope: 'evaluations',
    body: {
      subject,
      ...(body.action !== undefined ? { action: body.action } : {}),
      ...(body.resource !== undefined ? { resource: body.resource } : {}),
      context: anchorAgent(body.context, trusted, 'context'),
      evaluations,
    },
  };
}

/** Each decision an AuthZEN request asks for, with the top-level defaults applied (AuthZEN 1.0 §7). */
export function effectiveEvaluations(request: AuthzenRequest): JsonObject[] {
  if (request.envelope === 'evaluation') return [request.body];
  const { evaluations, ...defaults } = request.body;
  return evaluations.map((e) => ({ ...defaults, ...e }));
}
