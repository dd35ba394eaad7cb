import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Warden } from '../../src/services/warden.js';
import { serveStdioSession } from '../../src/surfaces/mcp/stdio-session.js';

/**
 * The stdio session writes the JSON-RPC messages of one event-loop turn with one write
 * (lib/coalesced-writes.ts), to its standard output and to a stdio upstream's standard input.
 * These tests check what that must not change: every answer arrives, once, matched to its id and
 * in the order it was sent, and the answers held for coalescing leave before the session ends.
 */

/** Standard output as a pipe writes it: several buffered chunks in one writev. */
function recordingStdout() {
  const writes: string[] = [];
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string, _encoding, done) {
      writes.push(String(chunk));
      done();
    },
    writev(chunks, done) {
      writes.push(chunks.map((c) => String(c.chunk)).join(''));
      done();
    },
  });
  return { stream, writes };
}

/** A server that answers every request at once, with the request's id (as an McpServer would). */
function echoServer() {
  let transport: Transport | undefined;
  const protocol: { onclose?: () => void; onerror?: (error: Error) => void } = {};
  const server = {
    async connect(t: Transport) {
      transport = t;
      t.onmessage = (message) => {
        const m = message as { id?: number; params?: { n?: number } };
        if (m.id !== undefined) void t.send({ jsonrpc: '2.0', id: m.id, result: { n: m.params?.n } } as JSONRPCMessage);
      };
      await t.start();
    },
    async close() {
      await transport?.close();
      protocol.onclose?.();
    },
  };
  return { server, protocol };
}

const noWarden = { close: async () => undefined } as unknown as Warden;
const request = (id: number) => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: { n: id } })}\n`;
const answers = (writes: string[]) => writes.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { id: number; result: { n: number } });

describe('stdio session: coalesced answers', () => {
  it('answers sent in the turn standard input ends are all written, in order, before the session resolves', async () => {
    const stdin = new PassThrough();
    const { stream: stdout, writes } = recordingStdout();
    const { server, protocol } = echoServer();
    const done = serveStdioSession(server, protocol, noWarden, { stdin, stdout }, () => undefined);
    const ids = Array.from({ length: 200 }, (_, i) => i + 1);
    stdin.end(ids.map(request).join('')); // a burst, then EOF in the same write
    expect(await done).toBe(0);
    // Checked as soon as the session resolved, before another turn: nothing is still held.
    const got = answers(writes);
    expect(got.map((a) => a.id)).toEqual(ids);
    expect(got.every((a) => a.result.n === a.id)).toBe(true);
    expect(writes.length).toBeLessThan(ids.length); // coalesced: far fewer writes than messages
  });
});

const node = process.execPath;
const pkg = (p: string) => fileURLToPath(new URL(`../../node_modules/${p}`, import.meta.url));
const EVERYTHING = pkg('@modelcontextprotocol/server-everything/dist/index.js');
const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));

describe('`warden mcp` in front of server-everything (stdio): many calls in flight through coalesced writes', () => {
  let config: string;
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
    const dir = mkdtempSync(join(tmpdir(), 'warden-mcp-coalesced-'));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'policies', 'echo.yaml'), `id: echo\nversion: 1\nrules:\n  - id: echo\n    effect: allow\n    tools: [echo]\n    when: "'echo' in agent.roles"\n`);
    config = join(dir, 'warden.yaml');
    writeFileSync(
      config,
      `storage: sqlite:./warden.db\npolicies: ./policies\nserver: { watch_policies: false }\n` +
        `agents:\n  - { id: echo-agent, roles: [echo], tenant: acme, trust: medium }\nmcp: { stdio_agent: echo-agent }\n` +
        `upstreams:\n  - name: everything\n    stdio: { command: "${node}", args: ["${EVERYTHING}", "stdio"] }\n`,
    );
  });

  it('answers 300 concurrent calls of the official SDK client, each with its own echo', async () => {
    const client = new Client({ name: 'coalesced-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: node, args: [CLI, 'mcp', '--config', config], stderr: 'pipe' }));
    try {
      const messages = Array.from({ length: 300 }, (_, i) => `call ${i}`);
      const results = await Promise.all(messages.map((message) => client.callTool({ name: 'echo', arguments: { message } }) as Promise<CallToolResult>));
      expect(results.map((r) => (r.content[0] as { text: string }).text)).toEqual(messages.map((m) => `Echo: ${m}`));
    } finally {
      await client.close();
    }
  }, 60_000);

  it('a burst of requests in one write: every answer once, matched to its id; then EOF ends the process cleanly', async () => {
    const child = spawn(node, [CLI, 'mcp', '--config', config], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const received = new Map<number, { result?: CallToolResult; error?: unknown }>();
    let buffer = '';
    let waiting: { count: number; resolve: () => void } | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const message = JSON.parse(buffer.slice(0, newline)) as { id?: number; result?: CallToolResult; error?: unknown };
        buffer = buffer.slice(newline + 1);
        if (message.id === undefined) continue; // a notification (server-everything logs)
        expect(received.has(message.id), `answer ${message.id} arrived twice`).toBe(false);
        received.set(message.id, message as { result?: CallToolResult });
      }
      if (waiting && received.size >= waiting.count) waiting.resolve();
    });
    const answered = (count: number) => new Promise<void>((resolve) => (received.size >= count ? resolve() : (waiting = { count, resolve })));
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);

    send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    await answered(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const ids = Array.from({ length: 200 }, (_, i) => i + 1);
    child.stdin.write(ids.map((id) => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: `m${id}` } } })}\n`).join(''));
    await answered(ids.length + 1);
    for (const id of ids) expect((received.get(id)?.result?.content[0] as { text: string } | undefined)?.text, `answer to ${id}: ${JSON.stringify(received.get(id))}`).toBe(`Echo: m${id}`);
    child.stdin.end();
    expect(await exited, stderr).toBe(0);
  }, 60_000);
});
