/**
 * The anchors of the HTTP benchmark, each its own process so that its CPU time can be read from
 * /proc like the gateway's:
 *
 *   node bench/http/anchors.js bare  <response-file>
 *   node bench/http/anchors.js floor <response-file> <sqlite-dir>
 *
 * - bare: fastify with one POST route that parses the JSON body (fastify's own parser) and sends
 *   the bytes of <response-file> (a decision as Warden answered it in the same run): what Node and
 *   fastify cost for the same body and response size, nothing else.
 * - floor: what a decision request cannot do without — fastify, the JSON body, the PDP on the
 *   example policies (dist/policy: the same compiled set Warden serves), a hash-chain link
 *   (sha256 of the record, then sha256(prev ‖ seq ‖ bodyHash)) and an INSERT into SQLite batched
 *   per event-loop turn (better-sqlite3, WAL, synchronous NORMAL, one transaction per batch).
 *   No validation, authentication, registry, guards or logging.
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

import { decide, loadPolicyFolder } from '../../dist/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const [kind, responseFile, sqliteDir] = process.argv.slice(2);
if (kind !== 'bare' && kind !== 'floor') throw new Error('usage: anchors.js bare|floor <response-file> [sqlite-dir]');

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

  const db = new Database(join(sqliteDir, 'floor.db'));
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

  app.post('/v1/decisions', (req, reply) => {
    const b = req.body;
    const request = {
      tenant: b.tenant,
      actor: { agent: { id: b.actor.agent.id, roles: b.actor.agent.roles ?? [], trust: b.actor.agent.trust ?? 'low', tenant: b.tenant } },
      action: b.action,
      resource: { type: b.resource.type, id: b.resource.id, attributes: {} },
      args: b.args ?? {},
      context: {},
      tool,
    };
    const decision = decide(policySet, request);
    const record = { id: `dec_${randomUUID()}`, time: Date.now(), agentId: request.actor.agent.id, tenant: request.tenant, action: request.action, resourceId: request.resource.id, args: request.args, effect: decision.effect, reason: decision.reason, policy: decision.policy, rule: decision.rule };
    const body = JSON.stringify(record);
    seq++;
    const hash = `sha256:${sha(`${prevHash}|${seq}|${sha(body)}`)}`;
    queue.push({ seq, id: record.id, time: record.time, body, prevHash, hash });
    prevHash = hash;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    return reply.header('x-warden-audit-id', record.id).send(decision);
  });
}

const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`anchor listening on ${url}`);
process.once('SIGTERM', async () => {
  await app.close();
  for (const f of close) f();
  process.exit(0);
});
