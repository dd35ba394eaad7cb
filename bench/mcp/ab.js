/**
 * A/B of Warden's MCP gateway CPU per call between builds, interleaved in one run (the machine
 * may be shared: only same-run ratios mean anything).
 *
 *   ROOTS=/tmp/before,/work/main node bench/mcp/ab.js
 *
 * ROOTS: comma-separated checkouts, each with a built dist/ (default: this one). For each: a
 * `warden mcp` (stdio upstream) and a `warden serve` /mcp with a Streamable HTTP upstream (one
 * server-everything process shared by all). KINDS=stdio,http, ROUNDS=5, SECS=3 (per target per
 * round), CONC=16 (calls in flight), WNODE="--cpu-prof --cpu-prof-dir=/tmp/prof" (node flags for
 * the Warden processes; WNODE_<i> for the i-th root only, e.g. to compare node flags on one
 * build: ROOTS=/tmp/a,/tmp/a WNODE_1=--max-semi-space-size=32). Per round and target: 1 s idle
 * (its background CPU, subtracted in the "net of idle" figures), then SECS s of echo calls; CPU
 * from /proc (user+system). Prints the median CPU µs per call and, for two roots, the
 * after/before ratio paired by round.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const here = dirname(fileURLToPath(import.meta.url));
const M = join(here, '../../node_modules') + '/';
const { Client } = await import(M + '@modelcontextprotocol/sdk/dist/esm/client/index.js');
const { StdioClientTransport } = await import(M + '@modelcontextprotocol/sdk/dist/esm/client/stdio.js');
const { StreamableHTTPClientTransport } = await import(M + '@modelcontextprotocol/sdk/dist/esm/client/streamableHttp.js');
const { stringify } = await import(M + 'yaml/dist/index.js');
const { generateApiKey } = await import(join(here, '../../dist/auth/credentials.js'));
process.removeAllListeners('warning'); process.on('warning', () => {});
const roots = (process.env.ROOTS ?? join(here, '../..')).split(',');
const ROUNDS = Number(process.env.ROUNDS ?? 3), SECS = Number(process.env.SECS ?? 3), CONC = Number(process.env.CONC ?? 16);
const kinds = (process.env.KINDS ?? 'stdio,http').split(',');
const nodeArgs = (i) => (process.env[`WNODE_${i}`] ?? process.env.WNODE ?? '').split(/\s+/).filter(Boolean);
const EVERY = M + '@modelcontextprotocol/server-everything/dist/index.js';
const cpu = (pid) => { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
const freePort = async () => { const s = net.createServer(); await new Promise((r) => s.listen(0, '127.0.0.1', r)); const p = s.address().port; await new Promise((r) => s.close(r)); return p; };
function spawnNode(args, pattern, env = {}) {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  return { child, ready: new Promise((res, rej) => { let buf = ''; child.stderr.on('data', (c) => { buf += c; const m = pattern.exec(buf); if (m) res(m[1]); }); child.once('exit', (c) => rej(new Error('exit ' + c + buf))); }) };
}
const cred = generateApiKey();
const dir = mkdtempSync(join(os.tmpdir(), 'mcp-path-drive-'));
function cfg(name, upstream) {
  mkdirSync(join(dir, 'policies'), { recursive: true });
  writeFileSync(join(dir, 'policies', 'b.yaml'), stringify({ id: 'bench', version: 1, rules: [{ id: 'echo', effect: 'allow', tools: ['echo'], when: "'bench' in agent.roles" }] }));
  const file = join(dir, name + '.yaml');
  writeFileSync(file, stringify({ storage: `sqlite:./${name}.db`, policies: './policies', server: { watch_policies: false }, agents: [{ id: 'a', roles: ['bench'], tenant: 'acme', trust: 'medium', credentials: [{ key_id: cred.keyId, api_key_hash: cred.hash }] }], mcp: { stdio_agent: 'a' }, upstreams: [{ name: 'everything', ...upstream }] }));
  return file;
}
const port = await freePort();
const ev = spawnNode([EVERY, 'streamableHttp'], /listening on port (\d+)/, { PORT: String(port) });
await ev.ready;
const evUrl = `http://127.0.0.1:${port}/mcp`;
const targets = [];
const procs = [ev.child];
for (const [i, root] of roots.entries()) {
  const NODEARGS = nodeArgs(i);
  const main = join(root, 'dist/surfaces/cli/main.js');
  if (kinds.includes('stdio')) {
    const f = cfg(`s${i}`, { stdio: { command: process.execPath, args: [EVERY, 'stdio'] } });
    const t = new StdioClientTransport({ command: process.execPath, args: [...NODEARGS, main, 'mcp', '--config', f], cwd: dir, stderr: 'inherit' });
    const c = new Client({ name: 'd', version: '1' }); await c.connect(t);
    targets.push({ name: `stdio#${i}`, client: c, pid: t.pid });
  }
  if (kinds.includes('http') || kinds.includes('httpstdio')) {
    const up = kinds.includes('http') ? { http: { url: evUrl } } : { stdio: { command: process.execPath, args: [EVERY, 'stdio'] } };
    const f = cfg(`h${i}`, up);
    const w = spawnNode([...NODEARGS, main, 'serve', '--config', f, '--port', '0', '--host', '127.0.0.1', '--log-level', 'warn'], /serving on (http:\/\/[^\s]+)/);
    procs.push(w.child);
    const url = await w.ready;
    const t = new StreamableHTTPClientTransport(new URL(url + '/mcp'), { requestInit: { headers: { authorization: `Bearer ${cred.key}` } } });
    const c = new Client({ name: 'd', version: '1' }); await c.connect(t);
    targets.push({ name: `http#${i}`, client: c, pid: w.child.pid });
  }
}
let seq = 0;
async function echo(c) { const m = `bench ${seq++}`; const r = await c.callTool({ name: 'echo', arguments: { message: m } }); if (r.content?.[0]?.text !== `Echo: ${m}`) throw new Error(JSON.stringify(r)); }
async function load(t, secs) {
  // Background CPU of the idle process over 1 s, subtracted from the phase (timers, sweeps, GC).
  const i0 = cpu(t.pid), it0 = Date.now(); await new Promise((r) => setTimeout(r, 1000)); const idleRate = (cpu(t.pid) - i0) / ((Date.now() - it0) / 1000);
  let done = 0; const c0 = cpu(t.pid); const end = Date.now() + secs * 1000; const t0 = Date.now();
  await Promise.all(Array.from({ length: CONC }, async () => { while (Date.now() < end) { await echo(t.client); done++; } }));
  const el = (Date.now() - t0) / 1000;
  return { done, us: ((cpu(t.pid) - c0) * 1e6) / done, net: ((cpu(t.pid) - c0 - idleRate * el) * 1e6) / done, idle: idleRate, rps: done / el };
}
for (const t of targets) { for (let i = 0; i < 200; i++) await echo(t.client); await load(t, 1); t.res = []; }
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? [...targets].reverse() : targets;
  for (const t of order) { const x = await load(t, SECS); t.res.push(x); console.error(`r${r} ${t.name} ${x.us.toFixed(0)} µs/call (net of idle ${x.net.toFixed(0)}, idle ${(x.idle * 1000).toFixed(0)} ms/s) ${x.rps.toFixed(0)}/s`); }
}
for (const t of targets) {
  const net = t.res.map((x) => x.net).sort((a, b) => a - b);
  console.log(`${t.name}\tnet of idle: median ${net[net.length >> 1].toFixed(0)} µs/call (${net.map((u) => u.toFixed(0)).join(', ')})`);
  const us = t.res.map((x) => x.us).sort((a, b) => a - b); const rps = t.res.map((x) => x.rps).sort((a, b) => a - b);
  console.log(`${t.name}\tmedian ${us[us.length >> 1].toFixed(0)} µs/call (${us.map((u) => u.toFixed(0)).join(', ')})\t${rps[rps.length >> 1].toFixed(0)} calls/s`);
}
for (const kind of ['stdio', 'http']) {
  const [a, b] = targets.filter((t) => t.name.startsWith(kind + '#'));
  if (!a || !b) continue;
  const ratios = a.res.map((x, i) => b.res[i].us / x.us).sort((p, q) => p - q);
  const nets = a.res.map((x, i) => b.res[i].net / x.net).sort((p, q) => p - q);
  console.log(`${kind}: after/before CPU per call, paired by round: median ${ratios[ratios.length >> 1].toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(', ')}); net of idle median ${nets[nets.length >> 1].toFixed(3)}`);
}
for (const t of targets) await t.client.close().catch(() => {});
await new Promise((r) => setTimeout(r, 500));
for (const p of procs) p.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 1500));
process.exit(0);
