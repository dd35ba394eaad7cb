import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runWarden } from './processes.js';

/**
 * `warden mcp governance` through the built binary, as an MCP client launches it (the README's
 * command line), with the official SDK's stdio client. The parent `mcp` command has options of
 * the same names (--config, --agent), so both places on the command line must work.
 */
let dir: string;
let config: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  dir = mkdtempSync(join(tmpdir(), 'warden-mcp-cli-'));
  const init = await runWarden(['init', dir]);
  expect(init.code, init.stderr).toBe(0);
  config = join(dir, 'warden.yaml');
});

async function governanceTools(args: string[]): Promise<string[]> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, ...args], cwd: dir, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'cli-test', version: '1' });
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    return tools.map((t) => t.name).sort();
  } catch (error) {
    throw new Error(`${(error as Error).message}; stderr: ${stderr}`, { cause: error });
  } finally {
    await client.close().catch(() => undefined);
  }
}

const AGENT_TOOLS = ['get_audit_log', 'get_compliance_status', 'report_incident', 'validate_action'];

describe('warden mcp governance (the built CLI, over stdio)', () => {
  it('starts with its options after the subcommand (the README form) and lists the governance tools', async () => {
    const tools = await governanceTools(['mcp', 'governance', '--config', config, '--agent', 'my-agent']);
    expect(tools).toEqual(expect.arrayContaining(AGENT_TOOLS));
  });

  it('starts with the options before the subcommand, or split on both sides', async () => {
    expect(await governanceTools(['mcp', '--config', config, 'governance', '--agent', 'my-agent'])).toEqual(expect.arrayContaining(AGENT_TOOLS));
    expect(await governanceTools(['mcp', '--config', config, '--agent', 'my-agent', 'governance'])).toEqual(expect.arrayContaining(AGENT_TOOLS));
  });

  it('without --agent is a usage error (exit 2) that names the option', async () => {
    const run = await runWarden(['mcp', 'governance', '--config', config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--agent');
  });

  it('an unknown agent exits 1 and says so', async () => {
    const run = await runWarden(['mcp', 'governance', '--config', config, '--agent', 'nobody']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('unknown agent "nobody"');
  });
});
