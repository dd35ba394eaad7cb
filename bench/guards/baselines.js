/**
 * Warden's injection detector beside detectors nobody here wrote, on the same held-out texts
 * (test/guards/public/heldout, the rows eval:guards reports): llm_guardrail from npm (TF-IDF +
 * logistic regression models trained by its author, shipped in the package: its prompt-injection
 * model alone, and its prompt-injection or jailbreak model), at its own threshold (its
 * `detected`), and a one-regex keyword filter. Nothing here was tuned on these texts, and neither
 * was Warden. What the baselines were trained on is their author's business: a held-out text that
 * was in their training data flatters them, not Warden.
 *
 *   npm run build && node bench/guards/baselines.js
 *
 * Output: Markdown on stdout (not written to a file).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { checkInjection, checkJailbreak } from 'llm_guardrail';

import { versionOf, wilson } from '../common.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const { scanText } = await import(pathToFileURL(join(repoRoot, 'dist', 'guards', 'injection', 'index.js')).href);
const guardrailVersion = versionOf('llm_guardrail');

/** The kind of filter a team writes first: the phrases every injection tutorial shows. */
const KEYWORDS = /ignore (all |any )?(previous|prior|above) (instructions|prompts?)|disregard (all |any )?(previous|prior|above)|system prompt|you are now|jailbreak|do anything now|developer mode/i;

const heldoutDir = join(repoRoot, 'test', 'guards', 'public', 'heldout');
const sources = readdirSync(heldoutDir)
  .filter((f) => f.endsWith('.jsonl'))
  .sort()
  .map((f) => ({
    id: f.replace(/\.jsonl$/, ''),
    items: readFileSync(join(heldoutDir, f), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l)),
  }));

const detectors = [
  { name: 'Warden (rules + classifier, default threshold)', flags: async (text) => scanText(text).suspicious },
  { name: `llm_guardrail ${guardrailVersion}, prompt-injection model`, flags: async (text) => (await checkInjection(text)).detected },
  { name: `llm_guardrail ${guardrailVersion}, prompt-injection or jailbreak model`, flags: async (text) => (await checkInjection(text)).detected || (await checkJailbreak(text)).detected },
  { name: 'one-regex keyword filter', flags: async (text) => KEYWORDS.test(text) },
];

const tally = () => ({ tp: 0, fp: 0, fn: 0, tn: 0 });
const add = (t, malicious, flagged) => {
  if (malicious && flagged) t.tp++;
  else if (malicious) t.fn++;
  else if (flagged) t.fp++;
  else t.tn++;
};
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(3) : '–');
const interval = (k, n) => wilson(k, n).map(fmt).join('–');

const results = [];
for (const d of detectors) {
  const pooled = tally();
  const bySource = new Map();
  const textual = tally(); // without CyberSecEval's logic-violating attacks (eval.js says why)
  for (const { id, items } of sources) {
    const t = tally();
    for (const it of items) {
      const flagged = await d.flags(it.text);
      const malicious = it.label === 'malicious';
      add(t, malicious, flagged);
      add(pooled, malicious, flagged);
      if (it.risk !== 'logic-violating') add(textual, malicious, flagged);
    }
    bySource.set(id, t);
  }
  results.push({ name: d.name, pooled, bySource, textual });
}

const out = [];
const line = (s = '') => out.push(s);
line(`Held-out texts: ${sources.map((s) => `${s.id} ${s.items.length}`).join(', ')}.`);
line();
line('| detector | precision | recall (95 %) | FPR (95 %) | recall without logic-violating attacks | ' + sources.map((s) => s.id).join(' | ') + ' |');
line('|---|---:|---:|---:|---:|' + sources.map(() => '---:').join('|') + '|');
for (const r of results) {
  const p = r.pooled;
  const per = sources.map(({ id }) => {
    const t = r.bySource.get(id);
    return t.tp + t.fn > 0 ? `recall ${fmt(t.tp / (t.tp + t.fn))}` : `FPR ${fmt(t.fp / (t.fp + t.tn))}`;
  });
  line(
    `| ${r.name} | ${fmt(p.tp / (p.tp + p.fp))} | ${fmt(p.tp / (p.tp + p.fn))} (${interval(p.tp, p.tp + p.fn)}) | ${fmt(p.fp / (p.fp + p.tn))} (${interval(p.fp, p.fp + p.tn)}) | ${fmt(r.textual.tp / (r.textual.tp + r.textual.fn))} | ${per.join(' | ')} |`,
  );
}
process.stdout.write(out.join('\n') + '\n');
