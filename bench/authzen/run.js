/**
 * AuthZEN benchmark: decisions per second through Warden's AuthZEN PDP endpoints against
 * `POST /v1/decisions` (the anchor, measured in the same run), on the same policies and data
 * (examples/authzen: the interop todo scenario, `data.users` roles by subject id) and the same
 * question: may Morty update a todo (owned by himself or by Rick; alternating)?
 *
 *   npm run build && node bench/authzen/run.js
 *
 * Rows: /v1/decisions (an ActionRequest for the registered agent acting for the user, the PEP
 * asserting the user), /access/v1/evaluation (one AuthZEN evaluation per request) and
 * /access/v1/evaluations with BATCH items per request (evaluations/s = requests/s × BATCH). Every
 * evaluation is one decision record in each row. Two processes: this one (autocannon, pipelining
 * 1) and the gateway (`node dist/surfaces/cli/main.js serve`, a fresh SQLite file in a temp
 * folder). Knobs: BENCH_DURATION=8 (s per row and round), BENCH_ROUNDS=3, BENCH_WARMUP=2,
 * BENCH_CONNECTIONS=16, BENCH_BATCH=10.
 *
 * Output: Markdown on stdout, also written to bench/authzen/results.md.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import autocannon from 'autocannon';

import { fmtInt, fmtRatio, versionOf } from '../common.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const env = process.env;
const DURATION = Number(env.BENCH_DURATION ?? 8);
const WARMUP = Number(env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 16);
const BATCH = Number(env.BENCH_BATCH ?? 10);
/** Rows run in turn, ROUNDS times (A B C A B C …): a noisy neighbour hits every row alike. Each row reports its best round. */
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const PEP_TOKEN = 'authzen-todo-pep-token-0123456789';
const MORTY = 'CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs';
const OWNERS = ['morty@the-citadel.com', 'rick@the-citadel.com'];
const log = (...a) => console.error(...a);

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startGateway() {
  const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-authzen-'));
  cpSync(join(root, 'examples/authzen'), dir, { recursive: true });
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'dist/surfaces/cli/main.js'), 'serve', '--config', join(dir, 'warden.yaml'), '--port', String(port), '--log-level', 'error'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  child.stderr.resume();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/.well-known/authzen-configuration`)).ok) return { url, child };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('the gateway did not start');
}

let n = 0;
const owner = () => OWNERS[n++ % 2];
const ROWS = {
  '/v1/decisions': {
    path: '/v1/decisions',
    per: 1,
    body: () => ({ tenant: 'todo', actor: { agent: { id: 'todo-assistant' }, user: { id: MORTY } }, action: 'can_update_todo', resource: { type: 'todo', id: `t-${n}`, attributes: { ownerID: owner() } } }),
    ok: (json) => typeof json.effect === 'string',
  },
  '/access/v1/evaluation': {
    path: '/access/v1/evaluation',
    per: 1,
    body: () => ({ subject: { type: 'user', id: MORTY }, action: { name: 'can_update_todo' }, resource: { type: 'todo', id: `t-${n}`, properties: { ownerID: owner() } } }),
    ok: (json) => typeof json.decision === 'boolean',
  },
  [`/access/v1/evaluations (${BATCH} per request)`]: {
    path: '/access/v1/evaluations',
    per: BATCH,
    body: () => ({
      subject: { type: 'user', id: MORTY },
      action: { name: 'can_update_todo' },
      evaluations: Array.from({ length: BATCH }, (_, i) => ({ resource: { type: 'todo', id: `t-${n}-${i}`, properties: { ownerID: owner() } } })),
    }),
    ok: (json) => Array.isArray(json.evaluations) && json.evaluations.length === BATCH,
  },
};

async function load(url, row, seconds) {
  // One sanity request first: a row that answers errors measures nothing.
  const probe = await fetch(`${url}${row.path}`, { method: 'POST', headers: { authorization: `Bearer ${PEP_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(row.body()) });
  const json = await probe.json();
  if (probe.status !== 200 || !row.ok(json)) throw new Error(`${row.path} answered ${probe.status} ${JSON.stringify(json)}`);
  const result = await autocannon({
    url: `${url}${row.path}`,
    method: 'POST',
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    headers: { authorization: `Bearer ${PEP_TOKEN}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify(row.body()) }) }],
  });
  return { rps: result.requests.average, non2xx: result.non2xx + result.errors, p50: result.latency.p50, p99: result.latency.p99 };
}

const gateway = await startGateway();
const best = new Map();
try {
  for (const [name, row] of Object.entries(ROWS)) {
    log(`${name}: warm-up ${WARMUP}s`);
    await load(gateway.url, row, WARMUP);
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, row] of Object.entries(ROWS)) {
      log(`round ${round}/${ROUNDS} ${name}: ${DURATION}s at ${CONNECTIONS} connections`);
      const r = await load(gateway.url, row, DURATION);
      const eps = r.rps * row.per;
      if (!best.has(name) || best.get(name).eps < eps) best.set(name, { name, ...r, eps });
    }
  }
} finally {
  gateway.child.kill('SIGTERM');
}

const results = [...best.values()];
const anchor = results[0].eps;
const lines = [
  `# AuthZEN PDP vs /v1/decisions`,
  '',
  `Warden ${versionOf('warden')}, Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}; examples/authzen (todo policy, data.users), SQLite decision log, ${CONNECTIONS} connections, best of ${ROUNDS} interleaved rounds of ${DURATION}s; load average at the end ${os.loadavg()[0].toFixed(1)}.`,
  '',
  '| endpoint | requests/s | evaluations/s | × /v1/decisions | p50 ms | p99 ms | non-2xx |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...results.map((r) => `| ${r.name} | ${fmtInt(r.rps)} | ${fmtInt(r.eps)} | ${fmtRatio(r.eps / anchor)} | ${r.p50} | ${r.p99} | ${r.non2xx} |`),
  '',
];
const text = lines.join('\n');
console.log(text);
writeFileSync(join(here, 'results.md'), text);
