#!/usr/bin/env node
/**
 * Leave-one-source-out cross-validation of the whole injection scan (rules + classifier) on the
 * TUNING sources only: for each tuning source, the classifier is trained (train.mjs) without it,
 * and that source is scanned with scanText using those weights. Held-out sources are never read.
 * This is how train.mjs's settings (target FPR, sentences, feature set) are chosen: by the mean
 * recall over the attack sources and the mean FPR over the benign sources when each was unseen.
 *
 *   npm run build && node scripts/guard-data/cv.mjs [train.mjs options, e.g. --fpr 0.0075]
 *
 * Writes nothing in the repo except scratch copies of dist/guards/injection under .cv/<pid>/
 * (removed at the end; inside the repo so the copies resolve node_modules).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dist = process.env.WARDEN_CV_DIST ?? join(root, 'dist', 'guards', 'injection');
// --languages: folds are the languages of the translated attack source (xsafety) instead of the
// sources: each language's texts (attacks and benign, in every tuning source) are left out together,
// and that language's xsafety texts scanned — attacks in a language the model never saw attacks in
// (not English: the other attack sources are English).
const byLanguage = process.argv.includes('--languages');
const trainArgs = process.argv.slice(2).filter((a) => a !== '--languages');
const tuningDir = join(root, 'test', 'guards', 'public', 'tuning');
const scratch = join(root, '.cv', String(process.pid));

const readJsonl = (file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

const sources = readdirSync(tuningDir).filter((f) => f.endsWith('.jsonl')).map((f) => f.replace(/\.jsonl$/, '')).sort();
const folds = byLanguage
  ? [...new Set(readJsonl(join(tuningDir, 'xsafety.jsonl')).map((r) => r.category.split('/').pop()))].filter((lang) => lang !== 'en').sort().map((lang) => ({ id: `xsafety/${lang}`, exclude: ['--exclude-lang', lang], file: 'xsafety', keep: (r) => r.category.endsWith(`/${lang}`) }))
  : sources.map((id) => ({ id, exclude: ['--exclude', id], file: id, keep: () => true }));
const rows = [];
for (const { id, exclude, file, keep } of folds) {
  const dir = join(scratch, id.replace('/', '-'));
  mkdirSync(dir, { recursive: true });
  cpSync(dist, dir, { recursive: true });
  execFileSync(process.execPath, [join(here, 'train.mjs'), ...trainArgs, ...exclude, '--out', join(dir, 'model', 'weights.json')], { env: { ...process.env, WARDEN_FEATURES_MODULE: join(dist, 'features.js') }, stdio: 'ignore' });
  const { scanText } = await import(pathToFileURL(join(dir, 'index.js')).href);
  const t = { tp: 0, fn: 0, fp: 0, tn: 0 };
  for (const r of readJsonl(join(tuningDir, `${file}.jsonl`)).filter(keep)) {
    const flagged = scanText(r.text, { cache: false }).suspicious;
    const key = r.label === 'malicious' ? (flagged ? 'tp' : 'fn') : flagged ? 'fp' : 'tn';
    t[key]++;
  }
  rows.push({ id, ...t });
}
rmSync(scratch, { recursive: true, force: true });

const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : '–');
console.log(`train.mjs ${trainArgs.join(' ') || '(defaults)'}`);
console.log('| left-out source | malicious | benign | recall | FPR |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.id} | ${r.tp + r.fn} | ${r.fp + r.tn} | ${r.tp + r.fn ? f3(r.tp / (r.tp + r.fn)) : '–'} | ${r.fp + r.tn ? f3(r.fp / (r.fp + r.tn)) : '–'} |`);
const attack = rows.filter((r) => r.tp + r.fn > 0);
const benign = rows.filter((r) => r.fp + r.tn > 0);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sum = (k) => rows.reduce((a, r) => a + r[k], 0);
const meanRecall = mean(attack.map((r) => r.tp / (r.tp + r.fn)));
const meanFpr = mean(benign.map((r) => r.fp / (r.fp + r.tn)));
console.log(`mean recall over ${attack.length} attack sources ${f3(meanRecall)}; mean FPR over ${benign.length} benign sources ${f3(meanFpr)}; pooled recall ${f3(sum('tp') / (sum('tp') + sum('fn')))}, precision ${f3(sum('tp') / (sum('tp') + sum('fp')))}, FPR ${f3(sum('fp') / (sum('fp') + sum('tn')))}`);
