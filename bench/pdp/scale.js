/**
 * Warden only, on the bench:pdp workload (200 tools): p50 and CPU time per decision at several set
 * sizes, and how many rules each request evaluates. Quicker than run.js (no Cedar or casbin), and
 * it can time two builds side by side in one process, which is how a change to the PDP is judged
 * on a shared, noisy machine (compare ratios, not absolute figures):
 *
 *   npm run build && node bench/pdp/scale.js                       (dist/ only)
 *   node bench/pdp/scale.js before=/tmp/old/index.js after=dist    (each arg: label=module or dist dir)
 *
 * Knobs: BENCH_SIZES=100,1000,10000 BENCH_SAMPLES=10000 BENCH_ROUNDS=5 (cells are interleaved
 * round by round, and the lowest p50 of the rounds is kept: noise only ever adds time).
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateRequests, generateRules, toWardenRequest, toWardenSources } from './workload.js';
import { fmtRatio, fmtUs, percentile } from '../common.js';

const env = process.env;
const SIZES = (env.BENCH_SIZES ?? '100,1000,10000').split(',').map(Number);
const SAMPLES = Number(env.BENCH_SAMPLES ?? 10_000);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 5);
const now = () => process.hrtime.bigint();
let sink;

function moduleUrl(spec) {
  const path = isAbsolute(spec) ? spec : resolve(process.cwd(), spec);
  return pathToFileURL(path.endsWith('.js') ? path : `${path}/index.js`).href;
}

const specs = (process.argv.slice(2).length ? process.argv.slice(2) : ['dist=dist']).map((arg) => {
  const [label, spec] = arg.includes('=') ? arg.split('=') : [arg, arg];
  return { label, url: moduleUrl(spec) };
});

/**
 * Per request (deny and allow lists; this workload has no approval rules): the rules the condition
 * index leaves, and of those the ones still judged (a build whose index proves whole conditions
 * hands those over as sure matches; an older build judges all it leaves).
 */
function evaluatedPerRequest(policySet, inputs) {
  const sample = inputs.slice(0, 2_000);
  let left = 0;
  let judged = 0;
  for (const r of sample) {
    const c = policySet.index.candidates(r.action, r.resource.id);
    const activation = { agent: r.actor.agent, tenant: r.tenant, action: r.action, resource: r.resource, args: r.args, context: r.context };
    for (const index of [c.byCondition.deny, c.byCondition.allow]) {
      if (typeof index.collect === 'function' && index.collect.length === 3) {
        const sure = [];
        const maybe = [];
        index.collect(activation, sure, maybe);
        left += sure.length + maybe.length;
        judged += maybe.length;
      } else {
        const n = index.select(activation).length;
        left += n;
        judged += n;
      }
    }
  }
  return { left: left / sample.length, judged: judged / sample.length };
}

function measure(fn, inputs) {
  for (let i = 0; i < 5_000; i++) sink = fn(inputs[i % inputs.length]);
  const samples = new Float64Array(SAMPLES);
  const cpu0 = process.cpuUsage();
  for (let n = 0; n < SAMPLES; n++) {
    const input = inputs[n % inputs.length];
    const t0 = now();
    sink = fn(input);
    samples[n] = Number(now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  samples.sort();
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), cpuUs: (cpu.user + cpu.system) / SAMPLES };
}

const engines = [];
for (const s of specs) engines.push({ ...s, lib: await import(s.url) });
const requests = generateRequests(20_000);

const cells = [];
for (const size of SIZES) {
  const rules = generateRules(size);
  for (const e of engines) {
    const { policySet, diagnostics } = e.lib.compilePolicies(toWardenSources(rules));
    if (!policySet) throw new Error(`${e.label}: ${JSON.stringify(diagnostics.slice(0, 3))}`);
    const inputs = requests.map((r) => e.lib.parseActionRequest(toWardenRequest(r)).value);
    cells.push({
      size,
      label: e.label,
      fn: (req) => e.lib.decide(policySet, req),
      inputs,
      candidates: requests.reduce((sum, r) => sum + policySet.index.candidates('tool.call', r.tool).size, 0) / requests.length,
      evaluated: evaluatedPerRequest(policySet, inputs),
      best: undefined,
    });
  }
}

for (let round = 0; round < ROUNDS; round++) {
  for (const cell of cells) {
    const m = measure(cell.fn, cell.inputs);
    if (!cell.best || m.p50 < cell.best.p50) cell.best = { ...m, cpuUs: Math.min(m.cpuUs, cell.best?.cpuUs ?? Infinity) };
    else cell.best.cpuUs = Math.min(cell.best.cpuUs, m.cpuUs);
  }
}

const lines = [
  '| build | rules | candidates (action+tool) | left by the condition index | judged | p50 µs | p99 µs | CPU µs/decision | p50 ÷ p50 at smallest |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const e of engines) {
  const own = cells.filter((c) => c.label === e.label);
  const base = own[0].best.p50;
  for (const c of own) {
    lines.push(
      `| ${c.label} | ${c.size.toLocaleString('en-US')} | ${c.candidates.toFixed(2)} | ${c.evaluated.left.toFixed(2)} | ${c.evaluated.judged.toFixed(2)} | ${fmtUs(c.best.p50)} | ${fmtUs(c.best.p99)} | ${c.best.cpuUs.toFixed(2)} | ${fmtRatio(c.best.p50 / base)}x |`,
    );
  }
}
console.log(lines.join('\n'));
console.error(`(best of ${ROUNDS} interleaved rounds, ${SAMPLES} samples each; last effect ${sink?.effect})`);
