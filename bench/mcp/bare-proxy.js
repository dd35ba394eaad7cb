/**
 * The anchors of the MCP benchmark: minimal pass-through proxies, each its own process, with no
 * policy, no MCP SDK, no logging and no validation — what any proxy in Node pays on this machine
 * to stand where `warden mcp` / `warden serve` /mcp stands, and nothing else.
 *
 *   node bench/mcp/bare-proxy.js stdio-pipe <command> [args…]   spawns `command args`, byte pipe both ways
 *   node bench/mcp/bare-proxy.js stdio-json <command> [args…]   the same, every message parsed and re-serialized
 *   node bench/mcp/bare-proxy.js http-pipe <upstream-url>        node:http → undici → a Streamable HTTP server
 *   node bench/mcp/bare-proxy.js http-json <upstream-url>        the same, each POST body JSON.parse'd first
 *
 * - stdio-pipe: stdin → child stdin and child stdout → stdout as bytes (stream.pipe), nothing read.
 * - stdio-json: newline-delimited JSON-RPC split into lines, each line JSON.parse'd (method and
 *   arguments read) and JSON.stringify'd back — the least a proxy that looks at a call must do —
 *   the lines of one event-loop turn written with one write per direction.
 * - http-pipe: one node:http server; each POST / GET / DELETE on /mcp is forwarded with undici's
 *   pooled `request` (keep-alive Agent) to <upstream-url>, copying mcp-session-id,
 *   mcp-protocol-version, accept, content-type and last-event-id (authorization dropped); the
 *   answer's status, content-type, cache-control and mcp-session-id are copied and its body
 *   (JSON, or an SSE stream that may stay open) streamed back as it arrives. The request body (a
 *   few hundred bytes) is collected and sent as one buffer.
 * - http-json: the same, the POST body JSON.parse'd (method and arguments read) before it is
 *   forwarded; the original bytes are sent on (a proxy that only decides need not re-serialize).
 *
 * stdio modes exit with the child (the client closing stdin ends the child's stdin). HTTP modes
 * print `bare proxy listening on <url>` on stderr once ready and exit on SIGTERM.
 */
import { spawn } from 'node:child_process';

const [mode, ...rest] = process.argv.slice(2);
const MODES = ['stdio-pipe', 'stdio-json', 'http-pipe', 'http-json'];
if (!MODES.includes(mode) || rest.length === 0) throw new Error(`usage: bare-proxy.js ${MODES.join('|')} <command args… | upstream-url>`);

/** What a deciding proxy reads of a message: the method, and a call's tool name and arguments. */
let _seen = 0; // kept so the reads are not optimized away
const look = (msg) => {
  if (msg && msg.method === 'tools/call' && msg.params && typeof msg.params.name === 'string' && msg.params.arguments !== undefined) _seen++;
};

if (mode.startsWith('stdio')) {
  const child = spawn(rest[0], rest.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  child.stdin.on('error', () => undefined); // the child gone: its exit ends this process
  if (mode === 'stdio-pipe') {
    process.stdin.pipe(child.stdin);
    child.stdout.pipe(process.stdout);
  } else {
    relayLines(process.stdin, child.stdin, true);
    relayLines(child.stdout, process.stdout, false);
  }
} else {
  await httpProxy(rest[0], mode === 'http-json');
}

/** Newline-delimited JSON from `input` to `output`, each message parsed and re-serialized; one write per turn. */
function relayLines(input, output, endOutput) {
  let partial = '';
  let out = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (!out) return;
    const s = out;
    out = '';
    output.write(s);
  };
  input.setEncoding('utf8');
  input.on('data', (chunk) => {
    const s = partial ? partial + chunk : chunk;
    let start = 0;
    let nl;
    while ((nl = s.indexOf('\n', start)) !== -1) {
      const line = s.slice(start, nl);
      start = nl + 1;
      if (line.length === 0) continue;
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        out += `${line}\n`; // not JSON: passed on as it came
        continue;
      }
      look(msg);
      out += `${JSON.stringify(msg)}\n`;
    }
    partial = start < s.length ? s.slice(start) : '';
    if (out && !scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
  input.on('end', () => {
    flush();
    if (endOutput) output.end();
  });
}

async function httpProxy(upstreamUrl, parse) {
  const { createServer } = await import('node:http');
  const { Agent, request } = await import('undici');
  const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 60_000 });
  const upstream = new URL(upstreamUrl);
  const REQUEST_HEADERS = ['mcp-session-id', 'mcp-protocol-version', 'accept', 'content-type', 'last-event-id'];
  const RESPONSE_HEADERS = ['content-type', 'cache-control', 'mcp-session-id'];
  const METHODS = new Set(['POST', 'GET', 'DELETE']);

  const fail = (res, status, message) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
  };

  const forward = async (req, res, body) => {
    const headers = {};
    for (const h of REQUEST_HEADERS) {
      const v = req.headers[h];
      if (v !== undefined) headers[h] = v;
    }
    // A GET is a standalone SSE stream that stays open, silent, for the session: no body
    // timeout, and it is aborted upstream when the client goes away. A POST's answer ends by itself.
    const get = req.method === 'GET';
    let signal;
    if (get) {
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      signal = abort.signal;
    }
    let answer;
    try {
      answer = await request(upstream, { method: req.method, headers, body, dispatcher, signal, bodyTimeout: get ? 0 : 30_000 });
    } catch (error) {
      return fail(res, 502, `upstream: ${error.message}`);
    }
    const out = {};
    for (const h of RESPONSE_HEADERS) {
      const v = answer.headers[h];
      if (v !== undefined) out[h] = v;
    }
    res.writeHead(answer.statusCode, out);
    if (get) res.flushHeaders(); // its headers go out before its first event, which may never come
    answer.body.on('error', () => res.destroy());
    answer.body.pipe(res);
  };

  const server = createServer((req, res) => {
    const path = req.url.indexOf('?') === -1 ? req.url : req.url.slice(0, req.url.indexOf('?'));
    if (path !== '/mcp' || !METHODS.has(req.method)) return fail(res, path === '/mcp' ? 405 : 404, 'not here');
    if (req.method !== 'POST') {
      req.resume();
      return void forward(req, res, undefined);
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      if (parse) {
        let msg;
        try {
          msg = JSON.parse(body.toString('utf8'));
        } catch {
          return fail(res, 400, 'Parse error');
        }
        if (Array.isArray(msg)) msg.forEach(look);
        else look(msg);
      }
      void forward(req, res, body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  console.error(`bare proxy listening on http://127.0.0.1:${server.address().port}`);
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void dispatcher.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
