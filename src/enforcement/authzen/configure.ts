import type { WardenConfig } from '../../config/index.js';
import { durationMs } from '../../lib/duration.js';
import type { SecretResolver } from '../../upstream/secrets.js';
import type { ExternalPdpDeps } from '../stages/authzen-pdp.js';
import { AuthzenPdpClient } from './pdp-client.js';

/**
 * AuthZEN as a PEP. Present: the COAZ AuthZEN request of every MCP operation is built (mapping
 * errors deny); `pdp`: an external PDP decides too.
 */
export interface AuthzenPepDeps {
  pdp?: ExternalPdpDeps;
  close(): Promise<void>;
}

/** From warden.yaml: `mcp.authzen_mapping` and `pdp.authzen` (which needs the mapping, so turns it on). */
export function configureAuthzen(config: Pick<WardenConfig, 'mcp' | 'pdp'>, secrets: Pick<SecretResolver, 'interpolate'>): AuthzenPepDeps | undefined {
  const pdp = config.pdp.authzen;
  if (!pdp && !config.mcp.authzen_mapping) return undefined;
  const reference = pdp?.credentials;
  const client = pdp
    ? new AuthzenPdpClient({ url: pdp.url, timeoutMs: durationMs(pdp.timeout), ...(reference ? { credential: () => secrets.interpolate(reference) } : {}) })
    : undefined;
  return {
    ...(client ? { pdp: { client, mode: pdp!.mode } } : {}),
    close: async () => client?.close(),
  };
}
