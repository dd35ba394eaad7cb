/**
 * What a session's taint memory costs a call: the in-process pipeline (API key, guards on) calling
 * an untrusted tool (tagged `web`) whose every answer names a new amount, in one session whose
 * memory (`guards.taint.max_values`) is full, against the same call in a session that remembers
 * nothing new (a trusted tool's answer). The difference is what remembering costs; it should not
 * grow with `max_values`.
 *
 *   npm run build && node bench/pipeline/session-memory.js [other-dist ...]
 *
 * With other builds' dist/ folders as arguments (e.g. a worktree of an older commit, built), each
 * row runs for every build, interleaved in the same rounds (order reversed every other round), so
 * that noise lands on every build alike. CPU per call is process CPU time (user + system) over the
 * round ÷ calls; each call is followed by a yield to the event loop (setImmediate), as in
 * bench:pipeline, so the decision log's group commit runs as it would under I/O.
 *
 * Environment knobs: BENCH_ROUNDS=6, BENCH_CALLS=1500 (per round, per row and build),
 * BENCH_MEMORY_SIZES=512,10000 (the max_values of the rows).
 * Output: Markdown on stdout (not written to a file).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

import { percentile } from '../common.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CALLS = Number(process.env.BENCH_CALLS ?? 1_500);
const MEMORY_SIZES = (process.env.BENCH_MEMORY_SIZES ?? '512,10000').split(',').map(Number);
const builds = [resolve('dist'), ...process.argv.slice(2).map((d) => resolve(d))];

async function startWarden(dist, maxValues) {
  const { createWarden } = await import(pathToFileURL(join(dist, 'services/warden.js')).href);
  const { generateApiKey } = await import(pathToFileURL(join(dist, 'auth/credentials.js')).href);
  const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-memory-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(
    join(dir, 'policies', 'reads.yaml'),
    'id: reads\nversion: 1\nrules:\n  - id: reads\n    effect: allow\n    actions: [tool.call]\n    tools: [fetch_page, read_notes]\n',
  );
  const key = generateApiKey();
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
guards: { taint: { max_values: ${maxValues} } }
agents:
  - { id: reader, roles: [support], tenant: acme, credentials: [{ key_id: ${key.keyId}, api_key_hash: "${key.hash}" }] }
tools:
  - { name: fetch_page, effect: read, risk: low, tags: [web] }
  - { name: read_notes, effect: read, risk: low }
`,
  );
  const warden = await createWarden({ config: join(dir, 'warden.yaml') });
  let n = 0;
  // Each page names amounts never seen before, so every call adds to the session's memory.
  warden.tools.useExecutor('fetch_page', async () => ({ ok: true, result: { text: `Invoice ${++n}: total $${n}.25, fee €${n + 7}.50` } }));
  warden.tools.useExecutor('read_notes', async () => ({ ok: true, result: { text: 'Nothing new.' } }));
  return { warden, dir, apiKey: { kind: 'api_key', key: key.key } };
}

async function calls(w, tool, session, count, state) {
  for (let i = 0; i < count; i++) {
    const r = await w.warden.pipeline.call({ agentId: 'reader', tenant: 'acme', tool, args: { url: 'https://example.com/' }, sessionId: session, requestId: `m-${++state.n}` }, w.apiKey);
    if (r.status !== 'executed' || !r.success) throw new Error(`call not executed: ${JSON.stringify(r).slice(0, 300)}`);
    await yieldToLoop();
  }
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function main() {
  const rows = [];
  for (const size of MEMORY_SIZES) {
    const targets = [];
    for (const dist of builds) {
      const w = await startWarden(dist, size);
      const state = { n: 0 };
      // Fill the memory: each call adds ~2 hashes; then warm the trusted row too.
      await calls(w, 'fetch_page', 'full', Math.ceil(size / 2) + 200, state);
      await calls(w, 'read_notes', 'full', 200, state);
      targets.push({ dist, w, state, untrusted: [], trusted: [] });
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...targets].reverse() : targets;
      for (const t of order) {
        for (const kind of ['untrusted', 'trusted']) {
          const tool = kind === 'untrusted' ? 'fetch_page' : 'read_notes';
          const before = cpuUs();
          await calls(t.w, tool, 'full', CALLS, t.state);
          t[kind].push((cpuUs() - before) / CALLS);
        }
      }
    }
    for (const t of targets) {
      const session = await t.w.warden.store.getSession('acme', 'full');
      rows.push({ size, dist: t.dist, remembered: session?.flow?.taint?.length ?? 0, untrusted: median(t.untrusted), trusted: median(t.trusted) });
      await t.w.warden.close();
      rmSync(t.w.dir, { recursive: true, force: true });
    }
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Machine: ${cpu}, ${os.cpus().length} cores; Node ${process.version}; ${ROUNDS} interleaved rounds of ${CALLS} calls per row and build; medians of the rounds.\n`);
  console.log('| build | max_values | hashes remembered | CPU µs per call, untrusted tool (memory grows) | trusted tool (memory unchanged) | difference |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.dist} | ${r.size.toLocaleString('en-US')} | ${r.remembered.toLocaleString('en-US')} | ${r.untrusted.toFixed(1)} | ${r.trusted.toFixed(1)} | ${(r.untrusted - r.trusted).toFixed(1)} |`);
  }
}

const median = (xs) => percentile([...xs].sort((a, b) => a - b), 50);

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
