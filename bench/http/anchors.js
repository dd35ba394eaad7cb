/**
 * The anchors of the HTTP benchmark, each its own process so that its CPU time can be read from
 * /proc like the gateway's:
 *
 *   node bench/http/anchors.js bare  <response-file>
 *   node bench/http/anchors.js floor <response-file> <sqlite-dir>
 *   node bench/http/anchors.js toolfloor <response-file> <sqlite-dir> <tools-url>   (token: WARDEN_SECRET_TOOLS_TOKEN)
 *
 * - bare: fastify with one POST route that parses the JSON body (fastify's own parser) and sends
 *   the bytes of <response-file> (a decision as Warden answered it in the same run): what Node and
 *   fastify cost for the same body and response size, nothing else.
 * - floor: what a decision request cannot do without — fastify, the JSON body, the PDP on the
 *   example policies (dist/policy: the same compiled set Warden serves), a hash-chain link
 *   (sha256 of the record, then sha256(prev ‖ seq ‖ bodyHash)) and an INSERT into SQLite batched
 *   per event-loop turn (better-sqlite3, WAL, synchronous NORMAL, one transaction per batch).
 *   No validation, authentication, registry, guards or logging.
 * - toolfloor: what a tool call cannot do without — the floor's steps for `POST /v1/tools/call`
 *   (body `{agent_id, request_id, tool, arguments}`, the agent's roles and tenant from a table),
 *   then the call to the tool service over undici's pooled `request` with the bearer token and
 *   x-warden-* headers Warden sends, its JSON answer parsed, recorded with the decision (one
 *   chained record) and sent back. No obligations (masking, filtering), result scan or replay guard.
 *
 * Prints `anchor listening on <url>` once ready. SIGTERM closes it (the floor writes its last
 * batch first).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { Agent, request as undiciRequest } from 'undici';

import { decide, loadPolicyFolder } from '../../dist/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const [kind, responseFile, sqliteDir, toolsUrl] = process.argv.slice(2);
if (!['bare', 'floor', 'toolfloor'].includes(kind)) throw new Error('usage: anchors.js bare|floor|toolfloor <response-file> [sqlite-dir] [tools-url]');
if (kind === 'toolfloor' && !toolsUrl) throw new Error('toolfloor needs the tool service URL');

const app = Fastify({ logger: false });
const close = [];

if (kind === 'bare') {
  const response = readFileSync(responseFile);
  app.post('/v1/decisions', (_req, reply) => reply.header('content-type', 'application/json; charset=utf-8').send(response));
} else {
  const loaded = await loadPolicyFolder(join(root, 'examples/policies'));
  if (!loaded.policySet) throw new Error(`the example policies did not compile: ${JSON.stringify(loaded.diagnostics)}`);
  const policySet = loaded.policySet;
  const tool = { name: 'read_orders', risk: 'low', effect: 'read', tags: [] };

  const db = new Database(join(sqliteDir, `${kind}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS decisions (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, time INTEGER NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO decisions (seq, id, time, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)');
  const writeBatch = db.transaction((rows) => {
    for (const r of rows) insert.run(r.seq, r.id, r.time, r.body, r.prevHash, r.hash);
  });
  let queue = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const rows = queue;
    queue = [];
    if (rows.length) writeBatch(rows);
  };
  close.push(() => {
    flush();
    db.close();
  });

  let seq = 0;
  let prevHash = `sha256:${'0'.repeat(64)}`;
  const sha = (text) => createHash('sha256').update(text).digest('hex');
  /** Chains the record and queues its row for the next batch. */
  const record = (r) => {
    const body = JSON.stringify(r);
    seq++;
    const hash = `sha256:${sha(`${prevHash}|${seq}|${sha(body)}`)}`;
    queue.push({ seq, id: r.id, time: r.time, body, prevHash, hash });
    prevHash = hash;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  const actionRequest = (tenant, agent, args) => ({
    tenant,
    actor: { agent: { ...agent, tenant } },
    action: 'tool.call',
    resource: { type: 'tool', id: tool.name, attributes: {} },
    args,
    context: {},
    tool,
  });
  const recordOf = (request, decision, extra) => ({ id: `dec_${randomUUID()}`, time: Date.now(), agentId: request.actor.agent.id, tenant: request.tenant, action: request.action, resourceId: request.resource.id, args: request.args, effect: decision.effect, reason: decision.reason, policy: decision.policy, rule: decision.rule, ...extra });

  if (kind === 'floor') {
    app.post('/v1/decisions', (req, reply) => {
      const b = req.body;
      const request = actionRequest(b.tenant, { id: b.actor.agent.id, roles: b.actor.agent.roles ?? [], trust: b.actor.agent.trust ?? 'low' }, b.args ?? {});
      const decision = decide(policySet, request);
      const r = recordOf(request, decision);
      record(r);
      return reply.header('x-warden-audit-id', r.id).send(decision);
    });
  } else {
    // The example's agent, as warden.yaml would give it: roles and tenant come from config, not the body.
    const agents = new Map([['support-agent', { id: 'support-agent', roles: ['support'], trust: 'medium', tenant: 'acme-corp' }]]);
    const dispatcher = new Agent({ connections: 128 });
    close.push(() => void dispatcher.close());
    const token = process.env.WARDEN_SECRET_TOOLS_TOKEN ?? 'example-tools-token';
    app.post('/v1/tools/call', async (req, reply) => {
      const b = req.body;
      const agent = agents.get(b.agent_id);
      if (!agent || b.tool !== tool.name) return reply.code(404).send({ error: 'unknown agent or tool' });
      const request = actionRequest(agent.tenant, agent, b.arguments ?? {});
      const decision = decide(policySet, request);
      if (decision.effect !== 'allow') {
        record(recordOf(request, decision, { requestId: b.request_id }));
        return reply.code(403).send({ status: 'denied', decision });
      }
      const res = await undiciRequest(`${toolsUrl}/tools/${tool.name}`, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-warden-request-id': b.request_id, 'x-warden-agent': agent.id },
        body: JSON.stringify(request.args),
      });
      const result = await res.body.json();
      const r = recordOf(request, decision, { requestId: b.request_id, status: res.statusCode, result });
      record(r);
      return reply.header('x-warden-audit-id', r.id).send({ success: true, status: 'executed', result, decision, audit_id: r.id });
    });
  }
}

const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`anchor listening on ${url}`);
process.once('SIGTERM', async () => {
  await app.close();
  for (const f of close) f();
  process.exit(0);
});
