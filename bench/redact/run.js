/**
 * Redactor micro-benchmark: nanoseconds per call of `redact` on a typical tool-argument object
 * (10 keys, two nested levels, one email, one sensitive key) and of `redactText` on 10 KB of
 * log-like text, with a JSON round trip of the same object as a floor for "copying at all".
 *
 *   npm run build && node bench/redact/run.js        (BENCH_MS=1000 per case by default)
 *
 * Each case is warmed up, then run in batches until BENCH_MS has passed; the figure is the median
 * of the batches' mean time per call. Output: a Markdown table on stdout.
 */
import { performance } from 'node:perf_hooks';

import { createRedactor } from '../../dist/audit/redact.js';

const BUDGET_MS = Number(process.env.BENCH_MS ?? 1_000);
const BATCH = 200;
let sink; // keeps results alive so no call is optimised away

const toolArgs = {
  order_id: 'o-456',
  amount: 200,
  currency: 'EUR',
  reason: 'Customer reported a damaged parcel, refund requested',
  customer: {
    name: 'Alice Martin',
    email: 'alice.martin@example.com',
    address: { city: 'Lyon', country: 'FR', postcode: '69002' },
  },
  items: [
    { sku: 'SKU-1001', qty: 1, price: 120.5 },
    { sku: 'SKU-2002', qty: 2, price: 39.75 },
  ],
  notify: true,
  api_key: 'not-a-real-key',
  tags: ['refund', 'damaged', 'priority'],
  requested_at: '2026-11-02T10:00:00Z',
};

function logText(bytes) {
  const lines = [
    'GET /v1/orders/o-456 200 12ms trace=4bf92f3577b34da6a3ce929d0e0e4736',
    'user alice.martin@example.com opened ticket #4521 about a damaged parcel',
    'retrying upstream call (attempt 2 of 3) after connection reset by peer',
    'policy refunds v3 rule large-refund: require approval from finance_manager',
    'tool read_orders returned 25 rows in 8.4 ms; cache miss for tenant acme-corp',
    'Authorization header present; session run-42 budget 37/100 calls used',
  ];
  let out = '';
  for (let i = 0; out.length < bytes; i++) out += `${lines[i % lines.length]}\n`;
  return out.slice(0, bytes);
}
const text10k = logText(10 * 1024);

function measure(fn) {
  const warmEnd = performance.now() + Math.min(300, BUDGET_MS / 3);
  while (performance.now() < warmEnd) for (let i = 0; i < BATCH; i++) sink = fn();
  const perCall = [];
  const end = performance.now() + BUDGET_MS;
  while (performance.now() < end) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) sink = fn();
    perCall.push(Number(process.hrtime.bigint() - t0) / BATCH);
  }
  perCall.sort((a, b) => a - b);
  return { median: perCall[Math.floor(perCall.length / 2)], calls: perCall.length * BATCH };
}

const redactor = createRedactor();
const cases = [
  ['redact(tool args, 10 keys, nested, 1 email)', () => redactor.redact(toolArgs)],
  ['JSON round trip of the same object (floor)', () => JSON.parse(JSON.stringify(toolArgs))],
  ['containsSensitive(tool args)', () => redactor.containsSensitive(toolArgs)],
  ['redactText(10 KB log text)', () => redactor.redactText(text10k)],
  ['redactText(short plain string)', () => redactor.redactText('Customer reported a damaged parcel')],
];

console.log(`Redactor micro-benchmark, node ${process.version}, ${BUDGET_MS} ms per case\n`);
console.log('| case | ns / call | calls |');
console.log('|---|---:|---:|');
for (const [name, fn] of cases) {
  const { median, calls } = measure(fn);
  console.log(`| ${name} | ${Math.round(median).toLocaleString('en-US')} | ${calls.toLocaleString('en-US')} |`);
}
if (sink === undefined) console.log('');
