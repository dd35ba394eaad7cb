/**
 * The example tools, served over HTTP on 127.0.0.1: what Warden calls when it executes a tool.
 * A small but real service: it keeps orders, refunds, tickets and files in memory, checks the
 * bearer token Warden injects, and records every call it receives (GET /_calls) so tests and the
 * demo can see what actually ran, and how often.
 *
 *   node examples/tools/tool-server.mjs [port]      (prints its URL)
 */
import { createServer } from 'node:http';

const ORDERS = [
  { id: 'o-123', tenant: 'acme-corp', customer_email: 'jane@example.com', amount: 50, status: 'delivered' },
  { id: 'o-456', tenant: 'acme-corp', customer_email: 'john@example.com', amount: 250, status: 'delivered' },
  { id: 'o-789', tenant: 'competitor-corp', customer_email: 'eve@competitor.example', amount: 75, status: 'shipped' },
];

export async function startToolServer({ port = 0, host = '127.0.0.1', token = process.env.WARDEN_SECRET_TOOLS_TOKEN ?? 'example-tools-token' } = {}) {
  const calls = [];
  const refunds = new Map();
  const files = new Map([['/workspace/atlas/README.md', 'Atlas project']]);
  const tickets = [];

  const tools = {
    read_orders: (args) => ({ orders: ORDERS.filter((o) => !args.customer_id || o.id === args.customer_id).slice(0, args.limit ?? 100) }),
    issue_refund: (args) => {
      const key = args.order_id;
      if (refunds.has(key)) return { refund_id: refunds.get(key).refund_id, order_id: key, replayed: true };
      const refund = { refund_id: `rf-${refunds.size + 1}`, order_id: key, amount: args.amount };
      refunds.set(key, refund);
      return refund;
    },
    export_csv: () => ({ rows: ORDERS.map((o) => ({ ...o, ssn: '078-05-1120' })) }),
    export_customer_data: () => ({ rows: ORDERS.map((o) => ({ email: o.customer_email, ssn: '078-05-1120' })) }),
    create_support_ticket: (args) => {
      const ticket = { ticket_id: `t-${tickets.length + 1}`, subject: args.subject, priority: args.priority ?? 'normal' };
      tickets.push(ticket);
      return ticket;
    },
    search_knowledge_base: (args) => ({ results: [{ title: `How to ${args.query ?? 'do things'}`, url: 'https://kb.example/1' }] }),
    restart_service: (args) => ({ service: args.service, restarted: true }),
    read_file: (args) => (files.has(args.path) ? { path: args.path, content: files.get(args.path) } : { error: 'not found' }),
    write_file: (args) => {
      files.set(args.path, args.content ?? '');
      return { path: args.path, bytes: String(args.content ?? '').length };
    },
    delete_file: (args) => ({ path: args.path, deleted: files.delete(args.path) }),
    slow_tool: async (args) => {
      await new Promise((r) => setTimeout(r, args.ms ?? 5000));
      return { slept: args.ms ?? 5000 };
    },
    huge_tool: (args) => ({ data: 'x'.repeat(args.bytes ?? 2_000_000) }),
    // A careless tool that echoes what it was sent, credentials included.
    echo_request: (args, req) => ({ args, authorization: req.headers.authorization ?? null }),
    failing_tool: () => {
      throw Object.assign(new Error('upstream exploded'), { status: 500 });
    },
  };

  const server = createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/_calls') return send(200, { calls });
    if (url.pathname === '/healthz') return send(200, { ok: true });
    const match = /^\/tools\/([a-z_]+)$/.exec(url.pathname);
    const tool = match && tools[match[1]];
    if (!tool) return send(404, { error: 'no such tool' });
    let body = '';
    for await (const chunk of req) body += chunk;
    let args;
    try {
      args = body ? JSON.parse(body) : Object.fromEntries(url.searchParams);
    } catch {
      return send(400, { error: 'invalid JSON' });
    }
    calls.push({
      tool: match[1],
      args,
      authorization: req.headers.authorization ?? null,
      requestId: req.headers['x-warden-request-id'] ?? null,
      idempotencyKey: req.headers['idempotency-key'] ?? null,
      at: new Date().toISOString(),
    });
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'missing or wrong bearer token' });
    try {
      send(200, await tool(args, req));
    } catch (error) {
      send(error.status ?? 500, { error: error.message });
    }
  });
  await new Promise((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  return {
    url: `http://${host}:${address.port}`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startToolServer({ port: Number(process.argv[2] ?? 0) });
  console.log(server.url);
}
