/**
 * Warden-only hot loop for profiling the PDP on the benchmark workload:
 *   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/prof bench/pdp/profile.js 10000 [seconds]
 */
import { compilePolicies, decide, parseActionRequest } from '../../dist/index.js';
import { generateRequests, generateRules, toWardenRequest, toWardenSources } from './workload.js';

const size = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 5);
const { policySet, diagnostics } = compilePolicies(toWardenSources(generateRules(size)));
if (!policySet) throw new Error(JSON.stringify(diagnostics.slice(0, 3)));
const requests = generateRequests(20_000).map((r) => parseActionRequest(toWardenRequest(r)).value);

let n = 0;
let sink;
const end = process.hrtime.bigint() + BigInt(seconds * 1e9);
const start = process.hrtime.bigint();
while (process.hrtime.bigint() < end) {
  for (let k = 0; k < 256; k++) sink = decide(policySet, requests[n++ % requests.length]);
}
const secs = Number(process.hrtime.bigint() - start) / 1e9;
console.log(`${size} rules: ${Math.round(n / secs).toLocaleString('en-US')} decisions/s, ${((secs / n) * 1e6).toFixed(2)} µs mean (last effect ${sink.effect})`);
