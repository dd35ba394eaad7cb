import type { ActionRequest } from './action-request.js';
import type { JsonObject, JsonValue } from './json.js';
import { isTrustLevel } from './trust.js';

/**
 * The ActionRequest of the common shape, checked by hand: what `actionRequestSchema` would give
 * for it, key for key and in the same order, at a fraction of zod's cost (a decision request's
 * schema walk cost more than its policy decision, measured in bench/http). It answers only for
 * input it is sure of — every field it knows, of the right type and length, plain JSON values —
 * and undefined for anything else (an error, an unusual field such as `session`, `tool` or
 * `relationships`, an `undefined` value, a class instance): then zod decides, and its messages
 * name what is wrong. The limits are checked before this (parseActionRequest), so the copies
 * below cannot recurse deeper than the limits allow.
 */
export function parseCommonActionRequest(input: unknown): ActionRequest | undefined {
  if (!isPlainObject(input)) return undefined;
  let known = 0;
  const requestId = input.requestId;
  if (requestId !== undefined) {
    if (!isId(requestId)) return undefined;
    known++;
  }
  const traceId = input.traceId;
  if (traceId !== undefined) {
    if (typeof traceId !== 'string' || traceId.length > 64) return undefined;
    known++;
  }
  const tenant = input.tenant;
  if (!isId(tenant)) return undefined;
  known++;
  const sessionId = input.sessionId;
  if (sessionId !== undefined) {
    if (!isId(sessionId)) return undefined;
    known++;
  }
  const actor = actorOf(input.actor);
  if (!actor) return undefined;
  known++;
  const action = input.action;
  if (typeof action !== 'string' || action.length < 1 || action.length > 128) return undefined;
  known++;
  const resource = resourceOf(input.resource);
  if (!resource) return undefined;
  known++;
  const args = optionalJsonObject(input.args, 'args' in input);
  if (args === FAIL) return undefined;
  if (args !== undefined) known++;
  const context = optionalJsonObject(input.context, 'context' in input);
  if (context === FAIL) return undefined;
  if (context !== undefined) known++;
  const signals = optionalJsonObject(input.signals, 'signals' in input);
  if (signals === FAIL) return undefined;
  if (signals !== undefined) known++;
  // Any other key (an unknown one, or tool, session, relationships): zod's answer.
  if (Object.keys(input).length !== known) return undefined;

  const out: Record<string, unknown> = {};
  if (requestId !== undefined) out.requestId = requestId;
  if (traceId !== undefined) out.traceId = traceId;
  out.tenant = tenant;
  if (sessionId !== undefined) out.sessionId = sessionId;
  out.actor = actor;
  out.action = action;
  out.resource = resource;
  out.args = args ?? {};
  out.context = context ?? {};
  if (signals !== undefined) out.signals = signals;
  return out as ActionRequest;
}

const FAIL = Symbol('not the common shape');

function actorOf(value: unknown): ActionRequest['actor'] | undefined {
  if (!isPlainObject(value)) return undefined;
  let known = 0;
  const agent = partyOf(value.agent, 'agent');
  if (!agent) return undefined;
  known++;
  let user: ReturnType<typeof partyOf>;
  if (value.user !== undefined) {
    user = partyOf(value.user, 'user');
    if (!user) return undefined;
    known++;
  }
  let service: { id: string; attributes?: JsonObject } | undefined;
  if (value.service !== undefined) {
    const s = value.service;
    if (!isPlainObject(s) || !isId(s.id)) return undefined;
    const attributes = optionalJsonObject(s.attributes, 'attributes' in s);
    if (attributes === FAIL || Object.keys(s).length !== (attributes === undefined ? 1 : 2)) return undefined;
    service = attributes === undefined ? { id: s.id } : { id: s.id, attributes };
    known++;
  }
  if (Object.keys(value).length !== known) return undefined;
  const out: Record<string, unknown> = { agent };
  if (user) out.user = user;
  if (service) out.service = service;
  return out as ActionRequest['actor'];
}

/** An agent (id, roles, trust, tenant, attributes) or a user (id, roles, tenant, verified, attributes). */
function partyOf(value: unknown, kind: 'agent' | 'user'): Record<string, unknown> | undefined {
  if (!isPlainObject(value) || !isId(value.id)) return undefined;
  let known = 1;
  let roles: string[] = [];
  if (value.roles !== undefined) {
    if (!Array.isArray(value.roles)) return undefined;
    roles = new Array<string>(value.roles.length);
    for (let i = 0; i < roles.length; i++) {
      const role: unknown = value.roles[i];
      if (typeof role !== 'string') return undefined;
      roles[i] = role;
    }
    known++;
  }
  const tenant = value.tenant;
  if (tenant !== undefined) {
    if (typeof tenant !== 'string') return undefined;
    known++;
  }
  const attributes = optionalJsonObject(value.attributes, 'attributes' in value);
  if (attributes === FAIL) return undefined;
  if (attributes !== undefined) known++;
  const out: Record<string, unknown> = { id: value.id, roles };
  if (kind === 'agent') {
    const trust = value.trust;
    if (trust !== undefined) {
      if (typeof trust !== 'string' || !isTrustLevel(trust)) return undefined;
      known++;
    }
    out.trust = trust ?? 'low';
    if (tenant !== undefined) out.tenant = tenant;
  } else {
    if (tenant !== undefined) out.tenant = tenant;
    const verified = value.verified;
    if (verified !== undefined) {
      if (typeof verified !== 'boolean') return undefined;
      out.verified = verified;
      known++;
    }
  }
  if (attributes !== undefined) out.attributes = attributes;
  return Object.keys(value).length === known ? out : undefined;
}

function resourceOf(value: unknown): ActionRequest['resource'] | undefined {
  if (!isPlainObject(value)) return undefined;
  const { type, id, tenant } = value;
  if (typeof type !== 'string' || type.length < 1 || type.length > 128 || !isId(id)) return undefined;
  let known = 2;
  if (tenant !== undefined) {
    if (typeof tenant !== 'string') return undefined;
    known++;
  }
  const attributes = optionalJsonObject(value.attributes, 'attributes' in value);
  if (attributes === FAIL) return undefined;
  if (attributes !== undefined) known++;
  if (Object.keys(value).length !== known) return undefined;
  return tenant === undefined ? { type, id, attributes: attributes ?? {} } : { type, id, tenant, attributes: attributes ?? {} };
}

/** A JSON object field: its copy, undefined when absent, FAIL when present but not plain JSON. */
function optionalJsonObject(value: unknown, present: boolean): JsonObject | undefined | typeof FAIL {
  if (value === undefined) return present ? FAIL : undefined;
  if (!isPlainObject(value)) return FAIL;
  const copy = jsonCopy(value);
  return copy === FAIL ? FAIL : (copy as JsonObject);
}

/** A copy of a plain JSON value (zod's records and arrays are copies too), or FAIL. */
function jsonCopy(value: unknown): JsonValue | typeof FAIL {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : FAIL;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        const out = new Array<JsonValue>(value.length);
        for (let i = 0; i < value.length; i++) {
          const item = jsonCopy(value[i]);
          if (item === FAIL) return FAIL;
          out[i] = item;
        }
        return out;
      }
      if (!isPlainObject(value)) return FAIL;
      const out: JsonObject = {};
      for (const key of Object.keys(value)) {
        const item = jsonCopy(value[key]);
        // A "__proto__" key never gets here: the limits refuse it before any parse.
        if (item === FAIL || key === '__proto__') return FAIL;
        out[key] = item;
      }
      return out;
    }
    default:
      return FAIL;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 512;
}
