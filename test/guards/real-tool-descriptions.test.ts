/**
 * A gate for the injection detector (and for any retrain of its classifier): the tool
 * descriptions of real MCP servers, as the gateway reads them at tools/list, are ordinary text.
 * A description scanned as suspicious is held until an admin approves it (upstream/mcp-catalog.ts),
 * so a false positive here hides a working tool from every agent. A retrain on all tuning sources
 * scored server-filesystem's `list_directory` description 0.76 and was withdrawn for it (README,
 * "How well the injection detector holds"); this test names that failure directly.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { scanToolDescription } from '../../src/guards/injection-guard.js';

const pkg = (p: string) => fileURLToPath(new URL(`../../node_modules/${p}`, import.meta.url));

/** The official servers in devDependencies, started over stdio as the gateway starts them. */
const SERVERS: Record<string, string[]> = {
  'server-everything': [pkg('@modelcontextprotocol/server-everything/dist/index.js'), 'stdio'],
  'server-filesystem': [pkg('@modelcontextprotocol/server-filesystem/dist/index.js'), mkdtempSync(join(tmpdir(), 'warden-descriptions-'))],
};

async function descriptionsOf(args: string[]): Promise<{ name: string; description: string }[]> {
  const client = new Client({ name: 'warden-description-gate', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args, stderr: 'ignore' }));
  try {
    const { tools } = await client.listTools();
    return tools.map((t) => ({ name: t.name, description: t.description ?? '' }));
  } finally {
    await client.close();
  }
}

describe('tool descriptions of real MCP servers', () => {
  for (const [server, args] of Object.entries(SERVERS)) {
    it(`${server}: none reads as an injection`, { timeout: 30_000 }, async () => {
      const tools = await descriptionsOf(args);
      expect(tools.filter((t) => t.description.length > 20).length).toBeGreaterThan(5);
      const flagged = tools.map((t) => scanToolDescription(t.name, t.description)).filter((s) => s.suspicious);
      expect(flagged.map((s) => `${s.tool}: ${s.kinds.join(', ')} (${s.score})`)).toEqual([]);
    });
  }
});
