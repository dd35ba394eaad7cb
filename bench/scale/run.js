/**
 * Scale benchmark: the same load on one `warden serve` on SQLite (the anchor) and on 1, 2 and 3
 * `warden serve` processes sharing PostgreSQL + Redis, in one run: decisions/s, p50/p99, and the
 * CPU each request costs (the Warden processes' CPU time over the row, summed, ÷ requests answered;
 * PostgreSQL's and Redis's own CPU time per request beside it).
 *
 *   npm run bench:scale            (builds, then node bench/scale/run.js)
 *
 * Environment knobs (optional): BENCH_DURATION=10 (seconds per measured row), BENCH_WARMUP=3
 * (discarded seconds before each row), BENCH_CONNECTIONS=32 (in all, split evenly over the
 * processes), BENCH_TARGETS=decisions,toolsCall, BENCH_PROCESSES=1,2,3 (the Postgres + Redis
 * setups), BENCH_WORKERS=2 (an extra setup: `warden serve --workers 2`, one port; 0 skips it),
 * BENCH_POSTGRES_URL / BENCH_REDIS_URL (use these servers instead of private ones; their CPU is
 * then not attributed: other clients may use them), BENCH_QUIET_WAIT=90 (seconds to wait before
 * each row for the machine to be idle), BENCH_NOISE=0.25 and BENCH_ATTEMPTS=3 (a row during which
 * other work used more than a quarter of a core is measured again, up to 3 times; the quietest
 * kept).
 *
 * Processes: this one (the load generator: autocannon, pipelining 1, one instance per Warden
 * process so that no proxy adds its own CPU: what an L4 load balancer does), N `node
 * dist/surfaces/cli/main.js serve` processes, the example tool service (examples/tools/tool-server.mjs),
 * and, unless told otherwise, a private PostgreSQL 15 cluster (initdb, stock settings: fsync and
 * synchronous_commit on) and a private redis-server (no persistence), started for the run. Each
 * setup gets a fresh schema and key prefix (or SQLite file).
 *
 * Config: the demo config (examples/warden.yaml, the example policies) as bench/http uses it,
 * with `limits: { rate: [{ scope: agent, limit: 10^9, window: 1m }] }`: the rate limiter runs on
 * every tool call (in memory on SQLite, in Redis on Postgres) and never refuses.
 *
 * Requests: `POST /v1/decisions` with bench/http's body (support-agent, read_orders, args
 * {"limit":10}, API key); `POST /v1/tools/call` read_orders with a fresh request_id each.
 *
 * Output: Markdown on stdout, also written to bench/scale/results.md. Progress on stderr.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import autocannon from 'autocannon';
import pg from 'pg';
import { parse, stringify } from 'yaml';

import { DEMO, demoConfig } from '../../dist/surfaces/cli/commands/demo.js';
import { fmtInt, percentile, versionOf } from '../common.js';
import { canRunPrivatePostgres, cpuSeconds, machineBusySeconds, startPrivatePostgres, startPrivateRedis } from './servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const env = process.env;

const DURATION = Number(env.BENCH_DURATION ?? 10);
const WARMUP = Number(env.BENCH_WARMUP ?? 3);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 32);
const TARGETS = (env.BENCH_TARGETS ?? 'decisions,toolsCall').split(',').filter(Boolean);
const PROCESSES = (env.BENCH_PROCESSES ?? '1,2,3').split(',').map(Number);
const WORKERS = Number(env.BENCH_WORKERS ?? 2);
/** A row during which other work took more than this share of a core is measured again… */
const NOISE = Number(env.BENCH_NOISE ?? 0.25);
/** …up to this many times in all; the quietest measurement is kept. */
const ATTEMPTS = Number(env.BENCH_ATTEMPTS ?? 3);
/** Before each measurement, wait (up to this many seconds) for the machine to be idle (< 15% busy over 2 s). */
const QUIET_WAIT = Number(env.BENCH_QUIET_WAIT ?? 90);

const MAIN = join(root, 'dist/surfaces/cli/main.js');
const TOOL_SERVER = join(root, 'examples/tools/tool-server.mjs');
const AGENT = 'support-agent';
const KEY = DEMO.keys[AGENT];
const TOOL_ARGS = { limit: 10 };

const log = (...a) => console.error(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* ------------------------------------------------------------------ processes */

function spawnNode(args, pattern, label) {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = [];
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    let found = false;
    const onData = (chunk) => {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        const m = !found && pattern.exec(line);
        if (m) {
          found = true;
          resolve(m[1]);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then(({ code, signal }) => {
      if (!found) reject(new Error(`${label} exited (${code ?? signal}) before it was ready:\n${tail.join('\n')}`));
    });
  });
  return { child, ready, exited, tail };
}

async function stopProcess(proc) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
  await proc.exited;
  clearTimeout(timer);
}

async function waitReady(url) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${url}/readyz never answered 200`);
    await sleep(200);
  }
}

/** pids of a process's live children (Linux /proc). */
function childrenOf(pid) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

/* ------------------------------------------------------------------ setups */

/** A config for one setup: the demo config, the benchmark's limits, this setup's storage. */
function writeConfig(toolsUrl, storage, redis) {
  const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-scale-'));
  const file = demoConfig(dir, toolsUrl);
  const config = parse(readFileSync(file, 'utf8'));
  config.limits = { rate: [{ scope: 'agent', limit: 1_000_000_000, window: '1m' }], session: {} };
  if (storage) config.storage = storage;
  if (redis) config.redis = redis;
  writeFileSync(file, stringify(config));
  return { dir, file };
}

/**
 * Starts a setup: `processes` separate `warden serve` (each its own port), or one `warden serve
 * --workers N` (one port). Returns the URLs to load and the pids whose CPU counts as Warden's.
 */
async function startSetup(setup, configFile) {
  const procs = [];
  const urls = [];
  if (setup.workers) {
    const p = spawnNode([MAIN, 'serve', '--config', configFile, '--port', '0', '--log-level', 'warn', '--workers', String(setup.workers)], /serving on (http:\/\/[^\s]+)/, 'warden serve --workers');
    procs.push(p);
    const url = await p.ready;
    urls.push(url);
    await waitReady(url);
    // Every worker up: each prints "serving on"; give the rest a moment, then count them.
    const deadline = Date.now() + 30_000;
    while (childrenOf(p.child.pid).length < setup.workers && Date.now() < deadline) await sleep(200);
    await sleep(1_000);
    await waitReady(url);
  } else {
    for (let i = 0; i < setup.processes; i++) {
      const p = spawnNode([MAIN, 'serve', '--config', configFile, '--port', '0', '--log-level', 'warn'], /serving on (http:\/\/[^\s]+)/, `warden serve #${i + 1}`);
      procs.push(p);
      const url = await p.ready;
      await waitReady(url);
      urls.push(url);
    }
  }
  const pids = () => {
    const list = procs.map((p) => p.child.pid);
    if (setup.workers) list.push(...childrenOf(procs[0].child.pid));
    return list;
  };
  return { procs, urls, pids };
}

/* ------------------------------------------------------------------ requests */

const decisionBody = JSON.stringify({
  tenant: 'acme-corp',
  actor: { agent: { id: AGENT, roles: ['support'], trust: 'medium' } },
  action: 'tool.call',
  resource: { type: 'tool', id: 'read_orders' },
  args: TOOL_ARGS,
});
const json = { 'content-type': 'application/json' };

function target(kind, url, runId) {
  let seq = 0;
  if (kind === 'decisions') return { url: `${url}/v1/decisions`, method: 'POST', headers: { ...json, authorization: `Bearer ${KEY}` }, body: decisionBody };
  return {
    url: `${url}/v1/tools/call`,
    method: 'POST',
    headers: { ...json, authorization: `Bearer ${KEY}` },
    requests: [
      {
        method: 'POST',
        path: '/v1/tools/call',
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ agent_id: AGENT, request_id: `bench-${runId}-${++seq}`, tool: 'read_orders', arguments: TOOL_ARGS }) }),
      },
    ],
  };
}

const LABEL = { decisions: 'POST /v1/decisions', toolsCall: 'POST /v1/tools/call (read_orders)' };

async function sanityCheck(url) {
  const post = async (path, body) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { ...json, authorization: `Bearer ${KEY}` }, body });
    return { status: res.status, body: await res.json() };
  };
  const d = await post('/v1/decisions', decisionBody);
  if (d.status !== 200 || d.body.effect !== 'allow') throw new Error(`POST /v1/decisions answered ${d.status}: ${JSON.stringify(d.body)}`);
  const c = await post('/v1/tools/call', JSON.stringify({ agent_id: AGENT, request_id: `bench-check-${randomUUID()}`, tool: 'read_orders', arguments: TOOL_ARGS }));
  if (c.status !== 200 || c.body.status !== 'executed') throw new Error(`POST /v1/tools/call answered ${c.status}: ${JSON.stringify(c.body)}`);
}

/* ------------------------------------------------------------------ load */

function oneCannon(t, connections, seconds, latencies) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ ...t, connections, duration: seconds, pipelining: 1, timeout: 10 }, (error, result) => (error ? reject(error) : resolve(result)));
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status <= 299) latencies.push(ms);
    });
  });
}

/**
 * One row: autocannon against every URL at once (connections split evenly), for `seconds`.
 * CPU is read from /proc before and after: Warden's processes, Postgres, Redis, the tool service,
 * this process, and the whole machine.
 */
async function measure(kind, urls, seconds, cpuSources) {
  const runId = randomUUID().slice(0, 8);
  const per = Math.max(1, Math.round(CONNECTIONS / urls.length));
  const latencies = [];
  const before = Object.fromEntries(Object.entries(cpuSources).map(([k, f]) => [k, f()]));
  const busy0 = machineBusySeconds();
  const self0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(urls.map((u, i) => oneCannon(target(kind, u, `${runId}-${i}`), per, seconds, latencies)));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const self = process.cpuUsage(self0);
  const cpu = Object.fromEntries(Object.entries(cpuSources).map(([k, f]) => [k, f() - before[k]]));
  cpu.loadgen = (self.user + self.system) / 1e6;
  const busy = machineBusySeconds() - busy0;
  cpu.other = Math.max(0, busy - Object.values(cpu).filter(Number.isFinite).reduce((a, b) => a + b, 0));
  const ok = results.reduce((a, r) => a + r['2xx'], 0);
  const sorted = Float64Array.from(latencies).sort();
  return {
    kind,
    connections: per * urls.length,
    seconds: wall,
    ok,
    rps: ok / wall,
    non2xx: results.reduce((a, r) => a + r.non2xx, 0),
    errors: results.reduce((a, r) => a + r.errors, 0),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpu,
    machineBusy: busy / wall,
  };
}

/** Waits until the machine is idle (< 15% of one core busy over 2 s), at most QUIET_WAIT seconds. Returns the seconds waited. */
async function quietGate() {
  const t0 = Date.now();
  while (Date.now() - t0 < QUIET_WAIT * 1000) {
    const b0 = machineBusySeconds();
    await sleep(2_000);
    if ((machineBusySeconds() - b0) / 2 < 0.15) break;
  }
  return (Date.now() - t0) / 1000;
}

/* ------------------------------------------------------------------ main */

async function main() {
  const started = Date.now();
  const cpus = os.cpus();
  const loadBefore = os.loadavg();
  const tools = spawnNode([TOOL_SERVER, '0'], /(http:\/\/127\.0\.0\.1:\d+)/, 'tool service');
  const toolsUrl = await tools.ready;
  const toolsPid = tools.child.pid;

  const privateServers = !env.BENCH_POSTGRES_URL && canRunPrivatePostgres();
  let postgres;
  let redis;
  if (privateServers) {
    log('starting a private PostgreSQL cluster and a private redis-server…');
    postgres = await startPrivatePostgres();
    redis = await startPrivateRedis();
  } else {
    postgres = { url: env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test', cpu: () => NaN, version: 'shared server', close: async () => {} };
    redis = { url: env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', cpu: () => NaN, version: 'shared server', close: async () => {} };
  }

  const setups = [{ name: 'SQLite', storage: 'sqlite', processes: 1 }];
  for (const n of PROCESSES) setups.push({ name: 'Postgres + Redis', storage: 'postgres', processes: n });
  if (WORKERS > 1) setups.push({ name: `Postgres + Redis, \`--workers ${WORKERS}\``, storage: 'postgres', processes: WORKERS, workers: WORKERS });

  const rows = [];
  const checks = [];
  const schemas = [];
  try {
    for (const setup of setups) {
      const tag = `b_${randomUUID().slice(0, 8)}`;
      const pgSetup = setup.storage === 'postgres';
      if (pgSetup) schemas.push(tag);
      const { dir, file } = writeConfig(toolsUrl, pgSetup ? `${postgres.url}?schema=${tag}` : undefined, pgSetup ? { url: redis.url, prefix: `${tag}:` } : undefined);
      log(`\n${setup.name}, ${setup.processes} process${setup.processes === 1 ? '' : 'es'}${setup.workers ? ' (--workers)' : ''}`);
      const s = await startSetup(setup, file);
      try {
        await sanityCheck(s.urls[0]);
        const cpuSources = {
          warden: () => s.pids().reduce((a, pid) => a + cpuSeconds(pid), 0),
          postgres: pgSetup ? () => postgres.cpu() : () => 0,
          redis: pgSetup ? () => redis.cpu() : () => 0,
          tools: () => cpuSeconds(toolsPid),
        };
        for (const kind of TARGETS) {
          log(`  ${LABEL[kind]}: ${WARMUP} s warm-up + ${DURATION} s, ${CONNECTIONS} connections over ${s.urls.length} URL${s.urls.length === 1 ? '' : 's'}`);
          let r;
          const attempts = [];
          for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
            const waited = await quietGate();
            if (WARMUP > 0) await measure(kind, s.urls, WARMUP, cpuSources);
            const m = await measure(kind, s.urls, DURATION, cpuSources);
            attempts.push({ waited, other: m.cpu.other / m.seconds, rps: m.rps });
            if (!r || m.cpu.other / m.seconds < r.cpu.other / r.seconds) r = m;
            if (m.cpu.other / m.seconds <= NOISE) break;
            log(`    other work took ${Math.round((100 * m.cpu.other) / m.seconds)}% of a core during the row (${fmtInt(m.rps)}/s): measuring again`);
          }
          r.attempts = attempts;
          r.setup = setup;
          r.wardenProcesses = s.pids().length;
          rows.push(r);
          log(`    ${fmtInt(r.rps)}/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, non-2xx ${r.non2xx}, errors ${r.errors}; Warden ${fmtInt((1e6 * r.cpu.warden) / r.ok)} µs/request`);
        }
        // The chain verifies after all that (every replica wrote to the one log).
        const verify = await (await fetch(`${s.urls[0]}/v1/audit/verify`, { headers: { authorization: `Bearer ${DEMO.tokens.admin}` } })).json();
        checks.push({ setup, ok: verify.ok === true, checked: verify.checked, breaks: verify.breakCount });
      } finally {
        for (const p of s.procs) await stopProcess(p);
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await stopProcess(tools);
    if (!privateServers) {
      // Shared servers: drop what the benchmark made.
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect().then(async () => {
        for (const sch of schemas) await client.query(`DROP SCHEMA IF EXISTS "${sch}" CASCADE`);
        await client.end();
      }).catch((e) => log(`could not drop the benchmark's schemas: ${e.message}`));
    }
    await postgres.close();
    await redis.close();
  }

  /* ------------------------------------------------------------------ report */

  const find = (kind, storage, processes, workers) => rows.find((r) => r.kind === kind && r.setup.storage === storage && r.setup.processes === processes && !r.setup.workers === !workers);
  const pct = (cpuSec, r) => `${Math.round((100 * cpuSec) / r.seconds)}%`;
  const us = (cpuSec, r) => (Number.isFinite(cpuSec) ? fmtInt((1e6 * cpuSec) / r.ok) : '—');
  const mark = (ok) => (ok ? 'PASS' : 'FAIL');

  const header = [
    '# Warden scale benchmark: SQLite, and 1–3 processes on Postgres + Redis',
    '',
    `Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${os.platform()} ${os.release()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; ` +
      `load average before the run ${loadBefore.map((x) => x.toFixed(2)).join(' / ')} (1 / 5 / 15 min). Date: ${new Date(started).toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    `Software: Warden ${versionOf('warden')} (dist/, \`warden serve --log-level warn\`), PostgreSQL ${postgres.version}${privateServers ? ' (a private cluster made for the run: initdb, stock settings, fsync and synchronous_commit on)' : ''}, ` +
      `Redis ${redis.version}${privateServers ? ' (a private redis-server, no persistence)' : ''}, pg ${versionOf('pg')}, ioredis ${versionOf('ioredis')}, better-sqlite3 ${versionOf('better-sqlite3')}, autocannon ${versionOf('autocannon')}.`,
    'Setup: the demo config (examples/warden.yaml, the example policies) as bench/http uses it, with one agent rate limit of 10^9 per minute (the limiter runs on every tool call, in memory on SQLite and in Redis on Postgres, and never refuses); decision cache off; `audit.durable_reads: false`. ' +
      'Each setup starts fresh: its own SQLite file, or its own Postgres schema (migrated at start) and Redis key prefix.',
    `Load: autocannon in this process, pipelining 1, ${CONNECTIONS} connections in all, split evenly over the Warden processes, each process loaded directly on its own port (what an L4 load balancer does; no proxy burns CPU here), ` +
      `except the \`--workers\` row: one port, node:cluster hands connections to the workers. Before each row the run waits (up to ${QUIET_WAIT} s) for the machine to be idle; ${WARMUP} s discarded warm-up, then ${DURATION} s per row; ` +
      `a row during which other work took more than ${Math.round(NOISE * 100)}% of a core is measured again (up to ${ATTEMPTS} times in all) and the quietest kept. ` +
      '`POST /v1/decisions`: bench/http\'s body (support-agent asks about read_orders with {"limit":10}, API key). `POST /v1/tools/call`: read_orders, a fresh request_id each (the replay guard: in memory + SQLite journal, or Redis), executed by the example tool service.',
    'CPU: user+system time from /proc over the row. "Warden µs per request" = the Warden processes\' CPU time summed ÷ 2xx answers (the goal\'s measure). Postgres: the whole private cluster (postmaster, backends, background writers); Redis: the redis-server. ' +
      '"other": the rest of the machine\'s busy time (kernel, other processes).',
    '',
  ];

  const table = [
    '| setup | Warden processes | endpoint | connections | requests/s | p50 ms | p99 ms | non-2xx / errors | CPU Warden / Postgres / Redis / tools / loadgen / other | Warden µs per request | + Postgres + Redis µs per request | vs SQLite (Warden µs per request) | requests/s per process vs 1 process |',
    '|---|---:|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const anchor = find(r.kind, 'sqlite', 1);
    const onePg = find(r.kind, 'postgres', 1);
    const perWarden = r.cpu.warden / r.ok;
    const ratio = anchor ? perWarden / (anchor.cpu.warden / anchor.ok) : NaN;
    const scale = r.setup.storage === 'postgres' && onePg ? r.rps / r.setup.processes / onePg.rps : NaN;
    table.push(
      `| ${r.setup.name} | ${r.setup.processes}${r.setup.workers ? ` (+ primary)` : ''} | ${LABEL[r.kind]} | ${r.connections} | ${fmtInt(r.rps)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.non2xx} / ${r.errors} | ` +
        `${pct(r.cpu.warden, r)} / ${r.setup.storage === 'postgres' ? `${pct(r.cpu.postgres, r)} / ${pct(r.cpu.redis, r)}` : '— / —'} / ${pct(r.cpu.tools, r)} / ${pct(r.cpu.loadgen, r)} / ${pct(r.cpu.other, r)} | ` +
        `${us(r.cpu.warden, r)} | ${r.setup.storage === 'postgres' ? us(r.cpu.warden + r.cpu.postgres + r.cpu.redis, r) : us(r.cpu.warden, r)} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '—'} | ${Number.isFinite(scale) ? `${scale.toFixed(2)}x` : '—'} |`,
    );
  }

  const goals = [];
  for (const kind of TARGETS) {
    const anchor = find(kind, 'sqlite', 1);
    const one = find(kind, 'postgres', 1);
    if (anchor && one) {
      const ratio = one.cpu.warden / one.ok / (anchor.cpu.warden / anchor.ok);
      const withServers = (one.cpu.warden + one.cpu.postgres + one.cpu.redis) / one.ok / (anchor.cpu.warden / anchor.ok);
      goals.push(
        `- ${mark(ratio <= 1.5)} ${LABEL[kind]}: Warden CPU per request on Postgres + Redis (1 process) ≤ 1.5x SQLite's: ${us(one.cpu.warden, one)} µs vs ${us(anchor.cpu.warden, anchor)} µs = ${ratio.toFixed(2)}x` +
          `${Number.isFinite(withServers) ? ` (with Postgres's and Redis's own CPU counted too: ${withServers.toFixed(2)}x)` : ''}`,
      );
    }
    for (const n of PROCESSES.filter((p) => p > 1)) {
      const cur = find(kind, 'postgres', n);
      const prev = find(kind, 'postgres', n - 1);
      if (!cur || !prev || !one) continue;
      const added = (cur.rps - prev.rps) / one.rps;
      // What this machine's cores allow at all: every process in the test (Warden, Postgres,
      // Redis, the tool service, the load generator) costs this much CPU per request at 1 process.
      const allPerRequest = (one.cpu.warden + one.cpu.postgres + one.cpu.redis + one.cpu.tools + one.cpu.loadgen) / one.ok;
      const ceiling = Math.min(n * one.rps, cpus.length / allPerRequest);
      goals.push(
        `- ${mark(added >= 0.8)} ${LABEL[kind]}: process ${n} adds ≥ 0.8x of the first process's throughput: ${fmtInt(prev.rps)}/s → ${fmtInt(cur.rps)}/s, ${cur.rps >= prev.rps ? '+' : '−'}${fmtInt(Math.abs(cur.rps - prev.rps))}/s = ${added.toFixed(2)}x of ${fmtInt(one.rps)}/s. ` +
          `Ceiling on these ${cpus.length} cores: everything in the test costs ${fmtInt(allPerRequest * 1e6)} µs of CPU per request at 1 process, so ${cpus.length} cores give at most ${fmtInt(cpus.length / allPerRequest)}/s ` +
          `(${(cpus.length / allPerRequest / one.rps).toFixed(2)}x one process); ${n} processes reached ${Math.round((100 * cur.rps) / ceiling)}% of min(${n} × ${fmtInt(one.rps)}, ${fmtInt(cpus.length / allPerRequest)})/s`,
      );
    }
  }

  const chain = ['| setup | Warden processes | chain after the run (`GET /v1/audit/verify`) | records checked |', '|---|---:|---|---:|'];
  for (const c of checks) chain.push(`| ${c.setup.name} | ${c.setup.processes} | ${c.ok ? 'intact' : `NOT OK (${c.breaks} breaks)`} | ${fmtInt(c.checked)} |`);

  const busiest = rows.reduce((m, r) => Math.max(m, r.machineBusy), 0);
  const notes = [
    `This machine has ${cpus.length} cores, shared by everything in the table: the Warden processes, PostgreSQL, Redis, the tool service and the load generator. ` +
      `The machine was ${Math.round(100 * busiest)}% busy (of ${cpus.length * 100}%) in the busiest row: past ${cpus.length === 2 ? 'two processes' : `${cpus.length} processes`}, more Warden processes only share the same cores, so throughput per added process falls whatever the design. ` +
      'CPU per request is the measure that carries over to a bigger machine: with a core per Warden process (and Postgres and Redis on their own hosts), throughput grows by one process\'s throughput per process until Postgres (one decision-log insert per request, group-committed) or Redis (one round trip per check) saturates.',
    'Closed loop: each connection sends its next request when the answer arrives, so p50 at N connections is mostly queueing (p50 ≈ connections ÷ requests/s).',
    ...(() => {
      const retried = rows.filter((r) => r.attempts.length > 1);
      return retried.length
        ? [
            `Measured again because other work disturbed them: ${retried
              .map((r) => `${r.setup.name} ×${r.setup.processes} ${r.kind} (${r.attempts.map((a) => `${fmtInt(a.rps)}/s with ${Math.round(100 * a.other)}% other`).join(', ')})`)
              .join('; ')}. The table keeps the quietest.`,
          ]
        : [];
    })(),
    ...(() => {
      const noisy = rows.filter((r) => r.cpu.other / r.seconds > 0.2);
      return noisy.length
        ? [
            `Other work on the machine took more than 20% of a core during ${noisy.length} of ${rows.length} rows (${noisy.map((r) => `${r.setup.name} ×${r.setup.processes} ${r.kind}: ${pct(r.cpu.other, r)}`).join('; ')}): ` +
              'those rows competed for the cores with it; their requests/s are depressed and their CPU per request inflated (cache and scheduler effects). Re-run on a quiet machine to compare.',
          ]
        : [];
    })(),
    `Run time ${Math.round((Date.now() - started) / 1000)} s; load average after ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}.`,
  ];

  const report = [...header, '## Results', '', ...table, '', '## Goals (reported, not asserted)', '', ...goals, '', '## The decision log after each setup', '', ...chain, '', '## Notes', '', ...notes.map((n) => `- ${n}`), ''].join('\n');
  console.log(report);
  writeFileSync(join(here, 'results.md'), `${report}\n`);
  log(`\nwritten ${join(here, 'results.md')}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
