/**
 * Bench-only A/B of Warden's HTTP layer on `POST /v1/decisions`, nothing else: Warden's own
 * server (`serve`: fastify with every plugin, hook, parser and route Warden registers, pino at
 * `warn` like `warden serve --log-level warn`) with the decision service replaced by a stub that
 * answers one fixed decision (the one the real service answered first), against bare fastify
 * (anchors.js bare: same body, same response bytes). What is left between the two is what the HTTP
 * layer costs per request: authentication, the JSON parser, hooks, the reply.
 *
 *   node bench/http/http-layer-ab.js [name=<folder with dist/> ...]
 *
 * Without arguments one Warden variant, this repository's dist/. Each `name=folder` adds one
 * (e.g. a copy of dist/ from before a change, with node_modules and examples linked beside it),
 * so before and after run in the same rounds. Every server is its own process, all started up
 * front; rounds are interleaved (each round: every server once, in rotating order), each run
 * sends exactly BENCH_AB_REQUESTS requests (autocannon `amount`, BENCH_AB_CONNECTIONS
 * connections) and reads the server's user+system CPU from /proc around it. Prints per server the
 * median CPU µs per request over BENCH_AB_ROUNDS rounds, and the ratio to bare fastify's median.
 *
 * BENCH_AB_STUB=0: the real decision service (SQLite decision log and all) in every Warden
 * variant: the whole gateway's before/after in interleaved rounds.
 *
 * BENCH_AB_ENDPOINTS=decisions,tools: the endpoints measured in each round (default decisions).
 * `tools` is `POST /v1/tools/call` (read_orders, a fresh request_id per request) executed by the
 * example tool service (started here, one for every variant); it needs BENCH_AB_STUB=0.
 *
 * BENCH_AB_STRACE=1: instead of the rounds, each server's write/read/epoll system calls over N
 * requests, counted by `strace -f -c` attached to it.
 *
 * Child mode (internal): `node http-layer-ab.js --serve <folder>` starts one stub Warden server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import autocannon from 'autocannon';
import { parse, stringify } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const env = process.env;

const AGENT = 'support-agent';
const decisionBody = JSON.stringify({
  tenant: 'acme-corp',
  actor: { agent: { id: AGENT, roles: ['support'], trust: 'medium' } },
  action: 'tool.call',
  resource: { type: 'tool', id: 'read_orders' },
  args: { limit: 10 },
});

/** Child: Warden's server from `<folder>/dist`, the decision service stubbed. */
async function serveStub(folder) {
  const { serve } = await import(pathToFileURL(join(folder, 'dist/surfaces/http/serve.js')).href);
  const { demoConfig } = await import(pathToFileURL(join(folder, 'dist/surfaces/cli/commands/demo.js')).href);
  const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-http-layer-'));
  // The tool service (BENCH_AB_ENDPOINTS with tools), or none: decisions execute nothing.
  const file = demoConfig(dir, process.env.BENCH_AB_TOOLS_URL ?? 'http://127.0.0.1:9');
  const config = parse(readFileSync(file, 'utf8'));
  config.limits = { rate: [], session: {} };
  delete config.upstreams;
  writeFileSync(file, stringify(config));
  const server = await serve(file, { port: 0, host: '127.0.0.1', logger: { level: 'warn' } });
  const decisions = server.warden.decisions;
  const keys = JSON.parse(process.env.BENCH_AB_KEYS);
  // One real decision (the pipeline runs once), then every request gets the same answer.
  const real = await decisions.decide(await server.warden.principals.fromBearer(keys[AGENT]), JSON.parse(decisionBody), 'http');
  if (!real.ok || real.decision.effect !== 'allow') throw new Error(`the real decision was ${JSON.stringify(real)}`);
  // BENCH_AB_STUB=0 keeps the real service: the whole gateway, for a before/after of the same change.
  if (process.env.BENCH_AB_STUB !== '0') decisions.decide = async () => real;
  console.log(`stub listening on ${server.url} ${JSON.stringify(JSON.stringify(real.decision))}`);
  process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
}

function spawnServer(args, extraEnv = {}) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise((res, rej) => {
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      const m = /listening on (\S+)(?: (.*))?\n/.exec(buf);
      if (m) res({ url: m[1], extra: m[2] });
    });
    child.once('exit', (code) => rej(new Error(`${args.join(' ')} exited ${code}`)));
  });
  return { child, ready };
}

function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

let toolCallNo = 0;
const toolCallRun = Math.random().toString(36).slice(2, 10);

function load(url, key, amount, connections, endpoint = 'decisions') {
  const common = { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, amount, connections, pipelining: 1, timeout: 60 };
  const options =
    endpoint === 'tools'
      ? {
          ...common,
          url: `${url}/v1/tools/call`,
          requests: [
            {
              method: 'POST',
              path: '/v1/tools/call',
              setupRequest: (req) => ({ ...req, body: JSON.stringify({ agent_id: AGENT, request_id: `ab-${toolCallRun}-${++toolCallNo}`, tool: 'read_orders', arguments: { limit: 10 } }) }),
            },
          ],
        }
      : { ...common, url: `${url}/v1/decisions`, body: decisionBody };
  return new Promise((res, rej) => {
    const inst = autocannon(options, (err, result) => (err ? rej(err) : res(result)));
    inst.on('error', rej);
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { DEMO } = await import(pathToFileURL(join(root, 'dist/surfaces/cli/commands/demo.js')).href);
  const key = DEMO.keys[AGENT];
  const N = Number(env.BENCH_AB_REQUESTS ?? 20_000);
  const ROUNDS = Number(env.BENCH_AB_ROUNDS ?? 5);
  const C = Number(env.BENCH_AB_CONNECTIONS ?? 32);
  const variants = process.argv.slice(2).map((a) => a.split('='));
  if (variants.length === 0) variants.push(['warden', root]);
  const endpoints = (env.BENCH_AB_ENDPOINTS ?? 'decisions').split(',');
  if (endpoints.includes('tools') && env.BENCH_AB_STUB !== '0') throw new Error('BENCH_AB_ENDPOINTS with tools needs BENCH_AB_STUB=0');

  const servers = [];
  let toolServer;
  try {
    const extra = { BENCH_AB_KEYS: JSON.stringify(DEMO.keys) };
    if (endpoints.includes('tools')) {
      toolServer = spawn(process.execPath, [join(root, 'examples/tools/tool-server.mjs'), '0'], { cwd: root, env: { ...env, WARDEN_SECRET_TOOLS_TOKEN: DEMO.toolsToken }, stdio: ['ignore', 'pipe', 'inherit'] });
      // It prints its URL, and nothing else.
      extra.BENCH_AB_TOOLS_URL = await new Promise((res) => toolServer.stdout.once('data', (c) => res(String(c).trim().split('\n')[0])));
      toolServer.stdout.resume();
    }
    for (const [name, folder] of variants) {
      const s = spawnServer([fileURLToPath(import.meta.url), '--serve', folder], extra);
      servers.push({ name, ...s, ...(await s.ready) });
    }
    const response = JSON.parse(servers[0].extra);
    const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-http-layer-'));
    writeFileSync(join(dir, 'decision.json'), response);
    const bare = spawnServer([join(here, 'anchors.js'), 'bare', join(dir, 'decision.json')]);
    servers.unshift({ name: 'bare fastify', ...bare, ...(await bare.ready) });

    // One run per server and endpoint (bare fastify answers decisions only).
    const runs = [];
    for (const s of servers) for (const endpoint of endpoints) if (s.name !== 'bare fastify' || endpoint === 'decisions') runs.push({ ...s, server: s.name, endpoint, name: endpoints.length > 1 ? `${s.name} ${endpoint}` : s.name });
    for (const s of runs) {
      const r = await load(s.url, key, Math.max(2000, N / 2), C, s.endpoint); // warm-up
      if (r.non2xx) throw new Error(`${s.name}: ${r.non2xx} non-2xx in the warm-up`);
      s.us = [];
    }
    if (env.BENCH_AB_STRACE === '1') {
      // System calls per response, counted by strace over exactly N requests (a separate pass: strace slows the server).
      for (const s of runs) {
        const out = join(dir, `strace-${s.name.replace(/\W+/g, '-')}.txt`);
        const tracer = spawn('strace', ['-f', '-c', '-o', out, '-e', env.BENCH_AB_STRACE_CALLS ?? 'trace=write,writev,sendmsg,sendto,read,recvfrom,epoll_wait,epoll_pwait', '-p', String(s.child.pid)], { stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 1000));
        await load(s.url, key, N, C, s.endpoint);
        tracer.kill('SIGINT');
        await new Promise((r) => tracer.once('exit', r));
        console.log(`\n${s.name}: system calls over ${N} requests\n${readFileSync(out, 'utf8')}`);
      }
      return;
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = runs.map((_, i) => runs[(i + round) % runs.length]);
      for (const s of order) {
        const cpu0 = cpuSeconds(s.child.pid);
        const r = await load(s.url, key, N, C, s.endpoint);
        const cpu = cpuSeconds(s.child.pid) - cpu0;
        if (r.non2xx || r.errors) throw new Error(`${s.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        s.us.push((cpu * 1e6) / N);
      }
      console.error(`round ${round + 1}: ${runs.map((s) => `${s.name} ${s.us.at(-1).toFixed(1)} µs`).join(', ')}`);
    }
    const bareUs = median(runs[0].us);
    console.log(`| server | CPU µs per request (median of ${ROUNDS} × ${N} requests, ${C} connections) | ÷ bare |`);
    console.log('|---|---:|---:|');
    for (const s of runs) console.log(`| ${s.name} | ${median(s.us).toFixed(1)} (${s.us.map((x) => x.toFixed(0)).join(', ')}) | ${(median(s.us) / bareUs).toFixed(2)} |`);
    // Paired: each variant against the first Warden variant on the same endpoint in the same round (they ran back to back).
    for (const endpoint of endpoints) {
      const same = runs.filter((s) => s.endpoint === endpoint && s.server !== 'bare fastify');
      for (const s of same.slice(1)) {
        const paired = s.us.map((x, i) => x / same[0].us[i]);
        console.log(`${s.name} ÷ ${same[0].name}, per round: ${paired.map((x) => x.toFixed(2)).join(', ')}; median ${median(paired).toFixed(3)}`);
      }
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    toolServer?.kill('SIGTERM');
  }
}

if (process.argv[2] === '--serve') await serveStub(resolve(process.argv[3]));
else await main();
