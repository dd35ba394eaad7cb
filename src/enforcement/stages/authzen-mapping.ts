import type { JsonObject } from '../../model/json.js';
import { anchorRequest, type AuthzenRequest, type TrustedIdentity } from '../authzen/coaz-anchors.js';
import { declaredMapping, defaultMapping, METHOD_OF_ACTION } from '../authzen/coaz-defaults.js';
import { CoazMappingError } from '../authzen/coaz-errors.js';
import { resolveMapping } from '../authzen/coaz-mapping.js';
import { EnforcementError } from '../errors.js';
import type { Exchange } from '../exchange.js';

/** Where a tool declares its mapping (COAZ-MCP §Declaring a Mapping). */
export const MAPPING_KEY = 'x-authzen-mapping';

/**
 * The `token` input of COAZ-MCP as Warden knows it: not a bearer token a caller sent, but the
 * identity Warden authenticated — the agent (its credentials) and the user it acts for when that
 * user is verified (an on-behalf-of token, or the trusted stdio gateway). `sub` is the user when
 * verified, else the agent acting for itself; `client_id` is always the agent; `aud` is the MCP
 * server (upstream) the tool belongs to.
 */
export function coazToken(x: Exchange, tenant: string): JsonObject {
  const agent = x.agent!;
  const user = x.user?.verified ? x.user : undefined;
  return {
    iss: 'warden',
    sub: user?.id ?? agent.id,
    client_id: agent.id,
    aud: x.tool?.entry.server ?? 'warden',
    tenant,
    roles: [...(user ? user.roles : agent.roles)],
  };
}

/** The JSON-RPC params of the MCP request this exchange stands for. */
function paramsOf(x: Exchange, method: string): JsonObject {
  const args = x.args ?? {};
  if (method === 'resources/read') return { uri: typeof args.uri === 'string' ? args.uri : '' };
  const name = method === 'prompts/get' ? x.call.tool.replace(/^prompt:/, '') : x.call.tool;
  return { name, arguments: args };
}

/**
 * The COAZ stage: builds the AuthZEN request of an MCP operation (tools/call, resources/read,
 * prompts/get) from the tool's declared `x-authzen-mapping` or the binding's default mapping,
 * with the trust-anchored fields verified against the authenticated identity. Any failure is a
 * mapping error: the exchange ends here (no PDP is asked, nothing runs) and is recorded as a
 * deny from the `mapping` stage. Other actions (an SDK's own) have no COAZ mapping.
 */
export function buildAuthzenRequest(x: Exchange, tenant: string): AuthzenRequest | undefined {
  const method = METHOD_OF_ACTION[x.call.action ?? 'tool.call'];
  if (!method) return undefined;
  const declared = method === 'tools/call' ? x.tool?.inputSchema[MAPPING_KEY] : undefined;
  const token = coazToken(x, tenant);
  const trusted: TrustedIdentity = { subject: token.sub as string, agent: token.client_id as string };
  try {
    const mapping = declared !== undefined ? declaredMapping(declared) : defaultMapping(method)!;
    const request = anchorRequest(resolveMapping(mapping, { params: paramsOf(x, method), token }), trusted);
    x.details.authzenMapping = declared !== undefined ? 'declared' : 'default';
    return request;
  } catch (error) {
    if (!(error instanceof CoazMappingError)) throw error;
    throw new EnforcementError('mapping', `COAZ mapping error: ${error.message}`, {
      httpStatus: 400,
      details: { authzenMapping: declared !== undefined ? 'declared' : 'default', mappingError: error.kind },
    });
  }
}

/**
 * The caller's context with `authzen` set to the request the mapping built, or removed: policies
 * may trust `context.authzen` to come from Warden, never from a caller's `warden/context`.
 */
export function withAuthzenContext(context: JsonObject | undefined, request: AuthzenRequest | undefined): JsonObject | undefined {
  if (!request && !(context && 'authzen' in context)) return context;
  const { authzen: _dropped, ...rest } = context ?? {};
  return request ? { ...rest, authzen: request.body } : rest;
}
