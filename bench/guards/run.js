/**
 * Injection-guard benchmark: accuracy on the labelled corpus (test/guards/injection-corpus) and
 * scan time per KB, for Warden's `scanText` and, in the same run, a naive baseline — one
 * case-insensitive keyword regex of the kind many simple prompt-injection filters use.
 *
 *   npm run bench:guards            (builds, then node bench/guards/run.js)
 *
 * Environment knobs (optional): BENCH_ROUNDS=7 (timing rounds per input; the median round is
 * reported), BENCH_MIN_NS=2000000 and BENCH_MIN_CALLS=16 (each round repeats an input until this much time has passed and this many calls were made).
 *
 * Accuracy: every corpus text scanned once at the default threshold (0.5) with the corpus's
 * allowed hosts; precision, recall, F1, FP and FN counts. Timing: each input is scanned in a
 * loop for ≥ BENCH_MIN_NS per round (so timer resolution does not matter), BENCH_ROUNDS rounds,
 * median round; µs per KB = time per scan ÷ (UTF-16 length ÷ 1024). The loop cycles over
 * VARIANTS distinct variants of each input (rotated paragraphs, one value changed, a trailing
 * newline added): the needle pass (triggers.ts) remembers its last two texts, so scanning one
 * string over and over would time a memo hit, not a scan. "Corpus, aggregate" is the time of a
 * pass over all corpus texts, each once, over the sum of sizes (what a stream of such texts
 * costs); p50/p99 are over the per-text µs/KB (each text's own loop, cycled), where short texts
 * are dominated by fixed per-call cost.
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
/** Calls per round at least: a 2 ms round holds ~5 scans of a 10 KB text, and whether a GC pause falls in a round swung that row between runs (55.6, 63.3, 67.8 µs/KB). */
const MIN_CALLS = Number(env.BENCH_MIN_CALLS ?? 16);
const log = (...a) => console.error(...a);
/** Distinct variants each timed input cycles over: more than the needle pass's 2-entry memo. */
const VARIANTS = 4;
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

/**
 * Nanoseconds per call of fn(input): median of ROUNDS rounds, each ≥ MIN_NS long. `inputs` is one
 * input or an array of variants, called in turn (see VARIANTS).
 */
function timePerCall(fn, inputs) {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const k = list.length;
  for (let i = 0; i < 5 * k; i++) sink = fn(list[i % k]);
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const t0 = now();
    let t = t0;
    while (t - t0 < MIN_NS || n < MIN_CALLS) {
      sink = fn(list[n % k]);
      n++;
      if ((n & 3) === 0 || n < 4) t = now();
    }
    rounds.push(Number(now() - t0) / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[Math.floor(rounds.length / 2)];
}

/** Mean UTF-16 length of a text or of its variants. */
const lengthOf = (texts) => (Array.isArray(texts) ? texts.reduce((a, t) => a + t.length, 0) / texts.length : texts.length);
const perKb = (ns, texts) => ns / 1000 / (lengthOf(texts) / 1024);
/** The variants of one corpus text: itself and with 1..VARIANTS-1 trailing newlines (same words, distinct strings). */
const textVariants = (text) => Array.from({ length: VARIANTS }, (_, i) => text + '\n'.repeat(i));
/** The items rotated by i (variant i of a text built from them). */
const rotated = (items, i) => [...items.slice(i % items.length), ...items.slice(0, i % items.length)];

function corpusTiming(detector) {
  const texts = [...malicious, ...benign].map((e) => e.text);
  const per = [];
  for (const t of texts) {
    const variants = textVariants(t);
    per.push(perKb(timePerCall(detector.detect, variants), variants));
  }
  per.sort((a, b) => a - b);
  // The aggregate is timed as a stream: every text once per pass, as a stream of such texts is
  // scanned. Summing the per-text loops instead gives a lower figure (each text's loop runs with
  // warm caches: ~146 against ~250 µs/KB on a shared 2-core host).
  const totalKb = texts.reduce((a, t) => a + t.length, 0) / 1024;
  const passNs = timePerCall(() => {
    let hits = 0;
    for (const t of texts) if (detector.detect(t)) hits++;
    return hits;
  }, null);
  return { aggregate: passNs / 1000 / totalKb, p50: percentile(per, 50), p99: percentile(per, 99), meanPerText: per.reduce((a, b) => a + b, 0) / per.length };
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
  // Each input is VARIANTS texts of the same kind: its parts rotated by 0..VARIANTS-1.
  const each = (make) => Array.from({ length: VARIANTS }, (_, i) => make(i));
  for (const size of [1024, 10 * 1024, 100 * 1024]) {
    const label = size >= 1024 * 100 ? '100 KB' : size >= 10 * 1024 ? '10 KB' : '1 KB';
    inputs.push({ label: `${label} prose (plain business text)`, kind: 'benign', texts: each((i) => fill(rotated(PROSE, i), size)) });
    inputs.push({ label: `${label} benign corpus mix`, kind: 'benign', texts: each((i) => fill(rotated(benignTexts, i), size)) });
    // One injection in the middle of benign material: what an indirect injection looks like.
    inputs.push({
      label: `${label} benign mix + 1 injection`,
      kind: 'malicious',
      texts: each((i) => {
        const half = fill(rotated(benignTexts.slice(20), i), Math.max(0, (size - 300) / 2));
        return `${half}\n\n${maliciousTexts[size % maliciousTexts.length]}\n\n${half}`.slice(0, size + 400);
      }),
    });
    inputs.push({ label: `${label} malicious corpus mix`, kind: 'malicious', texts: each((i) => fill(rotated(maliciousTexts, i), size)) });
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
    `Timing: each input scanned in a loop for ≥ ${Number(MIN_NS) / 1e6} ms and ≥ ${MIN_CALLS} calls per round, ${ROUNDS} rounds, median round; µs/KB = time per scan ÷ (UTF-16 length ÷ 1024). ` +
      `Inputs are cycled: each loop takes ${VARIANTS} distinct variants of its input in turn (prose and mixes: their paragraphs or texts rotated; corpus texts: 0–${VARIANTS - 1} trailing newlines added, and the corpus aggregate is one pass over all its texts, each once; argument objects: one value changed), ` +
      `because the needle pass remembers its last two texts and one text scanned over and over would time a memo hit, not a full scan.`,
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
  /** "yes" / "no" when every variant agrees, else how many of them are flagged. */
  const flags = (texts, detect) => {
    const k = texts.filter(detect).length;
    return k === texts.length ? 'yes' : k === 0 ? 'no' : `${k} of ${texts.length}`;
  };
  const synthKb = [];
  for (const s of synth) {
    const w = timePerCall(warden.detect, s.texts);
    const n = timePerCall(naive.detect, s.texts);
    const flagged = flags(s.texts, (t) => scanText(t, { allowedHosts }).suspicious);
    synthKb.push({ label: s.label, usPerKb: perKb(w, s.texts) });
    synthRows.push(`| ${s.label} | ${fmt(lengthOf(s.texts) / 1024, 1)} | ${fmt(perKb(w, s.texts))} | ${fmt(w / 1000, 1)} | ${flagged} | ${fmt(perKb(n, s.texts), 2)} | ${flags(s.texts, naive.detect)} |`);
    log(synthRows.at(-1));
  }
  const synthTable = [
    '| input | KB | Warden µs/KB | Warden µs per scan | Warden flags | baseline µs/KB | baseline flags |',
    '|---|---:|---:|---:|---|---:|---|',
    ...synthRows,
  ];

  // Calibration: a plain JavaScript loop over 100 KB, to compare runs on busy or idle machines.
  const calTexts = synth.at(-4).texts;
  const calNs = timePerCall((t) => {
    let x = 0;
    for (let i = 0; i < t.length; i++) x += t.charCodeAt(i) & 1;
    return x;
  }, calTexts);
  const calibration = perKb(calNs, calTexts);
  const synthProse100 = perKb(timePerCall(warden.detect, calTexts), calTexts);

  const pathoRows = [];
  for (const [label, text] of pathological()) {
    const t0 = now();
    const r = scanText(text);
    const ms = Number(now() - t0) / 1e6;
    pathoRows.push(`| ${label} | ${fmt(ms, 0)} | ${r.truncated ? 'yes' : 'no'} | ${r.findings.length} |`);
    log(pathoRows.at(-1));
  }
  const pathoTable = ['| pathological input (first call, not warmed) | ms | truncated | findings |', '|---|---:|---|---:|', ...pathoRows];

  // Typical argument objects: what scanArgs sees on most tool calls, each as VARIANTS objects of
  // one shape with one value changed. Anchor: JSON.stringify of them.
  const shapes = (make) => Array.from({ length: VARIANTS }, (_, i) => make(i));
  const customers = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark'];
  const argShapes = [
    {
      label: '6 fields, one sentence',
      typical: true,
      values: shapes((i) => ({ to: 'bob@example.com', subject: 'Weekly report', body: `Hi Bob, attached is the report for week ${45 + i}. Thanks, Ann`, amount: 12.5, order_id: 'o-456', date: '2026-11-02' })),
    },
    { label: 'flat ids and limits {customer_id, limit, offset}', typical: true, values: shapes((i) => ({ customer_id: `c-${101 + i}`, limit: 10, offset: 20 * i })) },
    { label: '{limit: 10, customer, query: "open orders"}', typical: true, values: shapes((i) => ({ limit: 10, customer: customers[i % customers.length], query: 'open orders' })) },
    {
      label: '{customer_id, limit, note: a sentence of text}',
      typical: true,
      values: shapes((i) => ({ customer_id: 'c-1', limit: 10, note: `Please send the ${['March', 'April', 'May', 'June', 'July', 'August'][i % 6]} invoice to the billing contact.` })),
    },
    {
      label: 'nested {filter: {status, customer: {id, name}}, sort: [..], page: {..}}',
      typical: true,
      values: shapes((i) => ({ filter: { status: 'open', customer: { id: `c-${17 + i}`, name: 'Acme GmbH' } }, sort: [{ field: 'created', dir: 'desc' }], page: { limit: 25, cursor: `cur-${1000 + i}` } })),
    },
    { label: 'ids, numbers and dates only (nothing worth scanning)', typical: false, values: shapes((i) => ({ id: `o-${456 + i}`, amount: 12.5, date: '2026-11-02', rows: [1, 2, 3] })) },
  ];
  const argRows = [];
  const argResults = [];
  for (const a of argShapes) {
    const anchorNs = timePerCall((v) => JSON.stringify(v), a.values);
    const ns = timePerCall((v) => scanValue(v, { cache: false }), a.values);
    argResults.push({ ...a, ns });
    argRows.push(`| ${a.label} (no cache) | ${fmt(ns / 1000, 2)} | ${fmt(ns / anchorNs, 1)} |`);
    if (a === argShapes[0]) {
      const warmNs = timePerCall((v) => scanValue(v), a.values);
      argRows.push(`| same, seen before (content cache) | ${fmt(warmNs / 1000, 2)} | ${fmt(warmNs / anchorNs, 1)} |`);
    }
  }
  const argsTable = ['| argument object | µs per scan | × JSON.stringify of it |', '|---|---:|---:|', ...argRows];
  log(argsTable.join('\n'));

  const w = acc[0];
  const wt = timing[0];
  const mark = (ok) => (ok ? 'PASS' : 'FAIL');
  const large = synthRows.length;
  const targets = [
    `- ${mark(w.recall >= 0.9)} recall ≥ 0.9: ${pct(w.recall)}`,
    `- ${mark(w.precision >= 0.95)} precision ≥ 0.95: ${pct(w.precision)}`,
    `- ${mark(wt.aggregate < 50)} < 50 µs per KB over the corpus (aggregate): ${fmt(wt.aggregate)} µs/KB`,
    ...synthKb.filter((x) => x.label.includes('prose')).map((x) => `- ${mark(x.usPerKb <= 50)} ≤ 50 µs per KB, ${x.label}: ${fmt(x.usPerKb)} µs/KB`),
    ...argResults.filter((a) => a.typical).map((a) => `- ${mark(a.ns <= 10_000)} ≤ 10 µs for a typical argument object (no cache), ${a.label}: ${fmt(a.ns / 1000, 2)} µs`),
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
    'Corpus texts are short (median a few hundred characters), so per-text µs/KB is dominated by the fixed cost of a call; the aggregate, timed as passes over all the texts one after another, is the figure for a stream of such texts (per-text loops run with warm caches and cost less).',
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
