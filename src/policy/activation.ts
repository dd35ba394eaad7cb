import type { ActionRequest } from '../model/action-request.js';
import type { JsonObject } from '../model/json.js';
import type { CelVariable } from './cel-environment.js';

const EMPTY_SESSION = Object.freeze({ callsUsed: 0, spend: 0, tainted: false, recent: [] });

const NO_DATA: JsonObject = Object.freeze({}) as JsonObject;

/**
 * The CEL variables for one request. Absent optional parts are empty maps, so `has()` works.
 * `data` is the policy set's reference data, not the request's: no caller can set it.
 */
export function buildActivation(request: ActionRequest, now: Date, data: JsonObject = NO_DATA): Record<CelVariable, unknown> {
  return {
    agent: request.actor.agent,
    user: request.actor.user ?? {},
    service: request.actor.service ?? {},
    tenant: request.tenant,
    action: request.action,
    tool: request.tool ?? { name: request.resource.id, tags: [] },
    resource: request.resource,
    args: request.args,
    context: request.context,
    session: request.session ?? EMPTY_SESSION,
    signals: request.signals ?? {},
    now,
    data,
  };
}
