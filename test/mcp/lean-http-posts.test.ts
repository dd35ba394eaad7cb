import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import { readEvents } from '../../src/upstream/lean-http-posts.js';
import { McpUpstream } from '../../src/upstream/mcp-upstream.js';
import { configSchema } from '../../src/config/config-schema.js';

/** What readEvents delivers from a body sent in these chunks. */
async function events(chunks: Array<string | Buffer>) {
  const delivered: unknown[] = [];
  const errors: string[] = [];
  const answered = await readEvents(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))), (m) => delivered.push(m), (e) => errors.push(e.message));
  return { delivered, errors, answered: [...answered] };
}

describe('readEvents (the SSE answer of a POST)', () => {
  it('skips priming events and comments, joins data lines, and names the responses it delivered', async () => {
    const out = await events([
      ': keep-alive\n\nid: e1\ndata:\n\n',
      'event: message\nid: e2\ndata: {"jsonrpc":"2.0","method":"notifications/message",\ndata: "params":{"level":"info","data":"x"}}\n\n',
      'data: {"jsonrpc":"2.0","id":7,"result":{"content":[]}}\n\n',
    ]);
    expect(out.delivered).toEqual([
      { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } },
      { jsonrpc: '2.0', id: 7, result: { content: [] } },
    ]);
    expect(out.answered).toEqual([7]);
    expect(out.errors).toEqual([]);
  });

  it('reads CRLF and CR line ends split across chunks, and a character split across chunks', async () => {
    const text = Buffer.from('data: {"jsonrpc":"2.0","id":"a","result":{"t":"é"}}\r\n\r\n');
    const cut = text.indexOf(0xc3) + 1; // inside the two bytes of "é"
    const out = await events([text.subarray(0, cut), text.subarray(cut, text.length - 3), text.subarray(text.length - 3), 'data: {"jsonrpc":"2.0","id":"b","result":{}}\r\r']);
    expect(out.delivered).toEqual([
      { jsonrpc: '2.0', id: 'a', result: { t: 'é' } },
      { jsonrpc: '2.0', id: 'b', result: {} },
    ]);
  });

  it('reports an event that is not JSON and goes on with the next; other event types are not messages', async () => {
    const out = await events(['data: {not json\n\nevent: ping\ndata: {"x":1}\n\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n']);
    expect(out.errors).toHaveLength(1);
    expect(out.delivered).toEqual([{ jsonrpc: '2.0', id: 1, result: {} }]);
  });
});

/**
 * A minimal Streamable HTTP MCP server: JSON answers for the handshake and listings, SSE answers
 * for tools/call — `chatty` sends a log message before its result (CRLF line ends), `vanish`
 * ends its stream after a priming event without answering. Each POST's session header is kept.
 */
function mcpServer(seen: Array<{ method: string; session: string | undefined; accept: string | undefined }>) {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const message = JSON.parse(raw) as { id?: number | string; method: string; params?: { name?: string; arguments?: { message?: string } } };
      seen.push({ method: message.method, session: req.headers['mcp-session-id'] as string | undefined, accept: req.headers.accept });
      const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 's-1' }).end(JSON.stringify(body));
      if (message.id === undefined) return void res.writeHead(202).end();
      if (message.method === 'initialize') {
        return json({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {}, logging: {} }, serverInfo: { name: 'mini', version: '1' } } });
      }
      if (message.method === 'tools/list') {
        const schema = { type: 'object', properties: { message: { type: 'string' } } };
        return json({ jsonrpc: '2.0', id: message.id, result: { tools: [{ name: 'chatty', inputSchema: schema }, { name: 'vanish', inputSchema: schema }] } });
      }
      if (message.method === 'tools/call') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('id: p1\r\ndata:\r\n\r\n');
        if (message.params?.name === 'vanish') return void res.end();
        res.write(`event: message\r\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'working' } })}\r\n\r\n`);
        const token = (message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta?.progressToken;
        // The last progress and the result in one write, as a server sends them back to back.
        const progress = token === undefined ? '' : `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: 100, total: 100 } })}\r\n\r\n`;
        res.end(`${progress}data: ${JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text: `Echo: ${message.params?.arguments?.message}` }] } })}\r\n\r\n`);
        return;
      }
      json({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } });
    });
  });
}

describe('an HTTP upstream answering tools/call as an SSE stream', () => {
  const seen: Array<{ method: string; session: string | undefined; accept: string | undefined }> = [];
  const server: Server = mcpServer(seen);
  let upstream: McpUpstream;
  const heard: ServerNotification[] = [];
  const warnings: string[] = [];

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    const config = configSchema.parse({ upstreams: [{ name: 'mini', http: { url }, timeout: '5s' }] }).upstreams[0]!;
    upstream = new McpUpstream(config, { secrets: { interpolate: async (v: string) => v } as never, baseDir: process.cwd(), onCatalog: () => undefined, log: (level, message) => level !== 'info' && warnings.push(message) });
    upstream.onNotification((n) => heard.push(n));
    await upstream.connect();
  });
  afterAll(async () => {
    await upstream?.close();
    server.close();
  });

  it('gets the result, the messages sent before it, and sends the session id with every request', async () => {
    const results = await Promise.all(['a', 'b', 'c'].map((m) => upstream.callTool('chatty', { message: m })));
    expect(results.map((r) => (r.content[0] as { text: string }).text)).toEqual(['Echo: a', 'Echo: b', 'Echo: c']);
    expect(heard.filter((n) => n.method === 'notifications/message')).toHaveLength(3);
    const calls = seen.filter((s) => s.method === 'tools/call');
    expect(calls).toHaveLength(3);
    for (const call of calls) expect(call).toMatchObject({ session: 's-1', accept: 'application/json, text/event-stream' });
  });

  it('relays the progress sent right before the result (same chunk) before the call resolves', async () => {
    const progress: unknown[] = [];
    const result = await upstream.callTool('chatty', { message: 'p' }, {}, { onprogress: (p) => void progress.push(p) });
    expect((result.content[0] as { text: string }).text).toBe('Echo: p');
    expect(progress).toEqual([{ progress: 100, total: 100 }]);
    expect(warnings.filter((w) => /unknown token/.test(w))).toEqual([]);
  });

  it('fails a call when the stream ends without its answer, instead of waiting for the timeout', async () => {
    // The SDK's own send would leave the request pending until "Request timed out" (5 s here).
    await expect(upstream.callTool('vanish', { message: 'x' })).rejects.toThrow(/ended its SSE stream without answering/);
  });
});
