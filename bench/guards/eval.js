/**
 * Injection-guard evaluation by source: precision, recall and false-positive rate of `scanText`
 * on the public collections prepared by scripts/guard-data/prepare.mjs (test/guards/public/),
 * one row per source, tuning and held-out sources apart, and the in-repo corpus
 * (test/guards/injection-corpus) as one more row. Held-out sources were never used to train the
 * classifier or to choose a threshold; their rows are the ones that say how the detector does on
 * text nobody here wrote.
 *
 *   npm run eval:guards                 (builds, then node bench/guards/eval.js)
 *   node bench/guards/eval.js --misses  (also print up to 5 missed attacks / false positives per category)
 *
 * Output: Markdown on stdout, also written to bench/guards/eval-results.md.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { wilson } from '../common.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const modulePath = process.env.WARDEN_GUARDS_MODULE ?? join(repoRoot, 'dist', 'guards', 'injection', 'index.js');
const { scanText } = await import(pathToFileURL(modulePath).href);
const showMisses = process.argv.includes('--misses');

const readJsonl = (file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

const publicDir = join(repoRoot, 'test', 'guards', 'public');
const corpusDir = join(repoRoot, 'test', 'guards', 'injection-corpus');
const corpusHosts = JSON.parse(readFileSync(join(corpusDir, 'allowed-hosts.json'), 'utf8'));

/** source id → { split, items } */
const sources = new Map();
for (const split of ['tuning', 'heldout']) {
  for (const file of readdirSync(join(publicDir, split)).filter((f) => f.endsWith('.jsonl')).sort()) {
    const items = readJsonl(join(publicDir, split, file));
    sources.set(file.replace(/\.jsonl$/, ''), { split, items });
  }
}
sources.set('in-repo corpus', {
  split: 'in-repo',
  items: [
    ...readJsonl(join(corpusDir, 'malicious.jsonl')).map((r) => ({ ...r, label: 'malicious', category: `malicious/${String(r.note ?? '').split(':')[0].replace(/ \d+$/, '')}` })),
    ...readJsonl(join(corpusDir, 'benign.jsonl')).map((r) => ({ ...r, label: 'benign', category: `benign/${String(r.note ?? '').split(':')[0].replace(/ \d+$/, '')}` })),
  ],
  hosts: corpusHosts,
});

function tally() {
  return { tp: 0, fp: 0, fn: 0, tn: 0, misses: [] };
}
const fmt = (x) => (Number.isNaN(x) ? '–' : x.toFixed(3));
const precision = (t) => t.tp / (t.tp + t.fp);
const recall = (t) => t.tp / (t.tp + t.fn);
const fpr = (t) => t.fp / (t.fp + t.tn);
const interval = ([lo, hi]) => `${fmt(lo)}–${fmt(hi)}`;

const rows = [];
const byCategory = new Map();
const totals = { tuning: tally(), heldout: tally(), 'in-repo': tally() };
/** Recall by CyberSecEval's own risk category (items that carry `risk`), and the held-out pool without logic-violating attacks. */
const byRisk = new Map();
const heldoutTextual = tally();
let scanned = 0;
const started = process.hrtime.bigint();
for (const [id, { split, items, hosts }] of sources) {
  const t = tally();
  for (const it of items) {
    const flagged = scanText(it.text, hosts ? { allowedHosts: hosts } : undefined).suspicious;
    scanned += it.text.length;
    const malicious = it.label === 'malicious';
    const key = `${id} · ${it.category}`;
    if (!byCategory.has(key)) byCategory.set(key, { split, t: tally() });
    const c = byCategory.get(key).t;
    for (const x of [t, c, totals[split]]) {
      if (malicious && flagged) x.tp++;
      else if (malicious) x.fn++;
      else if (flagged) x.fp++;
      else x.tn++;
    }
    if (it.risk) {
      const k = `${id} · ${it.risk}`;
      if (!byRisk.has(k)) byRisk.set(k, tally());
      const r = byRisk.get(k);
      if (flagged) r.tp++;
      else r.fn++;
    }
    if (split === 'heldout' && it.risk !== 'logic-violating') {
      if (malicious && flagged) heldoutTextual.tp++;
      else if (malicious) heldoutTextual.fn++;
      else if (flagged) heldoutTextual.fp++;
      else heldoutTextual.tn++;
    }
    if (malicious !== flagged && c.misses.length < 5) c.misses.push(`${malicious ? 'missed' : 'false positive'}: ${JSON.stringify(it.text.replace(/\s+/g, ' ').slice(0, 160))}`);
  }
  rows.push({ id, split, n: items.length, t });
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;

const out = [];
const line = (s = '') => out.push(s);
line('# Injection guard: evaluation by source');
line();
line(`Default threshold; ${rows.reduce((a, r) => a + r.n, 0)} texts, ${(scanned / 1024 / 1024).toFixed(1)} MiB scanned in ${seconds.toFixed(1)} s. Precision and recall count malicious texts; FPR counts benign ones.`);
line();
line('| source | split | texts | malicious | benign | precision | recall | FPR | FN | FP |');
line('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const { id, split, n, t } of rows) {
  const mal = t.tp + t.fn;
  line(`| ${id} | ${split} | ${n} | ${mal} | ${t.fp + t.tn} | ${mal ? fmt(precision(t)) : '–'} | ${mal ? fmt(recall(t)) : '–'} | ${t.fp + t.tn ? fmt(fpr(t)) : '–'} | ${t.fn} | ${t.fp} |`);
}
for (const split of ['heldout', 'tuning']) {
  const t = totals[split];
  line(`| **all ${split}** | | ${t.tp + t.fn + t.fp + t.tn} | ${t.tp + t.fn} | ${t.fp + t.tn} | **${fmt(precision(t))}** | **${fmt(recall(t))}** | **${fmt(fpr(t))}** | ${t.fn} | ${t.fp} |`);
}
line();
{
  // How much the pooled held-out figures can say: a few hundred texts leave wide intervals, so a
  // target a point away from the figure may be inside them.
  const t = totals.heldout;
  const benign = t.fp + t.tn;
  const attacks = t.tp + t.fn;
  const allowedFp = Math.floor(0.02 * benign);
  line('How sure the pooled held-out figures are (95 % Wilson intervals) and what the targets of issue 20 ask of them:');
  line();
  line('| figure | value | 95 % interval | target | what the target needs here |');
  line('|---|---:|---:|---:|---|');
  line(`| precision | ${fmt(precision(t))} | ${interval(wilson(t.tp, t.tp + t.fp))} | ≥ 0.95 | — |`);
  line(`| recall | ${fmt(recall(t))} | ${interval(wilson(t.tp, attacks))} | ≥ 0.75 | ≥ ${Math.ceil(0.75 * attacks)} of ${attacks} attacks found (now ${t.tp}) |`);
  line(`| false-positive rate | ${fmt(fpr(t))} | ${interval(wilson(t.fp, benign))} | ≤ 0.02 | ≤ ${allowedFp} of ${benign} benign texts flagged (now ${t.fp}) |`);
}
if (byRisk.size > 0) {
  line();
  line(
    "By CyberSecEval's own risk category: a *logic-violating* attack breaks a rule only its system prompt states (\"talk only about cooking\", then an " +
      'ordinary question about physics), which no scan of the text alone can see; *security-violating* ones try to override, leak or misuse.',
  );
  line();
  line('| source · risk category | attacks | recall |');
  line('|---|---:|---:|');
  for (const [key, t] of [...byRisk].sort()) line(`| ${key} | ${t.tp + t.fn} | ${fmt(recall(t))} |`);
  const t = heldoutTextual;
  line(`| **all held out, logic-violating attacks left out** (precision ${fmt(precision(t))}, FPR ${fmt(fpr(t))}) | ${t.tp + t.fn} | **${fmt(recall(t))}** (95 % ${interval(wilson(t.tp, t.tp + t.fn))}) |`);
}
line();
line('Precision within one source that holds only attacks (or only benign texts) is 1.000 or undefined; the pooled held-out row is the one that combines attacks and benign texts.');
line();
line('## By category (held-out sources and the in-repo corpus)');
line();
line('| source · category | texts | recall | FPR |');
line('|---|---:|---:|---:|');
for (const [key, { split, t }] of [...byCategory].sort()) {
  if (split === 'tuning') continue;
  const mal = t.tp + t.fn;
  const ben = t.fp + t.tn;
  line(`| ${key} | ${mal + ben} | ${mal ? fmt(recall(t)) : '–'} | ${ben ? fmt(fpr(t)) : '–'} |`);
}
if (showMisses) {
  line();
  line('## Misses (up to 5 per category)');
  for (const [key, { t }] of [...byCategory].sort()) {
    if (t.misses.length === 0) continue;
    line();
    line(`### ${key}`);
    for (const m of t.misses) line(`- ${m}`);
  }
}
const text = out.join('\n') + '\n';
process.stdout.write(text);
if (!showMisses) writeFileSync(join(here, 'eval-results.md'), text);
