/**
 * Injection-guard benchmark: accuracy on the labelled corpus (test/guards/injection-corpus) and
 * scan time per KB, for Warden's `scanText` and, in the same run, a naive baseline — one
 * case-insensitive keyword regex of the kind many simple prompt-injection filters use.
 *
 *   npm run bench:guards            (builds, then node bench/guards/run.js)
 *
 * Environment knobs (optional): BENCH_ROUNDS=7 (timing rounds per input; the median round is
 * reported), BENCH_MIN_NS=2000000 (each round repeats an input until this much time has passed).
 *
 * Accuracy: every corpus text scanned once at the default threshold (0.5) with the corpus's
 * allowed hosts; precision, recall, F1, FP and FN counts. Timing: each input is scanned in a
 * loop for ≥ BENCH_MIN_NS per round (so timer resolution does not matter), BENCH_ROUNDS rounds,
 * median round; µs per KB = time per scan ÷ (UTF-16 length ÷ 1024). "Corpus, aggregate" is the
 * sum of per-text times over the sum of sizes (what a stream of such texts costs); p50/p99 are
 * over the per-text µs/KB, where short texts are dominated by fixed per-call cost.
 * Output: a Markdown report on stdout, also written to bench/guards/results.md.
 */
import { PROSE, fill } from './prose.js';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { scanText, scanValue } from '../../dist/guards/injection/index.js';
import { percentile, versionOf } from '../common.js';

const here = dirname(fileURLToPath(import.meta.url));
const corpusDir = join(here, '..', '..', 'test', 'guards', 'injection-corpus');
const env = process.env;
const ROUNDS = Number(env.BENCH_ROUNDS ?? 7);
const MIN_NS = BigInt(Number(env.BENCH_MIN_NS ?? 2_000_000));
const log = (...a) => console.error(...a);
let sink;

const load = (file) =>
  readFileSync(join(corpusDir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
const malicious = load('malicious.jsonl');
const benign = load('benign.jsonl');
const allowedHosts = JSON.parse(readFileSync(join(corpusDir, 'allowed-hosts.json'), 'utf8'));

/* ------------------------------------------------------------------ detectors */

const warden = {
  name: 'Warden scanText',
  // cache: false — timing repeats one input; with the cache on it would measure a lookup.
  detect: (text) => scanText(text, { allowedHosts, cache: false }).suspicious,
};

// The naive baseline: one keyword list, OR-ed into one case-insensitive regex — the shape of
// many "block these phrases" filters. Not Warden code; here to show what the structure buys.
const NAIVE = new RegExp(
  [
    'ignore (?:all )?(?:the )?(?:previous|prior|above) (?:instructions|prompts?)',
    'disregard (?:all )?(?:the )?(?:previous|prior|above)',
    'forget (?:all )?(?:your|previous) instructions',
    'you are now',
    'new instructions',
    'system prompt',
    'jailbreak',
    'developer mode',
    '\\bDAN\\b',
    'do anything now',
    '<script',
    'javascript:',
    'base64',
  ].join('|'),
  'i',
);
const naive = { name: 'naive keyword regex (baseline)', detect: (text) => NAIVE.test(text) };

/* ------------------------------------------------------------------ accuracy */

function accuracy(detector) {
  let tp = 0;
  let fn = 0;
  let fp = 0;
  let tn = 0;
  const byGroup = new Map();
  for (const m of malicious) {
    const hit = detector.detect(m.text);
    if (hit) tp++;
    else fn++;
    const group = m.note.split(':')[0].replace(/ \d+$/, '');
    const g = byGroup.get(group) ?? { n: 0, hit: 0 };
    g.n++;
    if (hit) g.hit++;
    byGroup.set(group, g);
  }
  for (const b of benign) {
    if (detector.detect(b.text)) fp++;
    else tn++;
  }
  const precision = tp / (tp + fp);
  const recall = tp / (tp + fn);
  const f1 = (2 * precision * recall) / (precision + recall);
  return { tp, fn, fp, tn, precision, recall, f1, byGroup };
}

/* ------------------------------------------------------------------ timing */

const now = () => process.hrtime.bigint();

/** Nanoseconds per call of fn(input): median of ROUNDS rounds, each ≥ MIN_NS long. */
function timePerCall(fn, input) {
  for (let i = 0; i < 5; i++) sink = fn(input);
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const t0 = now();
    let t = t0;
    while (t - t0 < MIN_NS) {
      sink = fn(input);
      n++;
      if ((n & 3) === 0 || n < 4) t = now();
    }
    rounds.push(Number(now() - t0) / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[Math.floor(rounds.length / 2)];
}

const perKb = (ns, text) => ns / 1000 / (text.length / 1024);

function corpusTiming(detector) {
  const texts = [...malicious, ...benign].map((e) => e.text);
  const per = [];
  let totalNs = 0;
  let totalKb = 0;
  for (const t of texts) {
    const ns = timePerCall(detector.detect, t);
    per.push(perKb(ns, t));
    totalNs += ns;
    totalKb += t.length / 1024;
  }
  per.sort((a, b) => a - b);
  return { aggregate: totalNs / 1000 / totalKb, p50: percentile(per, 50), p99: percentile(per, 99), meanPerText: per.reduce((a, b) => a + b, 0) / per.length };
}

/** Deterministic shuffle so synthetic inputs are the same on every run. */
function shuffled(items, seed) {
  const a = items.slice();
  let x = seed;
  for (let i = a.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}



function syntheticInputs() {
  const benignTexts = shuffled(benign.map((b) => b.text), 7);
  const maliciousTexts = shuffled(malicious.map((m) => m.text), 11);
  const inputs = [];
  for (const size of [1024, 10 * 1024, 100 * 1024]) {
    const label = size >= 1024 * 100 ? '100 KB' : size >= 10 * 1024 ? '10 KB' : '1 KB';
    inputs.push({ label: `${label} prose (plain business text)`, kind: 'benign', text: fill(PROSE, size) });
    inputs.push({ label: `${label} benign corpus mix`, kind: 'benign', text: fill(benignTexts, size) });
    // One injection in the middle of benign material: what an indirect injection looks like.
    const half = fill(benignTexts.slice(20), Math.max(0, (size - 300) / 2));
    inputs.push({ label: `${label} benign mix + 1 injection`, kind: 'malicious', text: `${half}\n\n${maliciousTexts[size % maliciousTexts.length]}\n\n${half}`.slice(0, size + 400) });
    inputs.push({ label: `${label} malicious corpus mix`, kind: 'malicious', text: fill(maliciousTexts, size) });
  }
  return inputs;
}

function pathological() {
  const mb = 1 << 20;
  return [
    ['1 MiB of one letter', 'a'.repeat(mb)],
    ['1 MiB of "[" (unclosed links)', '['.repeat(mb)],
    ['1 MiB of "<!--" (unclosed comments)', '<!--'.repeat(mb / 4)],
    ['1 MiB of zero-width spaces', '\u200b'.repeat(mb)],
    ['1 MiB of "ignore " repeated', 'ignore '.repeat(mb / 7)],
    ['1 MiB of 39-char base64-like runs', `${'Ab3+'.repeat(10).slice(0, 39)} `.repeat(mb / 40)],
    ['1 MiB of "<img src=x onerror="', '<img src=x onerror='.repeat(mb / 19)],
  ];
}

/* ------------------------------------------------------------------ report */

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const pct = (x) => (Number.isFinite(x) ? x.toFixed(3) : '—');

function main() {
  const cpus = os.cpus();
  const loadBefore = os.loadavg()[0];
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const header = [
    '# Warden injection guard benchmark',
    '',
    `Date: ${date} UTC. Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${os.platform()} ${os.release()}, ` +
      `${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}. Warden ${versionOf('warden')} (dist/guards/injection).`,
    `Corpus: ${malicious.length} malicious and ${benign.length} benign texts (test/guards/injection-corpus), default threshold 0.5, ` +
      `allowed hosts from allowed-hosts.json. Baseline in the same run: one case-insensitive keyword regex ` +
      `(ignore/disregard previous instructions, you are now, new instructions, system prompt, jailbreak, DAN, developer mode, <script, javascript:, base64).`,
    `Timing: each input scanned in a loop for ≥ ${Number(MIN_NS) / 1e6} ms per round, ${ROUNDS} rounds, median round; µs/KB = time per scan ÷ (UTF-16 length ÷ 1024).`,
    '',
  ];
  log(header.join('\n'));

  const detectors = [warden, naive];
  const acc = detectors.map((d) => ({ d, ...accuracy(d) }));
  const accTable = [
    '| detector | precision | recall | F1 | TP | FN | FP | TN |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...acc.map((a) => `| ${a.d.name} | ${pct(a.precision)} | ${pct(a.recall)} | ${pct(a.f1)} | ${a.tp} | ${a.fn} | ${a.fp} | ${a.tn} |`),
  ];
  const groups = [...acc[0].byGroup.keys()];
  const groupTable = [
    `| malicious group | texts | ${detectors.map((d) => d.name).join(' | ')} |`,
    `|---|---:|${detectors.map(() => '---:').join('|')}|`,
    ...groups.map((g) => `| ${g} | ${acc[0].byGroup.get(g).n} | ${acc.map((a) => `${a.byGroup.get(g).hit}`).join(' | ')} |`),
  ];
  log(accTable.join('\n'));

  const timing = detectors.map((d) => ({ d, ...corpusTiming(d) }));
  const corpusTable = [
    '| detector | corpus aggregate µs/KB | per-text µs/KB mean | p50 | p99 |',
    '|---|---:|---:|---:|---:|',
    ...timing.map((t) => `| ${t.d.name} | ${fmt(t.aggregate)} | ${fmt(t.meanPerText)} | ${fmt(t.p50)} | ${fmt(t.p99)} |`),
  ];
  log(corpusTable.join('\n'));

  const synth = syntheticInputs();
  const synthRows = [];
  for (const s of synth) {
    const w = timePerCall(warden.detect, s.text);
    const n = timePerCall(naive.detect, s.text);
    const flagged = scanText(s.text, { allowedHosts }).suspicious;
    synthRows.push(`| ${s.label} | ${fmt(s.text.length / 1024, 1)} | ${fmt(perKb(w, s.text))} | ${fmt(w / 1000, 1)} | ${flagged ? 'yes' : 'no'} | ${fmt(perKb(n, s.text), 2)} | ${naive.detect(s.text) ? 'yes' : 'no'} |`);
    log(synthRows.at(-1));
  }
  const synthTable = [
    '| input | KB | Warden µs/KB | Warden µs per scan | Warden flags | baseline µs/KB | baseline flags |',
    '|---|---:|---:|---:|---|---:|---|',
    ...synthRows,
  ];

  // Calibration: a plain JavaScript loop over 100 KB, to compare runs on busy or idle machines.
  const calText = synth.at(-4).text;
  const calNs = timePerCall((t) => {
    let x = 0;
    for (let i = 0; i < t.length; i++) x += t.charCodeAt(i) & 1;
    return x;
  }, calText);
  const calibration = perKb(calNs, calText);
  const synthProse100 = perKb(timePerCall(warden.detect, calText), calText);

  const pathoRows = [];
  for (const [label, text] of pathological()) {
    const t0 = now();
    const r = scanText(text);
    const ms = Number(now() - t0) / 1e6;
    pathoRows.push(`| ${label} | ${fmt(ms, 0)} | ${r.truncated ? 'yes' : 'no'} | ${r.findings.length} |`);
    log(pathoRows.at(-1));
  }
  const pathoTable = ['| pathological input (first call, not warmed) | ms | truncated | findings |', '|---|---:|---|---:|', ...pathoRows];

  // A typical argument object: what scanArgs sees on most tool calls. Anchor: JSON.stringify of it.
  const args = { to: 'bob@example.com', subject: 'Weekly report', body: 'Hi Bob, attached is the report for week 48. Thanks, Ann', amount: 12.5, order_id: 'o-456', date: '2026-11-02' };
  const anchorNs = timePerCall((v) => JSON.stringify(v), args);
  const argsCold = timePerCall((v) => scanValue(v, { cache: false }), args);
  const argsWarm = timePerCall((v) => scanValue(v), args);
  const idsOnly = { id: 'o-456', amount: 12.5, date: '2026-11-02', rows: [1, 2, 3] };
  const idsNs = timePerCall((v) => scanValue(v, { cache: false }), idsOnly);
  const small = { limit: 10, customer: 'acme', query: 'open orders' };
  const smallAnchorNs = timePerCall((v) => JSON.stringify(v), small);
  const smallNs = timePerCall((v) => scanValue(v, { cache: false }), small);
  const argsTable = [
    '| argument object | µs per scan | × JSON.stringify of it |',
    '|---|---:|---:|',
    `| 6 fields, one sentence (no cache) | ${fmt(argsCold / 1000, 2)} | ${fmt(argsCold / anchorNs, 1)} |`,
    `| same, seen before (content cache) | ${fmt(argsWarm / 1000, 2)} | ${fmt(argsWarm / anchorNs, 1)} |`,
    `| ids, numbers and dates only (nothing worth scanning) | ${fmt(idsNs / 1000, 2)} | ${fmt(idsNs / anchorNs, 1)} |`,
    `| {limit: 10, customer: "acme", query: "open orders"} (no cache) | ${fmt(smallNs / 1000, 2)} | ${fmt(smallNs / smallAnchorNs, 1)} |`,
  ];
  log(argsTable.join('\n'));

  const w = acc[0];
  const wt = timing[0];
  const mark = (ok) => (ok ? 'PASS' : 'FAIL');
  const large = synthRows.length;
  const targets = [
    `- ${mark(w.recall >= 0.9)} recall ≥ 0.9: ${pct(w.recall)}`,
    `- ${mark(w.precision >= 0.95)} precision ≥ 0.95: ${pct(w.precision)}`,
    `- ${mark(wt.aggregate < 50)} < 50 µs per KB over the corpus (aggregate): ${fmt(wt.aggregate)} µs/KB`,
    `- ${mark(argsCold < 10_000)} ≤ 10 µs for a typical argument object (no cache): ${fmt(argsCold / 1000, 2)} µs`,
  ];

  const report = [
    ...header,
    '## Accuracy (default threshold 0.5)',
    '',
    ...accTable,
    '',
    'Detected per group of the malicious corpus (the note prefix; "hard" holds paraphrases, leetspeak, homoglyphs, ROT13 and an unsupported language, kept in the corpus although they are missed):',
    '',
    ...groupTable,
    '',
    '## Scan time over the corpus',
    '',
    ...corpusTable,
    '',
    'Corpus texts are short (median a few hundred characters), so per-text µs/KB is dominated by the fixed cost of a call; the aggregate is the figure for a stream of such texts.',
    '',
    `## Scan time on larger inputs (${large} inputs)`,
    '',
    ...synthTable,
    '',
    '"benign corpus mix" concatenates corpus texts, which are unusually dense in trigger words (security writing, code, chat logs); "prose" is ordinary business text.',
    '',
    '## Argument objects (scanValue)',
    '',
    ...argsTable,
    '',
    '## Pathological inputs (must return; caps: 192 KiB head + 64 KiB tail per string)',
    '',
    ...pathoTable,
    '',
    '## Targets (reported, not asserted)',
    '',
    ...targets,
    '',
    '## Notes',
    '',
    `- Calibration: a bare \`charCodeAt\` loop over the 100 KB prose input costs ${fmt(calibration, 2)} µs/KB in this run, a yardstick for how busy the machine was: compare it across runs before comparing the other timings (Warden's 100 KB prose figure is ${fmt(synthProse100 / calibration, 1)}× this loop).`,
    `- Load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${os.loadavg()[0].toFixed(2)} on ${cpus.length} cores. Other processes share the machine; timings are inflated accordingly.`,
    '- The baseline is fast because it is one regex that stops at the first hit; it misses hidden text, encodings, other languages and exfiltration links, and flags security writing and code that merely contain its keywords.',
    '',
  ].join('\n');
  console.log(report);
  writeFileSync(join(here, 'results.md'), `${report}\n`);
  log(`\nwritten ${join(here, 'results.md')} (${typeof sink})`);
}

main();
