/**
 * MCP gateway benchmark: `tools/call` of server-everything's `echo` tool through Warden against
 * the same upstream called directly, with the same official SDK client, in the same run.
 *
 *   npm run bench:mcp            (builds, then node bench/mcp/run.js)
 *
 * Environment knobs (optional): BENCH_CALLS=3000 (sequential calls per target, in total),
 * BENCH_CONCURRENCY=16 (calls in flight in the concurrent phase), BENCH_CONCURRENT_S=6 (seconds
 * of concurrent load per target, in total), BENCH_ROUNDS=3 (each target's sequential and
 * concurrent phases are split into this many rounds, the targets interleaved in each round, so
 * that noise on the machine lands on direct and Warden alike), BENCH_WARMUP_CALLS=300,
 * BENCH_WARMUP_S=1, BENCH_STDIO_UPSTREAM_HTTP=1 (0 drops the "HTTP client → Warden → stdio
 * upstream" target), BENCH_WARDEN_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (extra node
 * flags for the Warden processes, e.g. to profile them), BENCH_ANCHORS=1 (0 drops the bare-proxy
 * anchors), BENCH_ANCHOR_CALLS=BENCH_CALLS/2 (sequential calls per anchor, in total: their
 * concurrent phases are as long as every target's, their sequential ones shorter to keep the run
 * under ~150 s).
 *
 * Processes (each its own event loop; this one is the client and load generator):
 *   stdio  direct  client ─stdio→ server-everything (spawned by the client)
 *   stdio  Warden  client ─stdio→ `warden mcp --config` ─stdio→ server-everything (spawned by Warden)
 *   HTTP   direct  client ─Streamable HTTP→ server-everything `streamableHttp` (one process, shared)
 *   HTTP   Warden  client ─Streamable HTTP→ `warden serve` /mcp ─Streamable HTTP→ the same server-everything
 *   HTTP   Warden  client ─Streamable HTTP→ a second `warden serve` /mcp ─stdio→ server-everything (optional)
 * and the anchors (bench/mcp/bare-proxy.js, each its own process where Warden would be; no policy,
 * no SDK, no logging), interleaved with the rest in the same rounds:
 *   stdio  bare    client ─stdio→ bare-proxy.js stdio-pipe | stdio-json ─stdio→ server-everything (its child)
 *   HTTP   bare    client ─Streamable HTTP→ bare-proxy.js http-pipe | http-json ─Streamable HTTP→ the same server-everything
 * Each Warden has its own config and SQLite file; agent bench-agent authenticates with an API key
 * (HTTP) or is named by mcp.stdio_agent (stdio); one policy rule allows echo for role bench.
 *
 * Sequential: one call at a time, each timed with process.hrtime.bigint() around
 * `client.callTool` (request written, response parsed and validated by the SDK). Concurrent:
 * BENCH_CONCURRENCY loops over one client/session, each issuing its next call when the previous
 * answer arrives, for a fixed time: calls/s (and the latency of those calls). Zero lost: after
 * each Warden is stopped (stdin closed / SIGTERM: it writes the decision log), its `decisions`
 * table is read with better-sqlite3 and `warden audit verify` checks the chain; the records of
 * echo must equal the calls this process made to that Warden (warm-up included).
 *
 * "What a proxy can reach": per transport, the best anchor's throughput ÷ direct and Warden's ÷
 * that anchor's; each throughput target (issue 17's, issue 5's) judged against the anchor as well
 * as against Warden, and the CPU a proxy may spend per call at issue 17's target.
 *
 * Output: Markdown on stdout, also written to bench/mcp/results.md. Progress goes to stderr.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';

import { generateApiKey } from '../../dist/auth/credentials.js';
import { fmtInt, percentile, versionOf } from '../common.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const env = process.env;

const CALLS = Number(env.BENCH_CALLS ?? 3000);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 16);
const CONCURRENT_S = Number(env.BENCH_CONCURRENT_S ?? 6);
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 3));
const WARMUP_CALLS = Number(env.BENCH_WARMUP_CALLS ?? 300);
const WARMUP_S = Number(env.BENCH_WARMUP_S ?? 1);
const STDIO_UPSTREAM_HTTP = env.BENCH_STDIO_UPSTREAM_HTTP !== '0';
const WARDEN_NODE_ARGS = (env.BENCH_WARDEN_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const ANCHORS = env.BENCH_ANCHORS !== '0';
const ANCHOR_CALLS = Number(env.BENCH_ANCHOR_CALLS ?? Math.ceil(CALLS / 2));

const MAIN = join(root, 'dist/surfaces/cli/main.js');
const EVERYTHING = join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const BARE = join(here, 'bare-proxy.js');
const AGENT = 'bench-agent';
const TOOL = 'echo';

/** The targets measured: direct, the anchors (bare proxies) and via Warden. */
const TARGETS = {
  stdioDirect: { label: 'stdio: client → server-everything', transport: 'stdio', direct: true },
  stdioBarePipe: { label: 'anchor, stdio: client → bare proxy, byte pipe → server-everything (stdio)', transport: 'stdio', anchor: 'stdio-pipe' },
  stdioBareJson: { label: 'anchor, stdio: client → bare proxy, per-message JSON → server-everything (stdio)', transport: 'stdio', anchor: 'stdio-json' },
  stdioWarden: { label: 'stdio: client → `warden mcp` → server-everything (stdio)', transport: 'stdio' },
  httpDirect: { label: 'HTTP: client → server-everything /mcp', transport: 'HTTP', direct: true },
  httpBarePipe: { label: 'anchor, HTTP: client → bare proxy, body passed on → server-everything (Streamable HTTP)', transport: 'HTTP', anchor: 'http-pipe' },
  httpBareJson: { label: 'anchor, HTTP: client → bare proxy, body JSON.parse\'d → server-everything (Streamable HTTP)', transport: 'HTTP', anchor: 'http-json' },
  httpWarden: { label: 'HTTP: client → Warden /mcp → server-everything (Streamable HTTP)', transport: 'HTTP' },
  httpWardenStdio: { label: 'HTTP: client → Warden /mcp → server-everything (stdio)', transport: 'HTTP' },
};
const PAIRS = [
  ['stdio', 'stdioDirect', 'stdioWarden'],
  ['Streamable HTTP, HTTP upstream', 'httpDirect', 'httpWarden'],
  ...(STDIO_UPSTREAM_HTTP ? [['Streamable HTTP, stdio upstream', 'httpDirect', 'httpWardenStdio']] : []),
];
const TARGET_P50_MS = 0.5;
const TARGET_P99_MS = 2;
const TARGET_RATIO = 0.7;
/**
 * What a proxy can reach: per transport, the direct target, its anchors, Warden, and issue 17's
 * throughput target (Warden ÷ direct; README "Re-measured"). The stdio-upstream HTTP path has no
 * anchor (a bare HTTP → stdio bridge needs sessions of its own) and no issue-17 target.
 */
const REACH = [
  { name: 'stdio', direct: 'stdioDirect', anchors: ['stdioBarePipe', 'stdioBareJson'], warden: 'stdioWarden', target: 0.5 },
  { name: 'Streamable HTTP, HTTP upstream', direct: 'httpDirect', anchors: ['httpBarePipe', 'httpBareJson'], warden: 'httpWarden', target: 0.8 },
];

const now = () => process.hrtime.bigint();
const log = (...a) => console.error(...a);
const execFileP = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/*
 * Node 20's fetch (undici) leaves an abort listener on the SDK transport's one AbortSignal per
 * request until the request is garbage collected, and warns past 1,500 of them, once per request.
 * The warnings are counted for the report instead of printed (printing them costs the client).
 */
const warnings = new Map();
process.removeAllListeners('warning');
process.on('warning', (w) => warnings.set(w.name, (warnings.get(w.name) ?? 0) + 1));

/* ------------------------------------------------------------------ processes */

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Spawns node with `args`; resolves with the first match of `pattern` on stderr. stdout is discarded. */
function spawnNode(args, pattern, { extraEnv = {}, label }) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  const tail = [];
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    let found = false;
    child.stderr.on('data', (chunk) => {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        const m = !found && pattern.exec(line);
        if (m) {
          found = true;
          resolve(m[1] ?? m[0]);
        }
      }
    });
    exited.then(({ code, signal }) => {
      if (!found) reject(new Error(`${label} exited (${code ?? signal}) before it was ready:\n${tail.join('\n')}`));
    });
  });
  return { child, ready, exited, tail, label };
}

async function stopProcess(proc, signal = 'SIGTERM') {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
  proc.child.kill(signal);
  const timer = setTimeout(() => {
    log(`${proc.label} did not exit 20 s after ${signal}; SIGKILL`);
    proc.child.kill('SIGKILL');
  }, 20_000);
  const result = await proc.exited;
  clearTimeout(timer);
  return result;
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The direct children of a process (Linux /proc), or []. */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** user+system CPU seconds of a process so far (Linux /proc), or NaN. */
function cpuSeconds(pid) {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ 100
  } catch {
    return NaN;
  }
}
const selfCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** CPU seconds the whole machine spent busy so far (all cores; Linux /proc), or NaN. */
function machineBusySeconds() {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return NaN;
  }
}

/* ------------------------------------------------------------------ setup */

function writeWardenConfig(dir, name, upstream, credential) {
  mkdirSync(join(dir, 'policies'), { recursive: true });
  writeFileSync(
    join(dir, 'policies', 'bench.yaml'),
    stringify({ id: 'bench', version: 1, rules: [{ id: 'echo', effect: 'allow', tools: [TOOL], when: "'bench' in agent.roles" }] }),
  );
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      storage: `sqlite:./${name}.db`,
      policies: './policies',
      server: { watch_policies: false },
      agents: [{ id: AGENT, roles: ['bench'], tenant: 'acme', trust: 'medium', credentials: [{ key_id: credential.keyId, api_key_hash: credential.hash }] }],
      mcp: { stdio_agent: AGENT },
      upstreams: [{ name: 'everything', ...upstream }],
    }),
  );
  return { file, db: join(dir, `${name}.db`) };
}

const stdioUpstream = { stdio: { command: process.execPath, args: [EVERYTHING, 'stdio'] } };

async function startWardenServe(configFile, label) {
  const proc = spawnNode([...WARDEN_NODE_ARGS, MAIN, 'serve', '--config', configFile, '--port', '0', '--host', '127.0.0.1', '--log-level', 'warn'], /serving on (http:\/\/[^\s]+)/, { label });
  proc.url = await proc.ready;
  return proc;
}

/** An SDK client connected over stdio to `command args`; its stderr is kept (last lines) for errors. */
async function stdioClient(args, label) {
  const transport = new StdioClientTransport({ command: process.execPath, args, cwd: root, env: { ...env }, stderr: 'pipe' });
  const tail = [];
  transport.stderr?.on('data', (chunk) => {
    for (const line of String(chunk).split('\n')) {
      if (!line) continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
    }
  });
  const client = new Client({ name: 'warden-bench', version: '1.0.0' });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`${label}: ${error.message}\n${tail.join('\n')}`, { cause: error });
  }
  return { client, transport, pid: transport.pid, tail };
}

async function httpClient(url, key) {
  const transport = new StreamableHTTPClientTransport(new URL(url), key ? { requestInit: { headers: { authorization: `Bearer ${key}` } } } : undefined);
  const client = new Client({ name: 'warden-bench', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

/* ------------------------------------------------------------------ measurement */

let seq = 0;
/** One tools/call of echo; throws unless the echo came back unchanged. */
async function echo(client) {
  const message = `bench ${seq++}`;
  const result = await client.callTool({ name: TOOL, arguments: { message } });
  const text = result.content?.[0]?.text;
  if (result.isError || text !== `Echo: ${message}`) throw new Error(`unexpected echo result: ${JSON.stringify(result).slice(0, 500)}`);
}

/** Sequential calls, each timed; returns latencies in ns. */
async function sequential(t, n) {
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await echo(t.client);
    xs[i] = Number(now() - t0);
  }
  t.calls += n;
  return xs;
}

/** `CONCURRENCY` closed loops for `seconds`; calls answered, elapsed seconds, latencies (ns), CPU seconds. */
async function concurrent(t, seconds) {
  const lat = [];
  let done = 0;
  const cpu0 = cpuSnapshot(t);
  const start = now();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  const worker = async () => {
    while (now() < deadline) {
      const t0 = now();
      await echo(t.client);
      lat.push(Number(now() - t0));
      done++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = Number(now() - start) / 1e9;
  const cpu1 = cpuSnapshot(t);
  t.calls += done;
  return { done, elapsed, lat, cpu: Object.fromEntries(Object.keys(cpu1).map((k) => [k, cpu1[k] - cpu0[k]])) };
}

function cpuSnapshot(t) {
  return { client: selfCpuSeconds(), warden: cpuSeconds(t.wardenPid), upstream: cpuSeconds(t.upstreamPid), machine: machineBusySeconds() };
}

async function warmUp(t) {
  await sequential(t, WARMUP_CALLS);
  await concurrent(t, WARMUP_S);
}

/* ------------------------------------------------------------------ audit */

function countRecords(dbFile) {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const total = db.prepare('SELECT count(*) AS n FROM decisions').get().n;
    const rows = db.prepare('SELECT action, resource_id, effect, outcome, count(*) AS n FROM decisions GROUP BY 1, 2, 3, 4 ORDER BY n DESC').all();
    const echoAllowed = rows.filter((r) => r.resource_id === TOOL && r.effect === 'allow').reduce((s, r) => s + r.n, 0);
    return { total, echoAllowed, rows };
  } finally {
    db.close();
  }
}

async function auditVerify(configFile) {
  try {
    const { stdout } = await execFileP(process.execPath, [MAIN, 'audit', 'verify', '--config', configFile], { cwd: root });
    const m = /ok: (\d+) records/.exec(stdout);
    return { ok: Boolean(m), records: m ? Number(m[1]) : NaN, output: stdout.trim() };
  } catch (error) {
    return { ok: false, records: NaN, output: `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || error.message };
  }
}

/* ------------------------------------------------------------------ run */

const ms = (ns) => ns / 1e6;
const fmtMs = (ns) => (Number.isFinite(ns) ? ms(ns).toFixed(ms(Math.abs(ns)) < 10 ? 3 : 1) : '—');
const fmtSigned = (ns) => `${ns >= 0 ? '+' : '−'}${fmtMs(Math.abs(ns))}`;
const fmtUsPerCall = (s, calls) => (Number.isFinite(s) && calls > 0 ? fmtInt((s * 1e6) / calls) : '—');
const mark = (ok) => (ok ? 'PASS' : 'FAIL');

async function main() {
  const started = Date.now();
  const cpus = os.cpus();
  const loadBefore = os.loadavg();
  const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-mcp-'));
  const credential = generateApiKey();
  const procs = [];
  const targets = {};

  try {
    // server-everything over Streamable HTTP: the direct HTTP target and the HTTP upstream.
    const port = await freePort();
    const everythingHttp = spawnNode([EVERYTHING, 'streamableHttp'], /listening on port (\d+)/, { extraEnv: { PORT: String(port) }, label: 'server-everything (streamableHttp)' });
    procs.push(everythingHttp);
    await everythingHttp.ready;
    const everythingUrl = `http://127.0.0.1:${port}/mcp`;

    const cfgStdio = writeWardenConfig(dir, 'warden-stdio', stdioUpstream, credential);
    const cfgHttp = writeWardenConfig(dir, 'warden-http', { http: { url: everythingUrl } }, credential);
    const cfgHttpStdio = STDIO_UPSTREAM_HTTP ? writeWardenConfig(dir, 'warden-http-stdio', stdioUpstream, credential) : undefined;

    const wardenHttp = await startWardenServe(cfgHttp.file, 'warden serve (HTTP upstream)');
    procs.push(wardenHttp);
    const wardenHttpStdio = cfgHttpStdio ? await startWardenServe(cfgHttpStdio.file, 'warden serve (stdio upstream)') : undefined;
    if (wardenHttpStdio) procs.push(wardenHttpStdio);
    const bareHttp = {};
    if (ANCHORS) {
      for (const k of ['httpBarePipe', 'httpBareJson']) {
        const proc = spawnNode([BARE, TARGETS[k].anchor, everythingUrl], /bare proxy listening on (http:\/\/[^\s]+)/, { label: `bare proxy (${TARGETS[k].anchor})` });
        procs.push(proc);
        proc.url = await proc.ready;
        bareHttp[k] = proc;
      }
    }

    // Clients: one session per target, used sequentially and by all concurrent loops.
    const sd = await stdioClient([EVERYTHING, 'stdio'], 'server-everything (stdio)');
    targets.stdioDirect = { ...TARGETS.stdioDirect, ...sd, upstreamPid: sd.pid };
    const sw = await stdioClient([...WARDEN_NODE_ARGS, MAIN, 'mcp', '--config', cfgStdio.file], 'warden mcp');
    targets.stdioWarden = { ...TARGETS.stdioWarden, ...sw, wardenPid: sw.pid, config: cfgStdio };
    targets.httpDirect = { ...TARGETS.httpDirect, ...(await httpClient(everythingUrl)), upstreamPid: everythingHttp.child.pid };
    targets.httpWarden = { ...TARGETS.httpWarden, ...(await httpClient(`${wardenHttp.url}/mcp`, credential.key)), wardenPid: wardenHttp.child.pid, upstreamPid: everythingHttp.child.pid, config: cfgHttp, proc: wardenHttp };
    if (wardenHttpStdio) {
      targets.httpWardenStdio = {
        ...TARGETS.httpWardenStdio,
        ...(await httpClient(`${wardenHttpStdio.url}/mcp`, credential.key)),
        wardenPid: wardenHttpStdio.child.pid,
        config: cfgHttpStdio,
        proc: wardenHttpStdio,
      };
    }
    if (ANCHORS) {
      for (const k of ['stdioBarePipe', 'stdioBareJson']) {
        const c = await stdioClient([BARE, TARGETS[k].anchor, process.execPath, EVERYTHING, 'stdio'], `bare proxy (${TARGETS[k].anchor})`);
        targets[k] = { ...TARGETS[k], ...c, wardenPid: c.pid };
      }
      for (const [k, proc] of Object.entries(bareHttp)) {
        targets[k] = { ...TARGETS[k], ...(await httpClient(`${proc.url}/mcp`)), wardenPid: proc.child.pid, upstreamPid: everythingHttp.child.pid };
      }
    }
    // Warden's own stdio upstream is its child process; so is a stdio anchor's.
    for (const t of [targets.stdioWarden, targets.httpWardenStdio, targets.stdioBarePipe, targets.stdioBareJson]) if (t) t.upstreamPid = childrenOf(t.wardenPid)[0];

    const order = Object.keys(TARGETS).filter((k) => targets[k]);
    for (const k of order) Object.assign(targets[k], { calls: 0, seq: [], conc: [] });

    log(`warming up ${order.length} targets (${WARMUP_CALLS} sequential calls, then ${WARMUP_S} s at ${CONCURRENCY} in flight)…`);
    for (const k of order) await warmUp(targets[k]);

    const perRoundCalls = Math.ceil(CALLS / ROUNDS);
    const perRoundAnchorCalls = Math.ceil(ANCHOR_CALLS / ROUNDS);
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order each round so no target always runs right after the same one.
      const roundOrder = r % 2 === 0 ? order : [...order].reverse();
      for (const k of roundOrder) {
        const t = targets[k];
        const xs = await sequential(t, t.anchor ? perRoundAnchorCalls : perRoundCalls);
        t.seq.push(xs);
        const c = await concurrent(t, CONCURRENT_S / ROUNDS);
        t.conc.push(c);
        const s = [...xs].sort((a, b) => a - b);
        log(`round ${r + 1}/${ROUNDS} ${k.padEnd(16)} seq p50 ${fmtMs(percentile(s, 50))} ms p99 ${fmtMs(percentile(s, 99))} ms; ${CONCURRENCY} in flight ${fmtInt(c.done / c.elapsed)} calls/s`);
      }
    }

    // Summaries.
    for (const k of order) {
      const t = targets[k];
      const all = Float64Array.from(t.seq.flatMap((x) => [...x])).sort();
      const conc = t.conc.reduce((a, c) => ({ done: a.done + c.done, elapsed: a.elapsed + c.elapsed }), { done: 0, elapsed: 0 });
      const clat = Float64Array.from(t.conc.flatMap((c) => c.lat)).sort();
      const cpu = {};
      for (const key of ['client', 'warden', 'upstream', 'machine']) cpu[key] = t.conc.reduce((s, c) => s + c.cpu[key], 0);
      const roundRps = t.conc.map((c) => c.done / c.elapsed);
      t.summary = {
        n: all.length,
        p50: percentile(all, 50),
        p90: percentile(all, 90),
        p99: percentile(all, 99),
        max: all[all.length - 1],
        rps: conc.done / conc.elapsed,
        roundRps,
        cdone: conc.done,
        celapsed: conc.elapsed,
        cp50: percentile(clat, 50),
        cp99: percentile(clat, 99),
        cpu,
      };
    }

    // Close clients; stop the Wardens (they write their decision logs); count the records.
    log('closing clients and stopping the gateways…');
    for (const k of order) {
      const t = targets[k];
      if (t.transport instanceof StreamableHTTPClientTransport) await t.transport.terminateSession().catch(() => undefined);
    }
    const audits = {};
    for (const k of order) {
      const t = targets[k];
      await t.client.close();
      if (k === 'stdioWarden') {
        // The SDK closes stdin; `warden mcp` then writes its log and exits. Wait for that.
        for (let i = 0; i < 200 && alive(t.wardenPid); i++) await sleep(50);
      }
    }
    for (const p of [wardenHttp, wardenHttpStdio].filter(Boolean)) p.stopped = await stopProcess(p);
    for (const k of order) {
      const t = targets[k];
      if (!t.config) continue;
      const counted = countRecords(t.config.db);
      const verify = await auditVerify(t.config.file);
      audits[k] = { calls: t.calls, ...counted, verify, exit: t.proc?.stopped };
      log(`${k}: ${fmtInt(t.calls)} calls, ${fmtInt(counted.echoAllowed)} allow records for echo, ${fmtInt(counted.total)} records in all; audit verify: ${verify.output.split('\n')[0]}`);
    }

    /* -------------------------------------------------------------- report */

    const header = [
      '# Warden MCP gateway benchmark',
      '',
      `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${os.platform()} ${os.release()}, ` +
        `${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; load average before the run ${loadBefore.map((l) => l.toFixed(2)).join(' / ')} (1 / 5 / 15 min)`,
      `Software: Warden ${versionOf('warden')} (dist/: \`warden mcp\` and \`warden serve --log-level warn\`, fastify ${versionOf('fastify')}), ` +
        `@modelcontextprotocol/sdk ${versionOf('@modelcontextprotocol/sdk')} (client, and both sides of Warden), ` +
        `@modelcontextprotocol/server-everything ${versionOf('@modelcontextprotocol/server-everything')} (the upstream), better-sqlite3 ${versionOf('better-sqlite3')}`,
      'Setup: this process is the client (the official SDK `Client`, `StdioClientTransport` / `StreamableHTTPClientTransport`); every server is its own ' +
        'process on the same machine. Direct stdio: the client spawns `server-everything stdio`. Warden stdio: the client spawns `warden mcp --config …`, ' +
        'which spawns `server-everything stdio`. Direct HTTP: one `server-everything streamableHttp` process. Warden HTTP: `warden serve` /mcp (agent API key, ' +
        'Bearer), upstream the same server-everything process over Streamable HTTP' +
        `${STDIO_UPSTREAM_HTTP ? ', or (a second `warden serve`) `server-everything stdio` spawned by Warden' : ''}. ` +
        'Each Warden: default config (decision cache off, `audit.durable_reads: false`, no rate limits), its own SQLite decision log, one policy rule ' +
        `(\`allow echo when 'bench' in agent.roles\`).` +
        (ANCHORS
          ? ' Anchors (bench/mcp/bare-proxy.js; no policy, no SDK, no logging), each its own process where Warden would be: over stdio the client spawns the ' +
            'bare proxy, which spawns `server-everything stdio` and copies its traffic either as bytes (stream.pipe both ways, nothing read) or per message ' +
            '(lines split, each JSON.parse\'d, method and arguments read, JSON.stringify\'d back, one write per direction per event-loop turn); over HTTP a ' +
            'node:http server forwards each POST / GET / DELETE on /mcp to the same server-everything process with undici\'s pooled `request` (keep-alive), ' +
            'copying mcp-session-id, mcp-protocol-version, accept, content-type, last-event-id (no authorization) and streaming the answer (JSON or SSE) back, ' +
            'the POST body passed on as received or first JSON.parse\'d (method and arguments read; the original bytes sent on).'
          : ''),
      `Call: \`tools/call\` of \`echo\` with \`{ message: "bench <n>" }\`; every answer checked (\`Echo: bench <n>\`, not isError). ` +
        `Method: per target one session, ${WARMUP_CALLS} sequential + ${WARMUP_S} s concurrent warm-up calls; then ${ROUNDS} rounds, the targets interleaved ` +
        '(order reversed every other round), each round per target: ' +
        `${fmtInt(Math.ceil(CALLS / ROUNDS))} sequential calls (each timed with process.hrtime.bigint() around \`client.callTool\`) then ` +
        `${(CONCURRENT_S / ROUNDS).toFixed(1)} s with ${CONCURRENCY} calls in flight (closed loops on the one session; calls/s = answered ÷ elapsed). ` +
        `Per target in all: ${fmtInt(Math.ceil(CALLS / ROUNDS) * ROUNDS)} sequential calls` +
        `${ANCHORS ? ` (an anchor: ${fmtInt(Math.ceil(ANCHOR_CALLS / ROUNDS) * ROUNDS)})` : ''}, ${CONCURRENT_S} s concurrent.`,
      '',
    ];

    const table = [
      '| target | sequential p50 ms | p90 ms | p99 ms | max ms | calls | ' +
        `${CONCURRENCY} in flight: calls/s | calls/s per round | p50 / p99 ms under load | CPU µs per call: client / Warden or proxy / upstream |`,
      '|---|---:|---:|---:|---:|---:|---:|---|---|---|',
    ];
    for (const k of order) {
      const t = targets[k];
      const s = t.summary;
      table.push(
        `| ${t.label} | ${fmtMs(s.p50)} | ${fmtMs(s.p90)} | ${fmtMs(s.p99)} | ${fmtMs(s.max)} | ${fmtInt(s.n)} | ${fmtInt(s.rps)} | ` +
          `${s.roundRps.map(fmtInt).join(', ')} | ${fmtMs(s.cp50)} / ${fmtMs(s.cp99)} | ` +
          `${fmtUsPerCall(s.cpu.client, s.cdone)} / ${t.wardenPid ? fmtUsPerCall(s.cpu.warden, s.cdone) : '—'} / ${fmtUsPerCall(s.cpu.upstream, s.cdone)} |`,
      );
    }

    const overhead = [
      '| path | p50 direct → Warden | added p50 | p99 direct → Warden | added p99 | calls/s direct → Warden | throughput ratio |',
      '|---|---|---:|---|---:|---|---:|',
    ];
    const targetLines = [];
    for (const [name, d, w] of PAIRS) {
      const D = targets[d]?.summary;
      const W = targets[w]?.summary;
      if (!D || !W) continue;
      const a50 = W.p50 - D.p50;
      const a99 = W.p99 - D.p99;
      const ratio = W.rps / D.rps;
      overhead.push(
        `| ${name} | ${fmtMs(D.p50)} → ${fmtMs(W.p50)} | ${fmtSigned(a50)} | ${fmtMs(D.p99)} → ${fmtMs(W.p99)} | ${fmtSigned(a99)} | ` +
          `${fmtInt(D.rps)} → ${fmtInt(W.rps)} | ${ratio.toFixed(2)}x |`,
      );
      targetLines.push(`- ${name}: ${mark(ms(a50) < TARGET_P50_MS)} added p50 < ${TARGET_P50_MS} ms (${fmtSigned(a50)} ms); ` +
        `${mark(ms(a99) < TARGET_P99_MS)} added p99 < ${TARGET_P99_MS} ms (${fmtSigned(a99)} ms); ` +
        `${mark(ratio >= TARGET_RATIO)} throughput ≥ ${TARGET_RATIO}x direct (${ratio.toFixed(2)}x)`);
    }

    const anchorRows = [
      '| path | anchor | p50 direct → anchor | added p50 | p99 direct → anchor | added p99 | calls/s direct → anchor | throughput ratio | ratio per round | proxy CPU µs per call |',
      '|---|---|---|---:|---|---:|---|---:|---|---:|',
    ];
    /** Per-round throughput ratio of target `k` to target `d` (the same round's concurrent phases). */
    const roundRatios = (k, d) => targets[k].summary.roundRps.map((x, i) => x / targets[d].summary.roundRps[i]);
    const reachLines = [];
    for (const { name, direct, anchors, warden, target } of REACH) {
      const D = targets[direct]?.summary;
      const present = anchors.filter((k) => targets[k]);
      if (!D || present.length === 0) continue;
      for (const k of present) {
        const A = targets[k].summary;
        anchorRows.push(
          `| ${name} | ${TARGETS[k].anchor} | ${fmtMs(D.p50)} → ${fmtMs(A.p50)} | ${fmtSigned(A.p50 - D.p50)} | ${fmtMs(D.p99)} → ${fmtMs(A.p99)} | ${fmtSigned(A.p99 - D.p99)} | ` +
            `${fmtInt(D.rps)} → ${fmtInt(A.rps)} | ${(A.rps / D.rps).toFixed(2)}x | ${roundRatios(k, direct).map((x) => x.toFixed(2)).join(', ')} | ${fmtUsPerCall(A.cpu.warden, A.cdone)} |`,
        );
      }
      const best = present.reduce((a, b) => (targets[b].summary.rps > targets[a].summary.rps ? b : a));
      const B = targets[best].summary;
      const bestRatio = B.rps / D.rps;
      const W = targets[warden]?.summary;
      const pathCpu = (S) => (S.cpu.client + S.cpu.warden + S.cpu.upstream) / S.cdone;
      const directCpu = (D.cpu.client + D.cpu.upstream) / D.cdone;
      const ceiling = (perCall) => (cpus.length / perCall);
      const parts = [
        `- **${name}**: the best bare proxy (${TARGETS[best].anchor}) reaches **${bestRatio.toFixed(2)}x** direct (${fmtInt(B.rps)} ÷ ${fmtInt(D.rps)} calls/s; ` +
          `per round ${roundRatios(best, direct).map((x) => x.toFixed(2)).join(', ')}), adding ${fmtSigned(B.p50 - D.p50)} ms at p50 and ${fmtSigned(B.p99 - D.p99)} ms at p99` +
          (W ? `; Warden reaches **${(W.rps / B.rps).toFixed(2)}x** of that proxy (${fmtInt(W.rps)} ÷ ${fmtInt(B.rps)} calls/s), ${(W.rps / D.rps).toFixed(2)}x direct.` : '.'),
      ];
      const bestRounds = roundRatios(best, direct);
      const lowRound = Math.min(...bestRounds);
      const highRound = Math.max(...bestRounds);
      for (const [who, ratio] of [[`issue 17, ≥ ${target}x direct`, target], [`issue 5, ≥ ${TARGET_RATIO}x direct`, TARGET_RATIO]]) {
        const w = W ? W.rps / D.rps : NaN;
        const wardenPart = W ? `Warden ${mark(w >= ratio)} (${w.toFixed(2)}x)` : 'Warden not run';
        const need = `${(ratio / bestRatio).toFixed(2)}x the bare proxy's throughput${W ? ` (Warden has ${(W.rps / B.rps).toFixed(2)}x)` : ''}`;
        let verdict;
        if (bestRatio < ratio) {
          verdict =
            `the bare pass-through proxy reaches only ${bestRatio.toFixed(2)}x — **the target is out of reach of a bare pass-through proxy on this machine**` +
            `${highRound >= ratio ? ` (though ${bestRounds.filter((x) => x >= ratio).length} of ${bestRounds.length} rounds reached it)` : ''}; a proxy would need ${need}.`;
        } else if (lowRound < ratio) {
          verdict =
            `a bare pass-through proxy reaches it only just (${bestRatio.toFixed(2)}x; its rounds ${lowRound.toFixed(2)}–${highRound.toFixed(2)} straddle it) — ` +
            `**the target is at the limit of a bare pass-through proxy on this machine**; Warden would need ≥ ${need}.`;
        } else {
          verdict = `a bare pass-through proxy reaches it in every round (${lowRound.toFixed(2)}–${highRound.toFixed(2)}x), so **a proxy can meet it on this machine**; Warden needs ≥ ${need}.`;
        }
        parts.push(`  - Target ${who}: ${wardenPart}; ${verdict}`);
      }
      parts.push(
        `  - CPU per call of the whole path (client + proxy + upstream, concurrent phase): direct ${fmtInt(directCpu * 1e6)} µs, bare proxy ${fmtInt(pathCpu(B) * 1e6)} µs` +
          `${W ? `, Warden ${fmtInt(pathCpu(W) * 1e6)} µs` : ''}; ${cpus.length} cores ÷ that = at most ${fmtInt(ceiling(directCpu))} / ${fmtInt(ceiling(pathCpu(B)))}` +
          `${W ? ` / ${fmtInt(ceiling(pathCpu(W)))}` : ''} calls/s with every core busy on this path alone (measured: ${fmtInt(D.rps)} / ${fmtInt(B.rps)}${W ? ` / ${fmtInt(W.rps)}` : ''}).`,
      );
      // The proxy's CPU budget at issue 17's target: the cores' time per call at that rate, less
      // what the client and the upstream spent per call on the bare proxy's path.
      const rateAtTarget = target * D.rps;
      const pathBudget = cpus.length / rateAtTarget;
      const othersOnBare = (B.cpu.client + B.cpu.upstream) / B.cdone;
      parts.push(
        `  - At issue 17's target (${fmtInt(rateAtTarget)} calls/s) the whole path may use ${cpus.length} cores ÷ that = ${fmtInt(pathBudget * 1e6)} µs of CPU per call; ` +
          `less the client's and the upstream's ${fmtInt(othersOnBare * 1e6)} µs (bare-proxy row) that leaves ${pathBudget > othersOnBare ? `≤ ${fmtInt((pathBudget - othersOnBare) * 1e6)} µs` : 'nothing'} ` +
          `for the proxy, and its one event loop can give at most ${fmtInt(1e6 / rateAtTarget)} µs per call; the bare proxy spent ${fmtUsPerCall(B.cpu.warden, B.cdone)} µs` +
          `${W ? `, Warden ${fmtUsPerCall(W.cpu.warden, W.cdone)} µs` : ''}.`,
      );
      reachLines.push(...parts);
    }

    const lost = [
      '| Warden | tools/call made (warm-up included) | echo records, effect allow | all records | `warden audit verify` | exit | verdict |',
      '|---|---:|---:|---:|---|---|---|',
    ];
    for (const [k, a] of Object.entries(audits)) {
      const verdict = a.echoAllowed === a.calls ? 'none lost: one record per call' : a.echoAllowed < a.calls ? `LOST: ${fmtInt(a.calls - a.echoAllowed)} calls have no record` : `${fmtInt(a.echoAllowed - a.calls)} more records than calls`;
      const exit = k === 'stdioWarden' ? (alive(targets[k].wardenPid) ? 'still running' : 'exited on stdin close') : a.exit ? `SIGTERM → ${a.exit.code ?? a.exit.signal}` : '—';
      lost.push(`| ${targets[k].label} | ${fmtInt(a.calls)} | ${fmtInt(a.echoAllowed)} | ${fmtInt(a.total)} | ${a.verify.ok ? `ok, ${fmtInt(a.verify.records)} records` : `NOT OK: ${a.verify.output.split('\n')[0]}`} | ${exit} | ${verdict} |`);
    }

    const machineBusy = order.reduce((s, k) => s + targets[k].summary.cpu.machine, 0);
    const concElapsed = order.reduce((s, k) => s + targets[k].summary.celapsed, 0);
    const notes = [
      `All processes share the machine's ${cpus.length} cores: a Warden path runs three busy processes (client, Warden, upstream) where the direct path runs two, ` +
        'so on a small machine its concurrent throughput is also limited by cores, not only by Warden\'s own cost. "CPU µs per call" (concurrent phase, user+system ' +
        'from /proc over the phase ÷ calls answered) shows where the time goes; Warden\'s share is what the gateway costs per call.',
      `The machine was busy for ${machineBusy && concElapsed ? `${((100 * machineBusy) / concElapsed).toFixed(0)}%` : '—'} of one core on average during the concurrent phases ` +
        `(${cpus.length * 100}% = all cores). Load average (1 min) before / after: ${loadBefore[0].toFixed(2)} / ${os.loadavg()[0].toFixed(2)}; ` +
        'other work on the machine moves p99 and calls/s more than p50 — the per-round calls/s show how much.',
      ...(targets.httpDirect && targets.stdioDirect
        ? [
            `What a transport costs by itself, from the direct rows: over stdio the client spent ${fmtUsPerCall(targets.stdioDirect.summary.cpu.client, targets.stdioDirect.summary.cdone)} µs ` +
              `and server-everything ${fmtUsPerCall(targets.stdioDirect.summary.cpu.upstream, targets.stdioDirect.summary.cdone)} µs of CPU per call; over Streamable HTTP ` +
              `${fmtUsPerCall(targets.httpDirect.summary.cpu.client, targets.httpDirect.summary.cdone)} µs and ${fmtUsPerCall(targets.httpDirect.summary.cpu.upstream, targets.httpDirect.summary.cdone)} µs ` +
              '(the SDK over fetch/undici on one side, express + the SDK on the other). Warden with an HTTP upstream is both an HTTP server and an HTTP client of ' +
              'that same SDK, so it pays about one direct HTTP round trip on each side before any policy work.',
          ]
        : []),
      'server-everything\'s Streamable HTTP transport answers every POST as an SSE stream (and logs each request to its stdout, discarded here); Warden\'s /mcp answers ' +
        'a call that asks for no progress, from a client that declared nothing it could be asked, in plain JSON straight from the session\'s server ' +
        '(src/surfaces/http/mcp/lean-answers.ts). Both directions use the same SDK client code.',
      ...(warnings.size
        ? [
            `Warnings in this (client) process, counted and not printed: ${[...warnings].map(([k, n]) => `${k} ×${fmtInt(n)}`).join(', ')}. MaxListenersExceededWarning comes from ` +
              'Node 20\'s fetch keeping one abort listener per request on the SDK transport\'s AbortSignal until garbage collection (it scans them all on every request).',
          ]
        : []),
      `Run time ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    ];

    const report = [
      ...header,
      '## Results',
      '',
      ...table,
      '',
      '## Added by Warden (Warden − direct, same run)',
      '',
      ...overhead,
      '',
      '## Targets (issue 5; reported, not asserted)',
      '',
      ...targetLines,
      '',
      ...(reachLines.length
        ? [
            '## What a proxy can reach on this machine (same run)',
            '',
            'The anchors are the least a proxy can be in Node: a process of its own between the same client and the same server, copying the traffic ' +
              '(bytes, or messages parsed so that method and arguments could be read), with no policy, SDK or logging. Throughput ratios are ' +
              `calls/s with ${CONCURRENCY} in flight ÷ the direct target's, interleaved in the same rounds. "Best" is the faster of the two anchors in this run ` +
              '(the larger of two noisy figures, so if anything it flatters the proxy). An anchor path runs three processes on the shared cores as a Warden path ' +
              'does, so its ratio to direct already carries the cost of a third process; Warden\'s ratio to the anchor is what Warden costs beyond that. ' +
              'The HTTP path with a stdio upstream has no anchor (a bare HTTP → stdio bridge would need sessions of its own) and no issue-17 target.',
            '',
            ...reachLines,
            '',
            ...anchorRows,
            '',
          ]
        : []),
      '## Zero lost: calls against decision records',
      '',
      'After the clients closed, each Warden stopped (stdio: its stdin closed; HTTP: SIGTERM) and wrote its decision log; the `decisions` table was then read ' +
        'with better-sqlite3 and the hash chain checked with `warden audit verify`.',
      '',
      ...lost,
      '',
      '## Notes',
      '',
      ...notes.map((n) => `- ${n}`),
      '',
    ].join('\n');

    console.log(report);
    writeFileSync(join(here, 'results.md'), `${report}\n`);
    log(`\nwritten ${join(here, 'results.md')}`);
  } finally {
    for (const t of Object.values(targets)) await t.client?.close().catch(() => undefined);
    for (const p of procs) await stopProcess(p).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
