import type { Readable, Writable } from 'node:stream';
import { startWardenTelemetry } from '../../services/telemetry/warden-telemetry.js';
import { createWarden, type Warden } from '../../services/warden.js';
import { createGovernanceServer } from './governance-server.js';
import { serveStdioSession } from './stdio-session.js';

export interface GovernanceStdioStreams {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

/**
 * `warden mcp governance --config warden.yaml --agent <id>`: the governance MCP server on
 * standard input and output, for one agent. Whoever can start this process can read the config
 * and its store, so the agent is not asked for a key; it must be registered, though.
 *
 * Resolves with the exit code once the client disconnects (standard input ends) or the process is
 * asked to stop, after the decision log is written and the store closed. Standard output carries
 * only MCP messages; problems go to standard error.
 */
export async function runGovernanceStdio(configPath: string, agentId: string, streams: GovernanceStdioStreams = {}): Promise<number> {
  const stdin = streams.stdin ?? process.stdin;
  const stdout = streams.stdout ?? process.stdout;
  const stderr = streams.stderr ?? process.stderr;
  const fail = (message: string) => {
    stderr.write(`warden mcp governance: ${message}\n`);
    return 1;
  };

  let warden: Warden;
  try {
    warden = await createWarden({ config: configPath });
  } catch (error) {
    return fail((error as Error)?.message ?? String(error));
  }
  const agent = await warden.store.getAgent(agentId).catch(() => undefined);
  if (!agent) {
    await warden.close().catch(() => undefined);
    return fail(`unknown agent "${agentId}": register it first (agents: in ${configPath}, or POST /v1/agents)`);
  }
  if (agent.status === 'suspended') stderr.write(`warden mcp governance: agent "${agentId}" is suspended; validate_action will deny every action\n`);

  const telemetry = await startWardenTelemetry(warden, (level, message) => level !== 'info' && stderr.write(`warden mcp governance: ${message}\n`)).catch(async (error: Error) => {
    await warden.close().catch(() => undefined);
    fail(error.message);
  });
  if (!telemetry) return 1;
  const server = createGovernanceServer(warden, { kind: 'agent', agentId });
  const code = await serveStdioSession(server, server.server, warden, { stdin, stdout }, (message) => stderr.write(`warden mcp governance: ${message}\n`));
  await telemetry.shutdown();
  return code;
}
