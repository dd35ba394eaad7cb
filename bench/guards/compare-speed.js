/**
 * Injection-scan speed of two builds, side by side in ONE process: interleaved rounds (the order
 * alternates), CPU time per call (process.cpuUsage, steadier than wall time on a shared machine),
 * medians. Anchors measured in the same rounds: JSON.stringify of each argument object, and a
 * plain charCodeAt loop over 2 KB of prose (µs/KB, the "calibration" of run.js) — report ratios
 * to them, never a figure from another run.
 *
 *   node bench/guards/compare-speed.js OLD_DIST [NEW_DIST]     (NEW_DIST defaults to ./dist)
 *
 * Each input cycles over VARIANTS distinct variants (paragraphs rotated, one value changed, a
 * trailing newline added): the needle pass (triggers.ts) remembers its last two texts, so one
 * text scanned over and over would time a memo hit, not a full scan.
 *
 * Knobs: BENCH_ROUNDS=9 (rounds), BENCH_MS=60 (milliseconds per input per build per round).
 * Pair it with compare-builds.js, which checks that the two builds return the same scans.
 */
import { PROSE, fill } from './prose.js';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const [oldDir, newDir = join(root, 'dist')] = process.argv.slice(2);
if (!oldDir) {
  console.error('usage: node bench/guards/compare-speed.js OLD_DIST [NEW_DIST]');
  process.exit(2);
}
const load = (dir) => import(pathToFileURL(resolve(dir, 'guards/injection/index.js')).href);
const builds = [
  ['before', await load(oldDir)],
  ['after', await load(newDir)],
];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const MS = Number(process.env.BENCH_MS ?? 60);

const corpus = (f) =>
  readFileSync(join(root, 'test', 'guards', 'injection-corpus', f), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l).text);
const malicious = corpus('malicious.jsonl');
const all = [...malicious, ...corpus('benign.jsonl')];
const prose = fill(PROSE, 2048);
// A benign tool result of ~3 KB: a JSON search result with prose snippets.
const result = { total: 3, items: PROSE.slice(0, 4).map((p, i) => ({ id: `doc-${i + 1}`, title: p.split('.')[0], snippet: p, url: `https://docs.example.com/d/${i + 1}`, score: 0.9 - i / 10, updated: '2026-11-0' + (i + 1) })) };
const resultKb = JSON.stringify(result).length / 1024;
const attack = malicious.find((t) => t.length > 300 && t.length < 800);
const allKb = all.join('').length / 1024;
/** Distinct variants each input cycles over: more than the needle pass's 2-entry memo. */
const VARIANTS = 4;
const variants = (make) => Array.from({ length: VARIANTS }, (_, i) => make(i));
const customers = ['acme', 'globex', 'initech', 'umbrella'];
const smalls = variants((i) => ({ limit: 10, customer: customers[i], query: 'open orders' }));
const args6s = variants((i) => ({ to: 'bob@example.com', subject: 'Weekly report', body: `Hi Bob, attached is the report for week ${45 + i}. Thanks, Ann`, amount: 12.5, order_id: 'o-456', date: '2026-11-02' }));
const rotated = (items, i) => [...items.slice(i), ...items.slice(0, i)];
const proses = variants((i) => fill(rotated(PROSE, i), 2048));
// Longer than one classifier window: its paragraphs are read alone too (classifier.ts).
const prose8s = variants((i) => {
  let s = fill(rotated(PROSE, i), 2048);
  while (s.length < 8192) s += '\n\n' + PROSE[(s.length * 7 + i) % PROSE.length];
  return s.slice(0, 8192);
});
const results = variants((i) => ({ ...result, total: 3 + i }));
const attacks = variants((i) => attack + '\n'.repeat(i));
const off = { cache: false };
/** fn of the next variant in turn. */
const cycling = (list, fn) => {
  let i = 0;
  return (M) => fn(M, list[i++ % list.length]);
};

let sink;
const work = [
  ['argument object {limit, customer, query}', cycling(smalls, (M, v) => M.scanValue(v, off)), { anchor: 'stringify small' }],
  ['argument object, 6 fields, one sentence', cycling(args6s, (M, v) => M.scanValue(v, off)), { anchor: 'stringify args6' }],
  ['2 KB prose (scanText)', cycling(proses, (M, v) => M.scanText(v, off)), { kb: 2 }],
  ['8 KB prose, 5 paragraphs repeated (scanText)', cycling(prose8s, (M, v) => M.scanText(v, off)), { kb: 8 }],
  [`tool result, ${resultKb.toFixed(1)} KB JSON (scanValue)`, cycling(results, (M, v) => M.scanValue(v, off)), { kb: resultKb }],
  [`attack text (${attack.length} chars)`, cycling(attacks, (M, v) => M.scanText(v, off)), { kb: attack.length / 1024 }],
  [`in-repo corpus, ${all.length} texts one after another`, (M) => { for (const t of all) sink = M.scanText(t, off); }, { kb: allKb }],
];
const anchors = {
  'stringify small': cycling(smalls, (_, v) => JSON.stringify(v)),
  'stringify args6': cycling(args6s, (_, v) => JSON.stringify(v)),
  calibration: () => {
    let x = 0;
    for (let i = 0; i < prose.length; i++) x += prose.charCodeAt(i) & 1;
    return x;
  },
};

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
/** CPU µs per call of fn over MS milliseconds of wall time. */
function time(fn) {
  const end = process.hrtime.bigint() + BigInt(MS * 1e6);
  let n = 0;
  const c0 = cpu();
  let t = process.hrtime.bigint();
  while (t < end) {
    sink = fn();
    n++;
    if ((n & 3) === 0 || n < 8) t = process.hrtime.bigint();
  }
  return (cpu() - c0) / n;
}

for (const [, f] of work) for (const [, M] of builds) for (let i = 0; i < 20; i++) sink = f(M);
const samples = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, f] of Object.entries(anchors)) (samples[k] ??= []).push(time(f));
  for (const [label, f] of work) {
    const order = r % 2 ? builds : [...builds].reverse();
    for (const [name, M] of order) (samples[`${label}|${name}`] ??= []).push(time(() => f(M)));
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const calibration = median(samples.calibration) / 2; // µs per KB
const fmt = (x, d = 2) => x.toFixed(d);
const lines = [
  `Same run, ${ROUNDS} interleaved rounds, CPU time, medians; each input cycles over ${VARIANTS} distinct variants. Calibration (charCodeAt loop over 2 KB of prose): ${fmt(calibration, 3)} µs/KB; ` +
    `JSON.stringify: ${fmt(median(samples['stringify small']), 3)} µs ({limit, customer, query}), ${fmt(median(samples['stringify args6']), 3)} µs (6 fields).`,
  '',
  '| input | before | after | after ÷ before | before → after, × anchor |',
  '|---|---:|---:|---:|---:|',
];
for (const [label, , { kb, anchor }] of work) {
  const a = median(samples[`${label}|before`]);
  const b = median(samples[`${label}|after`]);
  if (anchor) {
    const s = median(samples[anchor]);
    lines.push(`| ${label} | ${fmt(a)} µs | ${fmt(b)} µs | ${fmt(b / a, 3)} | ${fmt(a / s, 1)} → ${fmt(b / s, 1)} × JSON.stringify |`);
  } else {
    lines.push(`| ${label} | ${fmt(a / kb, 1)} µs/KB | ${fmt(b / kb, 1)} µs/KB | ${fmt(b / a, 3)} | ${fmt(a / kb / calibration, 1)} → ${fmt(b / kb / calibration, 1)} × calibration |`);
  }
}
console.log(lines.join('\n'));
console.error(typeof sink);
