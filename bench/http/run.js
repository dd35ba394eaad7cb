/**
 * HTTP benchmark: autocannon against a real `warden serve` process (SQLite decision log, the
 * example policies and config) on `POST /v1/decisions` and `POST /v1/tools/call` (read_orders,
 * executed by the example HTTP tool service), and, in the same run, the same tool called
 * directly, so the gateway's overhead is the difference between the two.
 *
 *   npm run bench:http           (builds, then node bench/http/run.js)
 *
 * Environment knobs (optional): BENCH_DURATION=10 (seconds per measured row), BENCH_WARMUP=2
 * (seconds of discarded load before each row), BENCH_FIRST_WARMUP=5 (the same, for the first row
 * of each freshly started gateway), BENCH_CONNECTIONS=32,8 (a decisions, tool-call and direct row
 * per count; the first count also gets the cache-off and profile passes), BENCH_SERIAL=1 (0 drops
 * the 1-connection rows, 5 s each), BENCH_PROFILE=1 (0 skips the CPU-profile pass),
 * BENCH_PROFILE_S=8, BENCH_PROFILE_TARGET=toolsCall (or decisions: the profiled endpoint),
 * BENCH_TELEMETRY=1 (adds passes O and T, below: the cost of OpenTelemetry tracing and metrics),
 * BENCH_CACHE_PASS=1 (0 skips pass B), BENCH_ANCHORS=1 (0 skips pass F), BENCH_REQUESTS=N (each
 * measured row sends N requests instead of lasting BENCH_DURATION, and each warm-up N/2: on a
 * busy machine a row of fixed duration gets few requests, the JIT is still cold and the CPU per
 * request is not comparable between runs; a fixed count keeps it so).
 *
 * Three processes, so that nothing shares an event loop: this one (the load generator:
 * autocannon, pipelining 1), the gateway (`node dist/surfaces/cli/main.js serve`, spawned with a config
 * made by demoConfig from examples/warden.yaml, rate and session limits removed so the bench
 * measures the pipeline and not 429s) and the example tool service
 * (`node examples/tools/tool-server.mjs`). Passes, each a fresh gateway with its own SQLite file:
 *   A. decision cache as examples/warden.yaml sets it: tools/call, direct and decisions rows per
 *      connection count;
 *   F. the anchors (bench/http/anchors.js, each its own process), right after A, with the body of
 *      A's decisions rows at the first connection count: "bare" fastify (parses the body, sends the
 *      bytes of the decision Warden answered: same body and response size) and the "floor"
 *      (fastify + parse + PDP + chain link + batched SQLite insert). Their CPU µs per request are
 *      the yardsticks of the decisions rows: every run prints the ratios. Then the "tool-call
 *      floor": the floor plus the call to the same tool service, loaded like A's tools/call row:
 *      its requests/s ÷ direct is what a gateway that only decides, calls and records reaches;
 *   B. the decision cache flipped (off if the example has it on, else on with ttl 2s): tools/call
 *      at the first connection count, on a fresh gateway like A's first row;
 *   P. (BENCH_PROFILE) as A, gateway under --cpu-prof, tools/call load: top self-time functions
 *      over the measured seconds only.
 *   O, T. (BENCH_TELEMETRY) tools/call then decisions at the first connection count, each on a
 *      fresh gateway with the same plan: O with telemetry off (the default), T with `telemetry:`
 *      on (traces at sample_ratio 1 and metrics every 10 s, OTLP/HTTP to a collector endpoint in
 *      this process that counts what it receives and answers 200).
 * Zero lost: before stopping a gateway its own count of handled requests is read from
 * GET /metrics (warden_decisions_total); then SIGTERM (it finishes requests and writes the
 * decision log) and `warden audit verify` counts the records. Both are compared with what the
 * load generator sent and got back: every request Warden handled must have left one record.
 *
 * Latency: autocannon's own histogram keeps whole milliseconds (sub-millisecond responses read
 * as 0), so each response's exact time (its 'response' event, hrtime-based) is kept here and
 * p50/p99 are computed from those, 2xx only (as autocannon does). Requests/s is autocannon's
 * per-second mean. CPU columns: user+system time of each process over the row, as a share of one
 * core (/proc, Linux only).
 *
 * Output: Markdown on stdout, also written to bench/http/results.md. Progress goes to stderr.
 */
import { spawn, execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import autocannon from 'autocannon';
import { parse, stringify } from 'yaml';

import { DEMO, demoConfig } from '../../dist/surfaces/cli/commands/demo.js';
import { parseDuration } from '../../dist/lib/duration.js';
import { fmtInt, percentile, versionOf } from '../common.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const env = process.env;

const DURATION = Number(env.BENCH_DURATION ?? 10);
const WARMUP = Number(env.BENCH_WARMUP ?? 2);
/** Warm-up of the first row of each pass (a freshly started gateway). */
const FIRST_WARMUP = Number(env.BENCH_FIRST_WARMUP ?? 5);
const CONNECTIONS = (env.BENCH_CONNECTIONS ?? '32,8').split(',').map(Number);
const SERIAL = env.BENCH_SERIAL !== '0';
const PROFILE = env.BENCH_PROFILE !== '0';
const PROFILE_S = Number(env.BENCH_PROFILE_S ?? 8);
const PROFILE_TARGET = env.BENCH_PROFILE_TARGET === 'decisions' ? 'decisions' : 'toolsCall';
const TELEMETRY = env.BENCH_TELEMETRY === '1';
const CACHE_PASS = env.BENCH_CACHE_PASS !== '0';
const ANCHORS = env.BENCH_ANCHORS !== '0';
const REQUESTS = Number(env.BENCH_REQUESTS ?? 0);

const MAIN = join(root, 'dist/surfaces/cli/main.js');
const TOOL_SERVER = join(root, 'examples/tools/tool-server.mjs');
const ANCHOR_SERVER = join(here, 'anchors.js');
const AGENT = 'support-agent';
const KEY = DEMO.keys[AGENT];
const TOOL_ARGS = { limit: 10 };

const log = (...a) => console.error(...a);
const execFileP = promisify(execFile);

/* ------------------------------------------------------------------ processes */

/** Spawns a node process and resolves with the first match of `pattern` on its stdout or stderr. */
function spawnNode(args, pattern, { extraEnv = {}, label }) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = [];
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    let found = false;
    const onData = (chunk) => {
      // Always drained: a full pipe would stall the child.
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
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

async function stopProcess(proc, label) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log(`${label} did not exit 20 s after SIGTERM; SIGKILL`);
    proc.child.kill('SIGKILL');
  }, 20_000);
  const result = await proc.exited;
  clearTimeout(timer);
  return result;
}

/** user+system CPU seconds of a process so far (Linux /proc), or NaN. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** CPU seconds the whole machine spent busy so far (all cores, steal included; Linux /proc), or NaN. */
function machineBusySeconds() {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return NaN;
  }
}

/** The decision cache TTL examples/warden.yaml sets ('0s' when it sets none: the default). */
function exampleCacheTtl() {
  const example = parse(readFileSync(join(root, 'examples/warden.yaml'), 'utf8'));
  return String(example?.decision_cache?.ttl ?? '0s');
}

const cacheIsOn = (ttl) => (parseDuration(ttl) ?? 0) > 0;

/**
 * A gateway config: the demo config, rate and session limits removed, the given decision cache
 * TTL; with `otlpEndpoint`, telemetry on (every trace sampled, metrics every 10 s) to it. Its MCP
 * upstreams are dropped: their commands are relative to the example folder, so from the temp
 * folder they could not start and the gateway would respawn them for the whole run.
 */
function writeConfig(toolsUrl, cacheTtl, otlpEndpoint) {
  const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-http-'));
  const file = demoConfig(dir, toolsUrl);
  const config = parse(readFileSync(file, 'utf8'));
  config.limits = { rate: [], session: {} };
  delete config.upstreams;
  config.decision_cache = { max_entries: 10_000, ...config.decision_cache, ttl: cacheTtl };
  if (otlpEndpoint) config.telemetry = { otlp: { endpoint: otlpEndpoint }, traces: { enabled: true, sample_ratio: 1 }, metrics: { enabled: true, interval: '10s' } };
  writeFileSync(file, stringify(config));
  return { dir, file, config };
}

async function startGateway(configFile, nodeArgs = []) {
  const proc = spawnNode([...nodeArgs, MAIN, 'serve', '--config', configFile, '--port', '0', '--log-level', 'warn'], /serving on (http:\/\/[^\s]+)/, { label: 'warden serve' });
  proc.url = await proc.ready;
  return proc;
}

/** The sum of warden_decisions_total over all its labels, from GET /metrics. */
async function handledCount(gatewayUrl) {
  try {
    const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
    let sum = 0;
    for (const m of text.matchAll(/^warden_decisions_total(?:\{[^}]*\})? (\S+)$/gm)) sum += Number(m[1]);
    return sum;
  } catch {
    return NaN;
  }
}

async function auditRecordCount(configFile) {
  try {
    const { stdout } = await execFileP(process.execPath, [MAIN, 'audit', 'verify', '--config', configFile], { cwd: root });
    const m = /ok: (\d+) records/.exec(stdout);
    return { ok: Boolean(m), records: m ? Number(m[1]) : NaN, output: stdout.trim() };
  } catch (error) {
    return { ok: false, records: NaN, output: `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || error.message };
  }
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

/** The three targets. Tool calls carry a fresh request_id each (the replay guard refuses repeats). */
function targets(gatewayUrl, toolsUrl) {
  const runId = randomUUID().slice(0, 8);
  let seq = 0;
  return {
    decisions: {
      url: `${gatewayUrl}/v1/decisions`,
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${KEY}` },
      body: decisionBody,
    },
    toolsCall: {
      url: `${gatewayUrl}/v1/tools/call`,
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${KEY}` },
      requests: [
        {
          method: 'POST',
          path: '/v1/tools/call',
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({ agent_id: AGENT, request_id: `bench-${runId}-${++seq}`, tool: 'read_orders', arguments: TOOL_ARGS }),
          }),
        },
      ],
    },
    // What Warden itself sends the tool (src/upstream/http-tool.ts): same body, token, headers.
    direct: {
      url: `${toolsUrl}/tools/read_orders`,
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${DEMO.toolsToken}`, 'x-warden-request-id': 'bench-direct', 'x-warden-agent': AGENT },
      body: JSON.stringify(TOOL_ARGS),
    },
  };
}

/** The first decision Warden answered in this run: what the bare anchor sends back (same size). */
let decisionResponse;

/** One request of each kind, checked, before any load: a benchmark of 4xx answers is worthless. */
async function sanityCheck(t) {
  const post = async (target, body) => {
    const res = await fetch(target.url, { method: 'POST', headers: target.headers, body });
    return { status: res.status, body: await res.json() };
  };
  const d = await post(t.decisions, t.decisions.body);
  decisionResponse ??= JSON.stringify(d.body);
  if (d.status !== 200 || d.body.effect !== 'allow') throw new Error(`POST /v1/decisions answered ${d.status}: ${JSON.stringify(d.body)}`);
  const c = await post(t.toolsCall, JSON.stringify({ agent_id: AGENT, request_id: `bench-check-${randomUUID()}`, tool: 'read_orders', arguments: TOOL_ARGS }));
  if (c.status !== 200 || c.body.status !== 'executed') throw new Error(`POST /v1/tools/call answered ${c.status}: ${JSON.stringify(c.body)}`);
  if (!JSON.stringify(c.body.result).includes('[REDACTED]')) throw new Error('the tool-call result was not redacted: the obligations did not run');
  const x = await post(t.direct, t.direct.body);
  if (x.status !== 200 || !Array.isArray(x.body.orders)) throw new Error(`the tool service answered ${x.status}: ${JSON.stringify(x.body)}`);
  return { sent: 2, responses: 2, rule: d.body.rule, policy: d.body.policy };
}

/* ------------------------------------------------------------------ load */

/**
 * One autocannon run. Counts what was sent (each client's 'request' event) and every response
 * by status, and keeps the exact latency of each 2xx response.
 */
function cannon(target, connections, seconds, pids) {
  return new Promise((resolve, reject) => {
    let latencies = new Float64Array(1 << 16);
    let n = 0;
    let sent = 0;
    let responses = 0;
    const cpu0 = pids.map(cpuSeconds);
    const busy0 = machineBusySeconds();
    const self0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const instance = autocannon(
      {
        ...target,
        connections,
        ...(REQUESTS > 0 ? { amount: seconds === 'warmup' ? Math.ceil(REQUESTS / 2) : REQUESTS } : { duration: seconds }),
        pipelining: 1,
        timeout: 10,
        setupClient: (client) => client.on('request', () => sent++),
      },
      (error, result) => {
        if (error) return reject(error);
        const t1 = process.hrtime.bigint();
        const wall = Number(t1 - t0) / 1e9;
        const self = process.cpuUsage(self0);
        const busy = (machineBusySeconds() - busy0) / wall;
        const sorted = latencies.subarray(0, n).sort();
        const gatewayCpu = pids[0] ? (cpuSeconds(pids[0]) - cpu0[0]) / wall : NaN;
        const toolsCpu = pids[1] ? (cpuSeconds(pids[1]) - cpu0[1]) / wall : NaN;
        const loadgenCpu = (self.user + self.system) / 1e6 / wall;
        resolve({
          connections,
          seconds,
          // With a fixed request count the last second is partial: requests ÷ wall time instead.
          rps: REQUESTS > 0 ? result.requests.total / wall : result.requests.average,
          total: result.requests.total,
          sent,
          responses,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes: result.statusCodeStats,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          max: sorted[n - 1],
          samples: n,
          window: { start: Number(t0 / 1000n), end: Number(t1 / 1000n) },
          cpu: {
            gateway: gatewayCpu,
            tools: toolsCpu,
            loadgen: loadgenCpu,
            // Everything else on the machine (other processes, the kernel's own threads, steal).
            other: Math.max(0, busy - (Number.isFinite(gatewayCpu) ? gatewayCpu : 0) - (Number.isFinite(toolsCpu) ? toolsCpu : 0) - loadgenCpu),
          },
        });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      responses++;
      if (status < 200 || status > 299) return;
      if (n === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[n++] = ms;
    });
  });
}

/** A discarded warm-up run, then the measured one. Both count towards the audit tally. */
async function row(label, target, connections, pids, tally, seconds = DURATION, warmup = WARMUP) {
  log(`  ${label}, ${connections} connection${connections === 1 ? '' : 's'}: ${warmup} s warm-up + ${seconds} s`);
  if (warmup > 0) {
    const w = await cannon(target, connections, REQUESTS > 0 ? 'warmup' : warmup, pids);
    if (tally) {
      tally.sent += w.sent;
      tally.responses += w.responses;
    }
  }
  const r = await cannon(target, connections, seconds, pids);
  if (tally) {
    tally.sent += r.sent;
    tally.responses += r.responses;
  }
  log(`    ${fmtInt(r.rps)} req/s, p50 ${fmtMs(r.p50)} ms, p99 ${fmtMs(r.p99)} ms, non-2xx ${r.non2xx}, errors ${r.errors}, ` +
    `CPU gateway ${fmtPct(r.cpu.gateway)} tools ${fmtPct(r.cpu.tools)} loadgen ${fmtPct(r.cpu.loadgen)} other ${fmtPct(r.cpu.other)}`);
  return { label, ...r };
}

/* ------------------------------------------------------------------ profile */

function shortUrl(url) {
  if (!url) return '';
  let path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(root)) path = relative(root, path);
  return path.replace(/^node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '~/');
}

/** Where a profile frame comes from, for the rollup. */
function bucketOf(url, name) {
  if (!url) return name.startsWith('(') ? name : '(native / V8 builtins)';
  const path = shortUrl(url);
  // dist/<layer>, or dist/surfaces/<surface> (http, mcp, …): the folders of docs/architecture.md.
  if (path.startsWith('dist/')) return `warden ${path.split('/').slice(0, path.startsWith('dist/surfaces/') ? 3 : 2).join('/')}`;
  if (path.startsWith('~/')) {
    const parts = path.slice(2).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (path.startsWith('node:')) return path.startsWith('node:internal/deps/undici') ? 'node: undici (fetch)' : `node: ${path.replace(/^node:(internal\/)?/, '').split('/')[0]}`;
  return path;
}

/**
 * What a tool call's main-thread time is spent on. Each sample goes to the first concern with a
 * frame on its stack (so the order matters: a secret read inside the fetch setup is a secret read).
 */
const CONCERNS = [
  ['reading the tool\'s secret from its file (secrets.js, fs/promises readFile)', (u) => u.includes('dist/upstream/secrets.js') || u.startsWith('node:internal/fs/promises')],
  ['calling the tool: fetch (http-tool.js, undici, web streams)', (u) => u.includes('dist/upstream/http-tool.js') || u.includes('undici') || u.includes('webstreams')],
  ['decision log: hash chain and SQLite insert (decision-log.js)', (u) => u.includes('dist/audit/decision-log.js')],
  ['building the decision record (audit-record.js: redaction, ids)', (u) => u.includes('dist/enforcement/audit-record.js')],
  ['authenticate: API key, replay guard', (u) => u.includes('dist/enforcement/stages/authenticate.js') || u.includes('dist/enforcement/replay-guard.js') || u.includes('dist/auth/')],
  [
    'other pipeline stages, PDP, obligations',
    (u) => u.includes('dist/enforcement/') || u.includes('dist/services/') || u.includes('dist/policy/') || u.includes('dist/store/') || u.includes('dist/upstream/tool-registry.js') || u.includes('dist/lib/'),
  ],
  ['HTTP: fastify routing, body parsing, reply, node:http, sockets', (u) => u.includes('fastify') || u.includes('dist/surfaces/http/') || u.startsWith('node:_http') || u.startsWith('node:net') || u.includes('stream')],
];

/**
 * Self time per function from a .cpuprofile, only for samples taken inside `window` (monotonic
 * µs: V8's profile clock and process.hrtime are both CLOCK_MONOTONIC, so the load generator's
 * timestamps select the measured row and leave start-up, warm-up and shutdown out). Each function
 * also gets its main caller: the nearest enclosing frame in Warden's own code (dist/) or a
 * dependency, which is what names the work behind a native or node-internal frame.
 */
function summariseProfile(file, window) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const keyOf = (frame) => {
    const name = frame.functionName || '(anonymous)';
    return frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1} ${name}` : name;
  };
  const ownCode = (frame) => frame.url && !frame.url.startsWith('node:');
  const callerOf = (id) => {
    let nearest = '';
    for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p)) {
      const frame = byId.get(p).callFrame;
      if (ownCode(frame)) return keyOf(frame);
      if (!nearest && frame.url) nearest = keyOf(frame);
    }
    // No Warden or dependency frame above it (a callback or continuation): the nearest JS frame.
    return nearest;
  };

  const selfUs = new Map();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (window && (t < window.start || t > window.end)) continue;
    const id = profile.samples[i];
    // A sample's time is the gap to the next one (the profiler's own convention).
    const us = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  }
  const fns = new Map();
  const buckets = new Map();
  const inclusive = new Map();
  const concerns = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    // Inclusive time of Warden's functions: each sample counts once for every distinct dist/
    // function on its stack (recursion counted once).
    const seen = new Set();
    const urls = [];
    for (let q = id; q !== undefined; q = parentOf.get(q)) {
      const frame = byId.get(q).callFrame;
      if (frame.url) urls.push(shortUrl(frame.url));
      if (!frame.url || !shortUrl(frame.url).startsWith('dist/')) continue;
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
    const frame = byId.get(id).callFrame;
    const name = frame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const concern =
      name === '(garbage collector)' ? 'garbage collection' : (CONCERNS.find(([, test]) => urls.some((u) => test(u)))?.[0] ?? 'the rest (V8, microtask and timer plumbing)');
    concerns.set(concern, (concerns.get(concern) ?? 0) + us);
    const key = keyOf(frame);
    const entry = fns.get(key) ?? { us: 0, callers: new Map() };
    entry.us += us;
    if (!ownCode(frame) && !name.startsWith('(')) {
      const caller = callerOf(id);
      entry.callers.set(caller, (entry.callers.get(caller) ?? 0) + us);
    }
    fns.set(key, entry);
    const bucket = bucketOf(frame.url, name);
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us);
  }
  const functions = [...fns]
    .sort((a, b) => b[1].us - a[1].us)
    .slice(0, 15)
    .map(([key, { us, callers }]) => {
      const top = [...callers].sort((a, b) => b[1] - a[1])[0];
      return { key, us, caller: top && top[0] ? { key: top[0], share: top[1] / us } : undefined };
    });
  const sorted = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);
  return { total, idle, functions, buckets: sorted(buckets, 12), inclusive: sorted(inclusive, 15), concerns: sorted(concerns, CONCERNS.length + 2) };
}

/* ------------------------------------------------------------------ formatting */

const fmtMs = (ms) => (Number.isFinite(ms) ? ms.toFixed(ms < 10 ? 3 : ms < 100 ? 2 : 1) : '—');
const fmtPct = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : '—');
const fmtSigned = (ms) => (Number.isFinite(ms) ? `${ms >= 0 ? '+' : '−'}${fmtMs(Math.abs(ms))}` : '—');
const mark = (ok) => (ok ? 'PASS' : 'FAIL');

/* ------------------------------------------------------------------ OTLP sink */

/**
 * A collector endpoint for pass T: accepts OTLP/HTTP exports, counts requests, bytes and spans
 * (occurrences of "spanId" that are not "parentSpanId"), and answers 200 as a collector does.
 */
async function startOtlpSink() {
  const received = { traces: { requests: 0, bytes: 0, spans: 0 }, metrics: { requests: 0, bytes: 0 } };
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const signal = req.url === '/v1/traces' ? received.traces : req.url === '/v1/metrics' ? received.metrics : undefined;
    if (signal) {
      signal.requests++;
      signal.bytes += Buffer.byteLength(body);
      if (signal === received.traces) signal.spans += (body.match(/"spanId"/g) ?? []).length;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    received,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))),
  };
}

/* ------------------------------------------------------------------ run */

async function pass(name, toolsUrl, toolsPid, cacheTtl, plan, nodeArgs = [], otlpEndpoint = undefined) {
  const { dir, file } = writeConfig(toolsUrl, cacheTtl, otlpEndpoint);
  log(`\n== pass ${name}: decision cache ttl ${cacheTtl}${otlpEndpoint ? `, telemetry on (OTLP to ${otlpEndpoint})` : ''}; config ${file}`);
  const gateway = await startGateway(file, nodeArgs);
  const t = targets(gateway.url, toolsUrl);
  const tally = { sent: 0, responses: 0 };
  const pids = [gateway.child.pid, toolsPid];
  const rows = [];
  let check;
  try {
    check = await sanityCheck(t);
    tally.sent += check.sent;
    tally.responses += check.responses;
    for (const [i, step] of plan.entries()) {
      // A fresh gateway's first row warms up longer, so every pass starts with its JIT equally warm.
      const warmup = i === 0 ? Math.max(WARMUP, FIRST_WARMUP) : WARMUP;
      const r = await row(step.label, t[step.target], step.connections, pids, step.target === 'direct' ? undefined : tally, step.seconds, warmup);
      rows.push({ pass: name, cache: cacheTtl, target: step.target, ...r });
    }
    // What Warden says it handled (warden_decisions_total counts every answered decision and
    // tool call), after the requests still in its hands have had time to finish.
    await new Promise((r) => setTimeout(r, 500));
    tally.handled = await handledCount(gateway.url);
  } finally {
    const exit = await stopProcess(gateway, 'warden serve');
    tally.exit = exit;
  }
  const audit = await auditRecordCount(file);
  log(`   audit verify: ${audit.output.split('\n')[0]}; sent ${fmtInt(tally.sent)}, handled ${fmtInt(tally.handled)}, responses ${fmtInt(tally.responses)}`);
  return { name, cacheTtl, dir, file, rows, tally, audit, check, gateway };
}

/**
 * Pass F: the bare and floor anchors (anchors.js), one after the other, each a fresh process
 * loaded like A's decisions row at `connections` (same body, same headers; the bare one answers
 * with the bytes of the decision Warden answered); then the tool-call floor, loaded like A's
 * tools/call row (fresh request ids) and calling the same tool service.
 */
async function anchorPass(connections, toolsUrl, toolsPid) {
  const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-anchors-'));
  const responseFile = join(dir, 'decision.json');
  writeFileSync(responseFile, decisionResponse ?? '{}');
  log(`\n== pass F: anchors (bare fastify, floor, tool-call floor), ${connections} connections`);
  const rows = [];
  for (const [kind, label] of [
    ['bare', 'anchor: bare fastify POST (same body and response size)'],
    ['floor', 'anchor: floor (fastify + parse + PDP + chain link + batched SQLite insert)'],
    ['toolfloor', 'anchor: tool-call floor (the floor + the call to the tool service over undici, its answer recorded)'],
  ]) {
    const proc = spawnNode([ANCHOR_SERVER, kind, responseFile, dir, toolsUrl], /anchor listening on (http:\/\/\S+)/, {
      extraEnv: { WARDEN_SECRET_TOOLS_TOKEN: DEMO.toolsToken },
      label: `anchor ${kind}`,
    });
    try {
      const url = await proc.ready;
      const tools = kind === 'toolfloor';
      const target = tools ? targets(url, toolsUrl).toolsCall : { url: `${url}/v1/decisions`, method: 'POST', headers: { ...json, authorization: `Bearer ${KEY}` }, body: decisionBody };
      const checkBody = tools ? JSON.stringify({ agent_id: AGENT, request_id: `bench-check-${randomUUID()}`, tool: 'read_orders', arguments: TOOL_ARGS }) : decisionBody;
      const res = await fetch(target.url, { method: 'POST', headers: target.headers, body: checkBody });
      const text = await res.text();
      const answer = JSON.parse(text);
      const ok = tools ? answer.status === 'executed' && Array.isArray(answer.result?.orders) : answer.effect === 'allow';
      if (res.status !== 200 || !ok) throw new Error(`anchor ${kind} answered ${res.status}: ${text}`);
      const pids = tools ? [proc.child.pid, toolsPid] : [proc.child.pid];
      const r = await row(label, target, connections, pids, undefined, DURATION, Math.max(WARMUP, FIRST_WARMUP));
      rows.push({ pass: 'F', target: kind, responseBytes: Buffer.byteLength(text), ...r });
    } finally {
      await stopProcess(proc, `anchor ${kind}`);
    }
  }
  return { name: 'F', dir, rows };
}

async function main() {
  const cpus = os.cpus();
  const loadBefore = os.loadavg();
  const started = Date.now();

  const tools = spawnNode([TOOL_SERVER, '0'], /^(http:\/\/\S+)$/, { extraEnv: { WARDEN_SECRET_TOOLS_TOKEN: DEMO.toolsToken }, label: 'tool server' });
  const toolsUrl = await tools.ready;
  const toolsPid = tools.child.pid;
  log(`tool server ${toolsUrl} (pid ${toolsPid})`);

  const EXAMPLE_TTL = exampleCacheTtl();
  const FLIPPED_TTL = cacheIsOn(EXAMPLE_TTL) ? '0s' : '2s';
  const cacheLabel = (ttl) => `${cacheIsOn(ttl) ? 'on' : 'off'} (ttl ${ttl})${ttl === EXAMPLE_TTL ? ', as the example' : ''}`;
  const first = CONNECTIONS[0];
  const planA = [];
  // Tool calls first: pass A's first tool-call row then starts, like pass B's, on a fresh gateway
  // and an empty log, so the two differ only in the decision cache.
  const rowsFor = (c, seconds) => [
    { label: 'POST /v1/tools/call (read_orders)', target: 'toolsCall', connections: c, seconds },
    { label: 'direct POST /tools/read_orders', target: 'direct', connections: c, seconds },
    { label: 'POST /v1/decisions', target: 'decisions', connections: c, seconds },
  ];
  for (const c of CONNECTIONS) planA.push(...rowsFor(c));
  if (SERIAL && !CONNECTIONS.includes(1)) planA.push(...rowsFor(1, Math.min(DURATION, 5)));
  const planB = [{ label: 'POST /v1/tools/call (read_orders)', target: 'toolsCall', connections: first }];

  const passes = [];
  let profile;
  const otlp = TELEMETRY ? await startOtlpSink() : undefined;
  try {
    passes.push(await pass('A', toolsUrl, toolsPid, EXAMPLE_TTL, planA));
    if (ANCHORS) passes.push(await anchorPass(first, toolsUrl, toolsPid));
    if (CACHE_PASS) passes.push(await pass('B', toolsUrl, toolsPid, FLIPPED_TTL, planB));
    if (PROFILE) {
      const profDir = mkdtempSync(join(os.tmpdir(), 'warden-bench-prof-'));
      const p = await pass('P', toolsUrl, toolsPid, EXAMPLE_TTL, [{ label: `${PROFILE_TARGET === 'decisions' ? 'POST /v1/decisions' : 'POST /v1/tools/call (read_orders)'}, under --cpu-prof`, target: PROFILE_TARGET, connections: first, seconds: PROFILE_S }], [
        '--cpu-prof',
        `--cpu-prof-dir=${profDir}`,
      ]);
      passes.push(p);
      // One file per thread: CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main one.
      const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
      const main = files.find((f) => /\.0\.\d+\.cpuprofile$/.test(f));
      const window = p.rows[0].window;
      profile = main
        ? {
            ...summariseProfile(join(profDir, main), window),
            file: join(profDir, main),
            row: p.rows[0],
            threads: files.filter((f) => f !== main).map((f) => summariseProfile(join(profDir, f), window).total),
          }
        : { missing: profDir };
    }
    if (otlp) {
      const planT = [
        { label: 'POST /v1/tools/call (read_orders)', target: 'toolsCall', connections: first },
        { label: 'POST /v1/decisions', target: 'decisions', connections: first },
      ];
      passes.push(await pass('O', toolsUrl, toolsPid, EXAMPLE_TTL, planT));
      passes.push(await pass('T', toolsUrl, toolsPid, EXAMPLE_TTL, planT, [], otlp.url));
    }
  } finally {
    await stopProcess(tools, 'tool server');
    await otlp?.close();
  }

  /* ---------------------------------------------------------------- report */

  const rows = passes.filter((p) => p.name !== 'P').flatMap((p) => p.rows);
  const find = (passName, target, c) => rows.find((r) => r.pass === passName && r.target === target && r.connections === c);
  const firstTools = find('A', 'toolsCall', first);
  const header = [
    '# Warden HTTP benchmark',
    '',
    `Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${os.platform()} ${os.release()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ` +
      `Node ${process.version}; load average before the run ${loadBefore.map((l) => l.toFixed(2)).join(' / ')} (1 / 5 / 15 min)`,
    `Software: Warden ${versionOf('warden')} (dist/, \`warden serve --log-level warn\`: fastify ${versionOf('fastify')}), ` +
      `better-sqlite3 ${versionOf('better-sqlite3')}, autocannon ${versionOf('autocannon')}`,
    'Setup: three processes on the same machine: this one (autocannon, the load generator), the gateway, and the example tool service ' +
      '(examples/tools/tool-server.mjs, plain node:http). Gateway config: demoConfig (examples/warden.yaml, the example policies, SQLite ' +
      'decision log in a temp folder, `audit.durable_reads: false`) with `limits: { rate: [], session: {} }` so no 429s; ' +
      'decision cache as stated per row.',
    `Requests: \`POST /v1/decisions\`: an ActionRequest for ${AGENT} on read_orders (\`args ${JSON.stringify(TOOL_ARGS)}\`), API key, same body every time. ` +
      `\`POST /v1/tools/call\`: read_orders for ${AGENT} with arguments ${JSON.stringify(TOOL_ARGS)}, API key, a fresh request_id per request ` +
      '(allowed; the tool runs; emails masked, other tenants filtered). Direct: `POST /tools/read_orders` on the tool service with the same body, ' +
      'bearer token and x-warden-* headers Warden sends it.',
    `Method: autocannon, pipelining 1, ${WARMUP} s discarded warm-up (${Math.max(WARMUP, FIRST_WARMUP)} s for the first row of each freshly started gateway) ` +
      `then ${DURATION} s per row (1-connection rows ${Math.min(DURATION, 5)} s), ` +
      'rows one after another. Latency: each response timed exactly (autocannon\'s own histogram has 1 ms resolution), 2xx only. ' +
      'CPU: each process\'s user+system time over the row as a share of one core (200% = both cores); the gateway\'s is in brackets ' +
      'on the direct rows, where it is idle. "CPU other": the rest of the machine\'s busy time over the row (other processes, kernel ' +
      'threads, steal): work that competed with the benchmark.',
    '',
  ];
  log(`\n${header.join('\n')}`);

  const table = [
    '| pass | decision cache | endpoint | connections | requests/s | p50 ms | p99 ms | max ms | responses | non-2xx | errors | CPU gateway / tools / loadgen | CPU other | gateway CPU per request |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|',
  ];
  for (const r of rows) {
    const cache = r.target === 'direct' || r.pass === 'F' ? '—' : cacheLabel(r.cache);
    const gatewayCpu = r.target === 'direct' ? `(${fmtPct(r.cpu.gateway)})` : fmtPct(r.cpu.gateway);
    table.push(
      `| ${r.pass} | ${cache} | ${r.label} | ${r.connections} | ${fmtInt(r.rps)} | ${fmtMs(r.p50)} | ${fmtMs(r.p99)} | ${fmtMs(r.max)} | ` +
        `${fmtInt(r.responses)} | ${fmtInt(r.non2xx)} | ${fmtInt(r.errors)}${r.timeouts ? ` (${fmtInt(r.timeouts)} timeouts)` : ''} | ${gatewayCpu} / ${fmtPct(r.cpu.tools)} / ${fmtPct(r.cpu.loadgen)} | ${fmtPct(r.cpu.other)} | ` +
        `${r.target === 'direct' ? '—' : `${fmtInt((1e6 * r.cpu.gateway) / r.rps)} µs`} |`,
    );
  }

  const overhead = [
    '| connections | decision cache | p50 via Warden | p50 direct | overhead p50 | p99 via Warden | p99 direct | overhead p99 | requests/s via Warden / direct |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const overheads = [];
  const connectionCounts = [...new Set(rows.map((r) => r.connections))];
  for (const c of connectionCounts) {
    const direct = find('A', 'direct', c);
    for (const p of ['A', 'B']) {
      const via = find(p, 'toolsCall', c);
      if (!via || !direct) continue;
      const o = { connections: c, cache: via.cache, p50: via.p50 - direct.p50, p99: via.p99 - direct.p99, ratio: via.rps / direct.rps };
      overheads.push(o);
      overhead.push(
        `| ${c} | ${cacheLabel(via.cache)} | ${fmtMs(via.p50)} | ${fmtMs(direct.p50)} | ${fmtSigned(o.p50)} | ${fmtMs(via.p99)} | ${fmtMs(direct.p99)} | ` +
          `${fmtSigned(o.p99)} | ${fmtInt(via.rps)} / ${fmtInt(direct.rps)} = ${o.ratio.toFixed(2)} |`,
      );
    }
  }

  // The anchors: CPU per request (the server process's CPU time ÷ requests answered) and
  // throughput of the decisions rows against bare fastify's, in the same run.
  const cpuPerRequest = (r) => (1e6 * r.cpu.gateway) / r.rps;
  const bare = rows.find((r) => r.pass === 'F' && r.target === 'bare');
  const floor = rows.find((r) => r.pass === 'F' && r.target === 'floor');
  const toolFloor = rows.find((r) => r.pass === 'F' && r.target === 'toolfloor');
  const anchorSection = [];
  if (bare) {
    anchorSection.push(
      '## Against the anchors (pass F, same run)',
      '',
      `Bare fastify answers the decisions body with the ${fmtInt(bare.responseBytes)} bytes of the decision Warden answered; the floor is fastify + ` +
        'JSON body + the PDP on the example policies + a hash-chain link + an INSERT batched per event-loop turn into SQLite ' +
        '(bench/http/anchors.js). CPU per request: the server process\'s CPU time over the row ÷ its requests/s.',
      '',
      '| server | connections | requests/s | CPU per request | CPU per request ÷ bare\'s | requests/s ÷ bare\'s |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const r of [bare, floor, find('A', 'decisions', first)].filter(Boolean)) {
      anchorSection.push(
        `| ${r.pass === 'F' ? r.label.replace(/^anchor: /, '') : `Warden ${r.label} (pass ${r.pass})`} | ${r.connections} | ${fmtInt(r.rps)} | ${fmtInt(cpuPerRequest(r))} µs | ` +
          `${(cpuPerRequest(r) / cpuPerRequest(bare)).toFixed(2)} | ${(r.rps / bare.rps).toFixed(2)} |`,
      );
    }
    anchorSection.push('');
  }
  const directAtFirst = find('A', 'direct', first);
  if (toolFloor && directAtFirst) {
    anchorSection.push(
      '### Tool calls against the tool-call floor',
      '',
      'The tool-call floor (bench/http/anchors.js `toolfloor`) answers `POST /v1/tools/call` with the floor\'s steps plus the call to the same tool ' +
        'service over undici\'s pooled `request` (token and x-warden-* headers as Warden sends them), its JSON answer parsed, recorded with the ' +
        'decision in one chained row and sent back: no obligations, result scan, replay guard, authentication or logging. It is what any ' +
        'gateway that decides, calls and records must do here; requests/s ÷ direct is the most such a gateway reaches on this machine.',
      '',
      '| server | connections | requests/s | CPU per request (server) | CPU tool service | requests/s ÷ direct |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const r of [directAtFirst, toolFloor, find('A', 'toolsCall', first)].filter(Boolean)) {
      const name = r.target === 'direct' ? 'direct POST /tools/read_orders (pass A)' : r.pass === 'F' ? r.label.replace(/^anchor: /, '') : `Warden ${r.label} (pass ${r.pass})`;
      const server = r.target === 'direct' ? '—' : `${fmtInt(cpuPerRequest(r))} µs`;
      anchorSection.push(`| ${name} | ${r.connections} | ${fmtInt(r.rps)} | ${server} | ${fmtPct(r.cpu.tools)} | ${(r.rps / directAtFirst.rps).toFixed(2)} |`);
    }
    anchorSection.push('');
  }

  const targetLines = [];
  const decisionsFirst = find('A', 'decisions', first);
  if (bare && decisionsFirst) {
    const ratio = cpuPerRequest(decisionsFirst) / cpuPerRequest(bare);
    targetLines.push(
      `- ${mark(ratio <= 2.5)} /v1/decisions CPU per request ≤ 2.5x bare fastify's (${first} connections): ` +
        `${fmtInt(cpuPerRequest(decisionsFirst))} µs ÷ ${fmtInt(cpuPerRequest(bare))} µs = ${ratio.toFixed(2)}x`,
    );
    if (floor) {
      const reach = cpuPerRequest(floor) / cpuPerRequest(bare);
      targetLines.push(
        `  - the floor in the same run: ${fmtInt(cpuPerRequest(floor))} µs ÷ ${fmtInt(cpuPerRequest(bare))} µs = ${reach.toFixed(2)}x` +
          (reach > 2.5 ? ' — the target is below what parsing, deciding, chaining and inserting cost on this machine' : '') +
          `; Warden is ${(cpuPerRequest(decisionsFirst) / cpuPerRequest(floor)).toFixed(2)}x the floor's CPU per request`,
      );
    }
  }
  const toolsFirst = find('A', 'toolsCall', first);
  const directFirst = find('A', 'direct', first);
  if (toolsFirst && directFirst) {
    const ratio = toolsFirst.rps / directFirst.rps;
    targetLines.push(
      `- ${mark(ratio >= 0.35)} /v1/tools/call throughput ≥ 0.35x the direct tool (${first} connections, decision cache ${cacheLabel(toolsFirst.cache)}): ` +
        `${fmtInt(toolsFirst.rps)} ÷ ${fmtInt(directFirst.rps)} = ${ratio.toFixed(2)}x`,
    );
    if (toolFloor) {
      const reach = toolFloor.rps / directFirst.rps;
      targetLines.push(
        `  - what the tool-call floor reaches in the same run: ${fmtInt(toolFloor.rps)} ÷ ${fmtInt(directFirst.rps)} = ${reach.toFixed(2)}x` +
          (reach < 0.35 ? ' — the target is below what a gateway that only decides, calls and records reaches on this machine' : '') +
          `; Warden is ${(toolsFirst.rps / toolFloor.rps).toFixed(2)}x the floor's throughput`,
      );
    }
  }
  for (const c of CONNECTIONS) {
    const d = find('A', 'decisions', c);
    if (!d) continue;
    targetLines.push(`- ${mark(d.rps >= 15_000)} ≥ 15,000 decisions/s (${c} connections): ${fmtInt(d.rps)}/s`);
    targetLines.push(`- ${mark(d.p99 < 5)} decisions p99 < 5 ms (${c} connections): ${fmtMs(d.p99)} ms`);
  }
  for (const o of overheads) {
    targetLines.push(`- ${mark(o.p50 < 1)} tool-call overhead at p50 < 1 ms (${o.connections} connection${o.connections === 1 ? '' : 's'}, decision cache ${cacheIsOn(o.cache) ? 'on' : 'off'}): ${fmtSigned(o.p50)} ms`);
  }

  const lost = [
    '| pass | requests sent to Warden | handled by Warden (warden_decisions_total) | responses received | decision records (`warden audit verify`) | chain | verdict |',
    '|---|---:|---:|---:|---:|---|---|',
  ];
  for (const p of passes.filter((x) => x.tally)) {
    const { sent, handled, responses } = p.tally;
    const records = p.audit.records;
    const onWire = sent - handled;
    const verdict = !p.audit.ok
      ? `audit verify failed: ${p.audit.output.split('\n')[0]}`
      : records === handled
        ? `none lost: one record per request handled${onWire > 0 ? `; ${fmtInt(onWire)} sent but never handled (on the wire when autocannon stopped and closed its sockets; never answered)` : ''}`
        : records < handled
          ? `LOST: ${fmtInt(handled - records)} handled requests have no record`
          : `${fmtInt(records - handled)} more records than handled requests`;
    lost.push(`| ${p.name} | ${fmtInt(sent)} | ${fmtInt(handled)} | ${fmtInt(responses)} | ${fmtInt(records)} | ${p.audit.ok ? 'intact' : 'NOT OK'} | ${verdict} |`);
  }

  const telemetrySection = [];
  if (otlp) {
    const cpuUs = (r) => (1e6 * r.cpu.gateway) / r.rps;
    const ratio = (on, off) => (Number.isFinite(on / off) ? (on / off).toFixed(2) : '—');
    telemetrySection.push(
      '## Telemetry off vs on (passes O and T)',
      '',
      `Same plan on two fresh gateways, ${first} connections, decision cache ${cacheLabel(EXAMPLE_TTL)}: O without \`telemetry:\` (off, the default), ` +
        'T with traces (sample_ratio 1: a server span, the pipeline span and, for tool calls, the tool\'s client span per request; batch span ' +
        'processor) and metrics (every 10 s), OTLP/HTTP JSON to a collector endpoint in the load generator\'s process. Ratios: T ÷ O.',
      '',
      '| endpoint | requests/s off / on | ratio | p50 ms off / on | p99 ms off / on | gateway CPU per request off / on | ratio |',
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const target of ['toolsCall', 'decisions']) {
      const off = rows.find((r) => r.pass === 'O' && r.target === target);
      const on = rows.find((r) => r.pass === 'T' && r.target === target);
      if (!off || !on) continue;
      telemetrySection.push(
        `| ${off.label} | ${fmtInt(off.rps)} / ${fmtInt(on.rps)} | ${ratio(on.rps, off.rps)} | ${fmtMs(off.p50)} / ${fmtMs(on.p50)} | ${fmtMs(off.p99)} / ${fmtMs(on.p99)} | ` +
          `${fmtInt(cpuUs(off))} µs / ${fmtInt(cpuUs(on))} µs | ${ratio(cpuUs(on), cpuUs(off))} |`,
      );
    }
    const t = passes.find((p) => p.name === 'T');
    telemetrySection.push(
      '',
      `The collector endpoint received ${fmtInt(otlp.received.traces.requests)} trace exports (${fmtInt(otlp.received.traces.spans)} spans, ` +
        `${(otlp.received.traces.bytes / 2 ** 20).toFixed(1)} MiB) and ${fmtInt(otlp.received.metrics.requests)} metric exports from pass T, ` +
        `which answered ${fmtInt(t?.tally.responses)} requests (warm-ups and checks included).`,
      '',
    );
  }

  const profileSection = [];
  if (profile && !profile.missing) {
    const ms = (us) => (us / 1000).toFixed(0);
    const pct = (us) => `${((100 * us) / profile.total).toFixed(1)}%`;
    profileSection.push(
      '## CPU profile of the gateway (pass P)',
      '',
      `Gateway under \`--cpu-prof\`, ${profile.row.connections} connection${profile.row.connections === 1 ? '' : 's'} of \`${profile.row.label.split(',')[0]}\`, decision cache ${cacheLabel(EXAMPLE_TTL)}, ${Math.max(WARMUP, FIRST_WARMUP)} s warm-up + ${PROFILE_S} s ` +
        `(${fmtInt(profile.row.rps)} requests/s under the profiler, p50 ${fmtMs(profile.row.p50)} ms). Samples from the measured ${PROFILE_S} s only ` +
        `(start-up, warm-up and shutdown left out): ${ms(profile.total)} ms on the gateway's main thread, ${ms(profile.idle)} ms idle` +
        `${profile.threads.length ? ` (its ${profile.threads.length} worker thread${profile.threads.length === 1 ? '' : 's'}, e.g. the WAL checkpointer: ${profile.threads.map(ms).join(', ')} ms busy)` : ''}. ` +
        `That is ${fmtInt(profile.total / profile.row.responses)} µs of main-thread time per call answered` +
        `${firstTools ? ` (the profiler's own cost included: unprofiled, pass A's first row answered ${fmtInt(firstTools.rps)}/s)` : ''}. ` +
        'Self time by function, then by where the code comes from.',
      '',
      'Per call, by concern: each sample is counted once, for the first of these concerns with a frame on its stack (in this order).',
      '',
      '| concern | µs per call | share |',
      '|---|---:|---:|',
      ...profile.concerns.map(([k, us]) => `| ${k} | ${fmtInt(us / profile.row.responses)} | ${pct(us)} |`),
      '',
      '| # | function (file:line name) | self ms | share | mostly called from (nearest Warden or dependency frame) |',
      '|---:|---|---:|---:|---|',
      ...profile.functions.map(
        (f, i) => `| ${i + 1} | \`${f.key}\` | ${ms(f.us)} | ${pct(f.us)} | ${f.caller ? `\`${f.caller.key}\` (${Math.round(f.caller.share * 100)}%)` : ''} |`,
      ),
      '',
      '| code | self ms | share |',
      '|---|---:|---:|',
      ...profile.buckets.map(([k, us]) => `| ${k} | ${ms(us)} | ${pct(us)} |`),
      '',
      'Warden\'s functions by inclusive time: what runs on the stack under them. For an async function that is the part before ' +
        'its first `await` and each continuation\'s own stack, not the time spent waiting; work finished in a later callback ' +
        '(an HTTP response arriving, a file read completing) is counted where that callback runs.',
      '',
      '| function | inclusive ms | share |',
      '|---|---:|---:|',
      ...profile.inclusive.map(([k, us]) => `| \`${k}\` | ${ms(us)} | ${pct(us)} |`),
      '',
      'better-sqlite3 runs SQLite synchronously inside its native calls, which have no frame of their own: their time is the self time ' +
        'of the JavaScript function that made the call (a `dist/store/sqlite/…` function or better-sqlite3\'s transaction wrapper). ' +
        'Native frames with no file (`writev`, `read`, `close`, `fstat`, `openFileHandle`) are the main thread\'s share of socket writes and ' +
        'of asynchronous file operations.',
      '',
      `Profile file: \`${profile.file}\` (open in Chrome DevTools or speedscope).`,
      '',
    );
  } else if (profile?.missing) {
    profileSection.push('## CPU profile', '', `No .cpuprofile was written in ${profile.missing} (did the gateway exit cleanly on SIGTERM?).`, '');
  }

  const decisionsRow = find('A', 'decisions', first);
  const wardenRows = rows.filter((r) => r.target !== 'direct' && r.pass !== 'F' && r.connections > 1);
  const cpuRange = (f) => {
    const xs = wardenRows.map(f).filter(Number.isFinite);
    return xs.length ? `${fmtPct(Math.min(...xs))}–${fmtPct(Math.max(...xs))}` : '—';
  };
  const notes = [
    `All three processes share the machine's ${cpus.length} cores. The gateway is one Node process: one core at most for its JavaScript ` +
      '(its CPU can exceed 100% only through libuv threadpool, GC and SQLite helper threads). In the Warden rows with more than one ' +
      `connection the gateway used ${cpuRange((r) => r.cpu.gateway)} of a core while the three processes together used ` +
      `${cpuRange((r) => r.cpu.gateway + r.cpu.tools + r.cpu.loadgen)} of the ${cpus.length * 100}% available: the gateway's event loop is ` +
      'the bottleneck there, not the cores it shares. In the direct rows the tool service (one event loop too) and the load generator are.',
    '"Gateway CPU per request" = the gateway\'s CPU time over the row ÷ the requests it answered: what one request costs the gateway, ' +
      'helper threads included. It falls as connections rise because fixed costs (a decision-log transaction, a timer, a socket wake-up) are ' +
      'shared by more requests.',
    'Closed loop: each connection sends its next request when the previous answer arrives, so latency at N connections is mostly queueing ' +
      '(Little\'s law: p50 ≈ N ÷ requests/s). The 1-connection rows are the per-request cost without queueing; the overhead there is what one ' +
      'call pays for going through Warden.',
    `Decision cache: pass A (and P) run with examples/warden.yaml's \`decision_cache: { ttl: ${EXAMPLE_TTL} }\` (${cacheIsOn(EXAMPLE_TTL) ? 'on' : 'off'}), ` +
      `pass B with \`ttl: ${FLIPPED_TTL}\` (${cacheIsOn(FLIPPED_TTL) ? 'on' : 'off'}); compare B with A's first tool-call row, both on a fresh gateway. ` +
      'Every tool call here has the same arguments, so with the cache on nearly every call is a hit. `POST /v1/decisions` does not consult the ' +
      'cache (Pipeline.decideOnly calls the PDP directly), so it is measured in pass A only. The cache changes a few microseconds of a call that ' +
      `costs the gateway ${firstTools ? `${fmtInt((1e6 * firstTools.cpu.gateway) / firstTools.rps)} µs` : 'far more'} of CPU here, and fresh gateways with the same config have differed by 10–15% in tool calls/s from one ` +
      'run to the next on this machine: read a difference of that size between A\'s first row and B as noise.',
    `Every Warden row writes one decision record per request to SQLite through the decision log's group commit (reads do not wait for durability: ` +
      '`durable_reads: false`). The audit table checks, after SIGTERM, that the log holds a record for every request.',
    `Load average (1 min) before / after: ${loadBefore[0].toFixed(2)} / ${os.loadavg()[0].toFixed(2)}. Other work on the machine moves p99 and ` +
      'throughput more than p50.',
    `Run time ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  ];
  const noisy = [...rows, ...(profile?.row ? [profile.row] : [])].filter((r) => r.cpu.other > 0.2);
  if (noisy.length) {
    notes.push(
      `Other work on the machine took more than 20% of a core during ${noisy.length} row${noisy.length === 1 ? '' : 's'} ` +
        `(${noisy.map((r) => `${r.pass} ${r.label.split(' (')[0]} ${r.connections}c: ${fmtPct(r.cpu.other)}`).join('; ')}): those figures are depressed; re-run on a quiet machine to compare.`,
    );
  }
  if (decisionsRow && decisionsRow.cpu.loadgen > 0.8) {
    notes.push(
      `The load generator itself used ${fmtPct(decisionsRow.cpu.loadgen)} of a core in the ${first}-connection decisions row: with ${cpus.length} cores, ` +
        'the requests/s measured are a floor for what the gateway would do with a core to itself.',
    );
  }

  const report = [
    ...header,
    '## Results',
    '',
    ...table,
    '',
    ...anchorSection,
    '## Tool-call overhead (via Warden − direct, same run)',
    '',
    ...overhead,
    '',
    '## Targets (reported, not asserted)',
    '',
    ...targetLines,
    '',
    '## Zero lost: requests against decision records',
    '',
    'Per gateway (pass), warm-ups and the two start-up checks included. Sent: requests autocannon wrote to a socket. Handled: Warden\'s own ' +
      'count of answered decisions and tool calls (GET /metrics, 0.5 s after the last row). Records: after SIGTERM (the gateway finishes ' +
      'its requests and writes the decision log), `warden audit verify` on the SQLite file. Responses fall short of handled by the requests ' +
      'whose answers were still on the way back when autocannon closed its sockets.',
    '',
    ...lost,
    '',
    ...telemetrySection,
    ...profileSection,
    '## Notes',
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');

  console.log(report);
  writeFileSync(join(here, 'results.md'), `${report}\n`);
  log(`\nwritten ${join(here, 'results.md')}`);
  for (const p of passes) rmSync(p.dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
