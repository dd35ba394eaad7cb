#!/usr/bin/env node
/**
 * Trains the injection classifier (src/guards/injection/classifier.ts) on the TUNING sources only:
 * test/guards/public/tuning/*.jsonl and the in-repo corpus (test/guards/injection-corpus).
 * Held-out sources (test/guards/public/heldout) are never read here.
 *
 *   npm run build && node scripts/guard-data/train.mjs
 *
 * Logistic regression on hashed binary features (features.ts, imported from dist/ so the features
 * are exactly those Warden computes), L2-normalised per text, AdaGrad, classes weighted to
 * balance. The threshold is chosen by 5-fold cross-validation on the same tuning data: the
 * lowest probability at which out-of-fold benign texts are flagged at most TARGET_FPR of the time.
 * Then the model is trained on all tuning data and written, weights quantised to int8, to
 * src/guards/injection/model/weights.json. Deterministic: same data, same weights.
 *
 * Settings (target FPR, sentences, features) are compared with cv.mjs: leave-one-source-out over
 * the tuning sources, never the held-out ones.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const featuresModule = process.env.WARDEN_FEATURES_MODULE ?? join(root, 'dist', 'guards', 'injection', 'features.js');
const { featuresOf, BUCKETS, BITS } = await import(pathToFileURL(featuresModule).href);

const EPOCHS = 12;
const LR = 0.5;
const L2 = 1e-6;
const TARGET_FPR = Number(process.argv.includes("--fpr") ? process.argv[process.argv.indexOf("--fpr") + 1] : 0.01);

const hashOf = (s) => createHash('sha256').update(s).digest('hex');
const readJsonl = (file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

const tuningDir = join(root, 'test', 'guards', 'public', 'tuning');
const corpusDir = join(root, 'test', 'guards', 'injection-corpus');
// --exclude a,b leaves tuning sources out (ablations: which source moves what); --out FILE writes elsewhere.
const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const excluded = new Set((arg('--exclude') ?? '').split(',').filter(Boolean));
// --exclude-lang xx leaves out every tuning text whose category names language xx (cv.mjs --languages).
const excludedLang = arg('--exclude-lang');
const data = [];
const sources = readdirSync(tuningDir).filter((f) => f.endsWith('.jsonl') && !excluded.has(f.replace(/\.jsonl$/, ''))).sort();
for (const f of sources) for (const r of readJsonl(join(tuningDir, f))) if (!excludedLang || !String(r.category).endsWith(`/${excludedLang}`)) data.push({ text: r.text, y: r.label === 'malicious' ? 1 : 0, category: r.category });
// Short benign texts: the tuning documents are long, and a linear model over normalised features
// learns little about short benign sentences that share vocabulary with attacks ("instructions",
// "instead of", "system"). Each benign document also gives up to two of its own sentences,
// chosen by hash; sentences that quote or show code (quotes, backticks, brackets, block quotes)
// are skipped, since documents about injection quote payloads there.
const SENTENCES_PER_DOC = Number(arg("--sentences") ?? 2);
const SENTENCE = /[^.!?。！？\n]+[.!?。！？]?/gu;
const QUOTED = /["“”„«»「」『』'‘’`<>{}[\]|#*]/u;
const sentences = [];
for (const d of data.filter((d) => d.y === 0 && /^(doc|tool-result)/.test(d.category ?? ''))) {
  const picked = (d.text.match(SENTENCE) ?? [])
    .map((t) => t.trim())
    .filter((t) => t.length >= 40 && t.length <= 240 && !QUOTED.test(t) && !/^\s*[-*>]/.test(t))
    .sort((a, b) => (hashOf(a) < hashOf(b) ? -1 : 1))
    .slice(0, SENTENCES_PER_DOC);
  for (const t of picked) sentences.push({ text: t, y: 0 });
}
data.push(...sentences);
// Short benign sentences written here (scripts/guard-data/benign-near-misses.jsonl), in 15 languages:
// requests that name instructions, a manual, the system, or ask to ignore an earlier e-mail, in the
// words the attack sources use. The translated attack sources teach that "please … instructions"
// in Spanish or German is an attack; nothing public here says the everyday sentence is not.
for (const r of readJsonl(join(here, 'benign-near-misses.jsonl'))) data.push({ text: r.text, y: 0 });
for (const r of readJsonl(join(corpusDir, 'malicious.jsonl'))) data.push({ text: r.text, y: 1 });
for (const r of readJsonl(join(corpusDir, 'benign.jsonl'))) data.push({ text: r.text, y: 0 });

const examples = data.map((d) => ({ f: featuresOf(d.text), y: d.y }));
const pos = examples.filter((e) => e.y === 1).length;
const neg = examples.length - pos;
console.log(`${examples.length} tuning texts (${pos} malicious, ${neg} benign), ${BUCKETS} buckets`);

/** Small deterministic PRNG (mulberry32) for the epoch order and the folds. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function train(set) {
  const w = new Float64Array(BUCKETS);
  const g2 = new Float64Array(BUCKETS).fill(1e-8);
  let bias = 0;
  let gb = 1e-8;
  const rand = rng(42);
  const order = set.map((_, i) => i);
  const wPos = set.length / (2 * Math.max(1, set.filter((e) => e.y === 1).length));
  const wNeg = set.length / (2 * Math.max(1, set.filter((e) => e.y === 0).length));
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const k of order) {
      const { f, y } = set[k];
      if (f.length === 0) continue;
      const x = 1 / Math.sqrt(f.length);
      let z = bias;
      for (const i of f) z += w[i] * x;
      const p = 1 / (1 + Math.exp(-z));
      const g = (p - y) * (y === 1 ? wPos : wNeg);
      for (const i of f) {
        const gi = g * x + L2 * w[i];
        g2[i] += gi * gi;
        w[i] -= (LR * gi) / Math.sqrt(g2[i]);
      }
      gb += g * g;
      bias -= (LR * g) / Math.sqrt(gb);
    }
  }
  return { w, bias };
}

function quantize({ w, bias }) {
  let max = 0;
  for (const v of w) if (Math.abs(v) > max) max = Math.abs(v);
  const scale = max / 127 || 1;
  const q = new Int8Array(BUCKETS);
  for (let i = 0; i < BUCKETS; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / scale)));
  return { q, scale, bias };
}

/** Probability as classifier.ts computes it: from the quantised weights. */
function prob({ q, scale, bias }, f) {
  if (f.length === 0) return 0;
  let z = 0;
  for (const i of f) z += q[i];
  return 1 / (1 + Math.exp(-(bias + (z * scale) / Math.sqrt(f.length))));
}

// 5-fold cross-validation: out-of-fold probabilities choose the threshold.
const rand = rng(7);
const fold = examples.map(() => Math.floor(rand() * 5));
const oof = new Array(examples.length);
for (let k = 0; k < 5; k++) {
  const model = quantize(train(examples.filter((_, i) => fold[i] !== k)));
  examples.forEach((e, i) => {
    if (fold[i] === k) oof[i] = prob(model, e.f);
  });
}
const benignP = examples.map((e, i) => (e.y === 0 ? oof[i] : -1)).filter((p) => p >= 0).sort((a, b) => b - a);
const threshold = Math.max(0.5, benignP[Math.floor(benignP.length * TARGET_FPR)] + 1e-6);
const tp = examples.filter((e, i) => e.y === 1 && oof[i] >= threshold).length;
const fp = examples.filter((e, i) => e.y === 0 && oof[i] >= threshold).length;
console.log(`cross-validated on tuning data: threshold ${threshold.toFixed(3)}, recall ${(tp / pos).toFixed(3)}, FPR ${(fp / neg).toFixed(3)}`);

const final = quantize(train(examples));
const out = {
  note: 'Injection classifier weights: written by scripts/guard-data/train.mjs from the tuning sources only. int8, base64; weight = int8 × scale.',
  bits: BITS,
  bias: Number(final.bias.toFixed(6)),
  scale: Number(final.scale.toPrecision(8)),
  threshold: Number(threshold.toFixed(4)),
  trained_on: { texts: examples.length, malicious: pos, benign: neg },
  // The tuning sources read: which data a weights file saw (the committed one predates several).
  sources: sources.map((f) => f.replace(/\.jsonl$/, '')),
  weights: Buffer.from(final.q.buffer).toString('base64'),
};
const path = arg('--out') ?? join(root, 'src', 'guards', 'injection', 'model', 'weights.json');
writeFileSync(path, JSON.stringify(out) + '\n');
console.log(`wrote ${path} (${(JSON.stringify(out).length / 1024).toFixed(0)} KiB)`);
