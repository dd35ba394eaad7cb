import type { FastifyRequest } from 'fastify';
import type { RouteModule } from '../server.js';
import { createGatewayServer } from '../../mcp/gateway-server.js';
import { createStreamableHttpModule } from './streamable-http.js';

/** Header naming the user an agent acts for on `/mcp`: a name only, so the user is unverified and has no roles. */
export const USER_HEADER = 'x-warden-user';
/** Header carrying an on-behalf-of token that proves the user (`authentication.user_jwt`). */
export const USER_TOKEN_HEADER = 'x-warden-user-token';

/** The user headers of a request, as the gateway takes them (a malformed name is no name). */
function userHeaders(req: FastifyRequest): { userId?: string; userToken?: string } {
  const header = req.headers[USER_HEADER];
  const userId = typeof header === 'string' && /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,255}$/.test(header) ? header : undefined;
  const token = req.headers[USER_TOKEN_HEADER];
  const userToken = typeof token === 'string' && token !== '' ? token : undefined;
  return { ...(userId ? { userId } : {}), ...(userToken ? { userToken } : {}) };
}

/**
 * The MCP gateway over Streamable HTTP at `/mcp`: agents authenticate with their API key (Bearer)
 * and see one MCP server holding every upstream's tools, governed by Warden. A session is bound to
 * the agent and to the user headers it was opened with: every request must send the same (the SDK
 * client does), so that any replica that takes the session up acts for the same user.
 */
export function createGatewayModule(options: { path?: string; idleTimeoutMs?: number; maxSessions?: number; maxSessionsPerCaller?: number } = {}): RouteModule {
  return (app, warden) =>
    createStreamableHttpModule({
      ...options,
      path: options.path ?? '/mcp',
      summary: 'The MCP gateway (Streamable HTTP): the tools, prompts and resources of every upstream MCP server, each call governed by Warden',
      maxMessageBytes: warden.config.mcp.max_message_bytes,
      admit: (caller) => (caller.kind === 'agent' ? undefined : 'the MCP gateway serves agents: authenticate with an agent API key (humans use /mcp/governance and the API)'),
      binding: (req) => {
        const { userId, userToken } = userHeaders(req);
        return JSON.stringify([userId ?? '', userToken ?? '']);
      },
      createServer: (caller, session) => {
        const principal = caller();
        const { userId, userToken } = userHeaders(session.request);
        return createGatewayServer(warden, {
          agentId: principal.kind === 'agent' ? principal.agentId : '',
          credentials: { kind: 'session' },
          ...(userId ? { userId } : {}),
          ...(userToken ? { userToken } : {}),
          sessionId: () => session.id(),
          canAsk: () => session.reachable(),
        });
      },
    })(app, warden);
}

export const gatewayModule: RouteModule = createGatewayModule();
