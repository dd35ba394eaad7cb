import { randomUUID } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { startWardenTelemetry } from '../../services/telemetry/warden-telemetry.js';
import { createWarden, UPSTREAM_HEAD_START_MS, type Warden } from '../../services/warden.js';
import { createGatewayServer } from './gateway-server.js';
import { serveStdioSession } from './stdio-session.js';

export interface GatewayStdioOptions {
  /** The agent this session acts as (default: `mcp.stdio_agent` of the config). */
  agent?: string;
  /** The user it acts for (default: `mcp.stdio_user`). */
  user?: string;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

/**
 * `warden mcp --config warden.yaml`: the MCP gateway on standard input and output, for desktop
 * clients that launch their servers (Claude Desktop, Claude Code). Whoever can start this process
 * can read the config, so the agent is named rather than authenticated; it must be registered.
 * Standard output carries only MCP messages; problems go to standard error.
 */
export async function runGatewayStdio(configPath: string, options: GatewayStdioOptions = {}): Promise<number> {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const say = (message: string) => stderr.write(`warden mcp: ${message}\n`);

  let warden: Warden;
  try {
    warden = await createWarden({ config: configPath, log: (level, message) => level !== 'info' && say(message), upstreamWaitMs: UPSTREAM_HEAD_START_MS });
  } catch (error) {
    say((error as Error)?.message ?? String(error));
    return 1;
  }
  const agentId = options.agent ?? warden.config.mcp.stdio_agent;
  const agent = agentId ? await warden.store.getAgent(agentId).catch(() => undefined) : undefined;
  if (!agentId || !agent) {
    await warden.close().catch(() => undefined);
    say(agentId ? `unknown agent "${agentId}": register it first (agents: in ${configPath})` : 'no agent: pass --agent <id> or set mcp.stdio_agent in the config');
    return 1;
  }
  if (agent.status === 'suspended') say(`agent "${agentId}" is suspended; every call will be denied`);

  const sessionId = `mcp-stdio-${randomUUID()}`;
  // Whoever can start this process can read the config: the agent and user it names are trusted.
  const userId = options.user ?? warden.config.mcp.stdio_user;
  const telemetry = await startWardenTelemetry(warden, (level, message) => level !== 'info' && say(message)).catch(async (error: Error) => {
    await warden.close().catch(() => undefined);
    say(error.message);
  });
  if (!telemetry) return 1;
  const server = createGatewayServer(warden, { agentId, credentials: { kind: 'trusted' }, ...(userId ? { userId } : {}), sessionId: () => sessionId });
  const code = await serveStdioSession(server, server, warden, { stdin, stdout }, say);
  await telemetry.shutdown();
  return code;
}
