import type { RouteModule } from '../server.js';
import { createGovernanceServer } from '../../mcp/governance-server.js';
import { createStreamableHttpModule } from './streamable-http.js';

/** The governance MCP server over Streamable HTTP, at `/mcp/governance`. */
export function createGovernanceModule(options: { path?: string; idleTimeoutMs?: number; maxSessions?: number; maxSessionsPerCaller?: number } = {}): RouteModule {
  return (app, warden) =>
    createStreamableHttpModule({
      ...options,
      path: options.path ?? '/mcp/governance',
      summary: 'The governance MCP server (Streamable HTTP): validate_action, register_agent, create_policy, get_audit_log, get_compliance_status, report_incident',
      createServer: (caller) => createGovernanceServer(warden, caller),
    })(app, warden);
}

/** The governance MCP endpoint at `/mcp/governance`, with default limits. */
export const governanceModule: RouteModule = createGovernanceModule();
