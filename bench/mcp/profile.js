/**
 * CPU profile of one `warden mcp` (stdio upstream) under load, restricted to the load phase:
 * where Warden's CPU per call goes, by component. MODE=http profiles `warden serve` /mcp with a
 * Streamable HTTP upstream instead (server-everything `streamableHttp`, agent API key).
 *
 *   ROOT=/tmp/before node bench/mcp/profile.js      (ROOT: a checkout with a built dist/; default this one)
 *
 * SECS=6 (load), CONC=16 (calls in flight), INTERVAL=250 (sampling µs), KEEP=/tmp/x.cpuprofile
 * (keep the load phase's profile, its call count in `calls`), WNODE="--max-semi-space-size=32"
 * (more node flags for Warden). The Warden process runs with --cpu-prof; V8 stamps samples with the
 * monotonic clock that process.hrtime also reads, so samples outside the load phase (start-up,
 * warm-up, shutdown and the decision log's final write) are dropped. Per component: self time of
 * the samples in the phase ÷ calls answered in it, and inclusive time of a few frames.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
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
const root = process.env.ROOT ?? join(here, '../..');
const MODE = process.env.MODE ?? 'stdio';
const SECS = Number(process.env.SECS ?? 6), CONC = Number(process.env.CONC ?? 16), INTERVAL = Number(process.env.INTERVAL ?? 250);
const EVERY = M + '@modelcontextprotocol/server-everything/dist/index.js';
const dir = mkdtempSync(join(os.tmpdir(), 'mcp-profile-'));
const profDir = join(dir, 'prof');
mkdirSync(join(dir, 'policies'), { recursive: true });
writeFileSync(join(dir, 'policies', 'b.yaml'), stringify({ id: 'bench', version: 1, rules: [{ id: 'echo', effect: 'allow', tools: ['echo'], when: "'bench' in agent.roles" }] }));
const config = { storage: 'sqlite:./w.db', policies: './policies', server: { watch_policies: false }, agents: [{ id: 'a', roles: ['bench'], tenant: 'acme', trust: 'medium' }], mcp: { stdio_agent: 'a' }, upstreams: [{ name: 'everything', stdio: { command: process.execPath, args: [EVERY, 'stdio'] } }] };
const freePort = async () => { const srv = net.createServer(); await new Promise((r) => srv.listen(0, '127.0.0.1', r)); const { port } = srv.address(); await new Promise((r) => srv.close(r)); return port; };
/** Spawns node with `args`; resolves `ready` with the first match of `pattern` on its stderr. */
function spawnNode(args, pattern, env = {}) {
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  return { child, ready: new Promise((resolve, reject) => { let buf = ''; child.stderr.on('data', (c) => { buf += c; const m = pattern.exec(buf); if (m) resolve(m[1]); }); child.once('exit', (code) => reject(new Error(`exit ${code}: ${buf}`))); }) };
}
const wardenFlags = [...(process.env.WNODE ?? '').split(/\s+/).filter(Boolean), '--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-interval=${INTERVAL}`];
const client = new Client({ name: 'profile', version: '1' });
/** The Warden process profiled, and how to stop it so that it writes its profile. */
let warden;
if (MODE === 'http') {
  // `warden serve` /mcp, agent API key, upstream server-everything over Streamable HTTP (its own process).
  const { generateApiKey } = await import(join(root, 'dist/auth/credentials.js'));
  const cred = generateApiKey();
  const port = await freePort();
  const upstream = spawnNode([EVERY, 'streamableHttp'], /listening on port (\d+)/, { PORT: String(port) });
  await upstream.ready;
  writeFileSync(join(dir, 'w.yaml'), stringify({ ...config, agents: [{ ...config.agents[0], credentials: [{ key_id: cred.keyId, api_key_hash: cred.hash }] }], upstreams: [{ name: 'everything', http: { url: `http://127.0.0.1:${port}/mcp` } }] }));
  const serve = spawnNode([...wardenFlags, join(root, 'dist/surfaces/cli/main.js'), 'serve', '--config', join(dir, 'w.yaml'), '--port', '0', '--host', '127.0.0.1', '--log-level', 'warn'], /serving on (http:\/\/[^\s]+)/);
  const url = await serve.ready;
  await client.connect(new StreamableHTTPClientTransport(new URL(url + '/mcp'), { requestInit: { headers: { authorization: `Bearer ${cred.key}` } } }));
  warden = { pid: serve.child.pid, stop: async () => { await client.close(); serve.child.kill('SIGTERM'); await new Promise((r) => serve.child.once('exit', r)); upstream.child.kill('SIGTERM'); } };
} else {
  writeFileSync(join(dir, 'w.yaml'), stringify(config));
  const transport = new StdioClientTransport({ command: process.execPath, args: [...wardenFlags, join(root, 'dist/surfaces/cli/main.js'), 'mcp', '--config', join(dir, 'w.yaml')], cwd: dir, stderr: 'inherit' });
  await client.connect(transport);
  warden = { pid: transport.pid, stop: () => client.close() };
}
let seq = 0;
async function echo() { const m = `bench ${seq++}`; const r = await client.callTool({ name: 'echo', arguments: { message: m } }); if (r.content?.[0]?.text !== `Echo: ${m}`) throw new Error(JSON.stringify(r)); }
const loop = async (secs) => { let done = 0; const end = Date.now() + secs * 1000; await Promise.all(Array.from({ length: CONC }, async () => { while (Date.now() < end) { await echo(); done++; } })); return done; };
for (let i = 0; i < 300; i++) await echo();
await loop(2);
const cpu = (pid) => { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
const t0 = process.hrtime.bigint() / 1000n, c0 = cpu(warden.pid);
const calls = await loop(SECS);
const t1 = process.hrtime.bigint() / 1000n, c1 = cpu(warden.pid);
await warden.stop();
let file;
for (let i = 0; i < 100 && !file; i++) { await new Promise((r) => setTimeout(r, 200)); file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile')); }
await new Promise((r) => setTimeout(r, 500));
const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8'));

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map();
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i];
  const next = profile.timeDeltas[i + 1] ?? 0;
  if (t < t0 || t > t1) continue;
  self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + next);
}
if (process.env.KEEP) {
  // The load phase only, with its call count, for other tools (chrome devtools, speedscope).
  const samples = [], timeDeltas = [];
  let at = profile.startTime, last = Number(t0);
  for (let i = 0; i < profile.samples.length; i++) { at += profile.timeDeltas[i]; if (at >= t0 && at <= t1) { samples.push(profile.samples[i]); timeDeltas.push(at - last); last = at; } }
  writeFileSync(process.env.KEEP, JSON.stringify({ ...profile, startTime: Number(t0), endTime: Number(t1), samples, timeDeltas, calls }));
}
const sampled = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([id]) => nodes.get(id).callFrame.functionName === '(idle)').reduce((a, [, v]) => a + v, 0);
const per = (us) => (us / calls).toFixed(1).padStart(7);
console.log(`${calls} calls in ${(Number(t1 - t0) / 1e6).toFixed(2)} s (${(calls / (Number(t1 - t0) / 1e6)).toFixed(0)}/s); Warden CPU from /proc ${(((c1 - c0) * 1e6) / calls).toFixed(0)} µs/call; profiled busy ${per(sampled - idle)} µs/call`);
const short = (u) => u.replace(/.*node_modules\//, '').replace(/.*\/dist\//, '');
/** A frame's component: what it belongs to, for the attribution table. */
function component(f) {
  const u = f.url, n = f.functionName;
  if (n === '(idle)') return 'idle';
  if (n === '(garbage collector)') return 'GC';
  if (n === '(program)') return 'V8 (program)';
  if (!u) return 'native: ' + n;
  if (u.includes('node_modules/zod')) return 'zod';
  if (u.includes('@modelcontextprotocol/sdk')) return 'sdk ' + u.replace(/.*dist\/esm\//, '');
  if (u.includes('node_modules/')) return 'pkg ' + u.replace(/.*node_modules\//, '').split('/')[0];
  if (u.startsWith('node:')) return u;
  return short(u).split('/').slice(0, 2).join('/');
}
const by = (key) => { const m = new Map(); for (const [id, v] of self) { const k = key(nodes.get(id).callFrame); m.set(k, (m.get(k) ?? 0) + v); } return [...m].sort((a, b) => b[1] - a[1]); };

/*
 * Components: a sample belongs to whoever owns its innermost non-Node frame — the SDK (and zod
 * under it), a package, or Warden; a Warden sample goes to the first role in WARDEN whose
 * pattern any frame of its stack matches (a guard scanning the MCP result counts as result
 * inspection, not as a guard). Main thread only, sampled on wall time: a write that wakes the
 * reader and loses the CPU counts its wait (perf record shows pipe writes at a third of this).
 */
const WARDEN = [
  ['decision log: SQLite insert (timer flush)', /flushOnce|appendChained/],
  ['session state: SQLite (session buffer)', /session-buffer|putSession/],
  ['approval-for-retry lookup (SQLite)', /findApprovalForRetry|approvalForRetry/],
  ['decision log: record (redaction, compaction of the request)', /auditRecord|sharedRecordedRequest|redactShared|compactRecordedRequest/],
  ['decision log: seal (canonical JSON, SHA-256 chain)', /sealEntry|audit\/decision-log|hash-chain/],
  ['result inspection (injection scan, taint of the MCP result)', /inspectResult|scanResult|counterpartyTokens/],
  ['argument inspection (injection scan of args)', /scanArgs|addSignals/],
  ['policy decision + request building', /decideScreened|decideWithPolicy|\/policy\/|screen |buildAuthzen|checkArguments|request-builder/],
  ['telemetry (OTel spans, metrics)', /telemetry\.js|mcp-span/],
  ['HTTP upstream posts + SSE reading (upstream/lean-http-posts)', /lean-http-posts/],
  ['HTTP surface (surfaces/http: auth, lean answers, sessions)', /surfaces\/http/],
  ['gateway surface + upstream glue (surfaces/mcp, upstream/)', /surfaces\/mcp|upstream\//],
  ['pipeline, other (enforcement/*, store cache, session state)', /./],
];
const HTTP_SERVER = /^(fastify|find-my-way|avvio|light-my-request|@fastify|fast-json-stringify|secure-json-parse|pino)/;
const str = (f) => `${f.functionName} ${f.url.replace(/.*node_modules\//, 'nm/').replace(/.*\/dist\//, '')}:${f.lineNumber + 1}`;
const roleTime = new Map(); let busy = 0;
for (const [id, v] of self) {
  const leaf = nodes.get(id).callFrame;
  if (leaf.functionName === '(idle)') continue;
  busy += v;
  const stack = []; for (let x = id; x !== undefined; x = parent.get(x)) stack.push(nodes.get(x).callFrame);
  const text = stack.map(str);
  let k;
  if (leaf.functionName === '(garbage collector)') k = 'GC (main-thread pauses)';
  else if (leaf.functionName === '(program)') k = 'V8/native, unattributed';
  else if (text.some((s) => /Writable\.uncork|clearBuffer/.test(s))) k = 'pipe writes (uncork → writev, both pipes)';
  else {
    const owner = stack.find((f) => f.url && !f.url.startsWith('node:'));
    const u = owner?.url ?? '';
    if (!owner) k = text.some((s) => /_http_|HTTPParser|parserOn/.test(s)) ? 'HTTP (node:http, sockets)' : text.some((s) => /onStreamRead|readable/.test(s)) ? 'pipe reads (streams)' : 'event loop, microtasks, Node internals';
    else if (u.includes('@modelcontextprotocol/sdk') || u.includes('node_modules/zod')) {
      const client = text.some((s) => /client\/(index|stdio|streamableHttp)\.js|_onresponse|JS:request |protocol\.js:64\d|protocol\.js:7[0-4]\d/.test(s) || /^request nm\/@modelcontextprotocol/.test(s));
      k = client ? 'SDK client → upstream (Client.callTool, Protocol.request/_onresponse, its stdio reader)' : 'SDK server ← client (stdio reader, Protocol._onrequest, tools/call validation, answer)';
    } else if (u.includes('node_modules/')) {
      const pkg = u.replace(/.*node_modules\//, '').split('/')[0];
      k = pkg === 'better-sqlite3' ? 'decision log: SQLite insert (timer flush)' : pkg.startsWith('@opentelemetry') || pkg === 'prom-client' ? 'telemetry (OTel spans, metrics)' : pkg === 'undici' ? 'HTTP client → upstream (undici)' : HTTP_SERVER.test(pkg) ? 'HTTP server (fastify)' : null;
      if (!k) k = WARDEN.find(([, re]) => text.some((s) => re.test(s)))[0];
      if (pkg === 'better-sqlite3') k = WARDEN.slice(0, 3).find(([, re]) => text.some((s) => re.test(s)))?.[0] ?? k;
    } else k = WARDEN.find(([, re]) => text.some((s) => re.test(s)))[0];
  }
  roleTime.set(k, (roleTime.get(k) ?? 0) + v);
}
console.log('\ncomponents (main thread; share of busy samples, and µs per call of profiled busy time)');
for (const [k, v] of [...roleTime].sort((a, b) => b[1] - a[1])) console.log(`${((100 * v) / busy).toFixed(1).padStart(5)}% ${per(v)}  ${k}`);
console.log('\nself time by component (µs per call)');
for (const [k, v] of by(component).slice(0, 45)) console.log(per(v), k);
console.log('\nself time by function (µs per call)');
for (const [k, v] of by((f) => `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`).slice(0, Number(process.env.TOP ?? 40))) console.log(per(v), k);
// Inclusive: each sample counted once under the outermost frame whose "name file" contains the pattern.
const frames = (process.env.INCL ?? 'Protocol._onrequest ,Protocol._onresponse ,_onrequest ,_onresponse ,safeParse ,parse zod,ReadBuffer.readMessage,serializeMessage,deserializeMessage,execute enforcement/pipeline,callTool upstream/mcp-upstream,executedResult,processTicksAndRejections,writev,onStreamRead,emitReadable').split(',').filter(Boolean);
console.log('\ninclusive (µs per call)');
for (const pat of frames) {
  let sum = 0;
  for (const [id, v] of self) for (let x = id; x !== undefined; x = parent.get(x)) { const f = nodes.get(x).callFrame; if (`${f.functionName} ${short(f.url)}`.includes(pat)) { sum += v; break; } }
  console.log(per(sum), pat);
}
process.exit(0);
