#!/usr/bin/env node
/**
 * Rebuilds the labelled guard-evaluation samples in test/guards/public/ from public repositories
 * (pinned commits, listed in scripts/guard-data/sources.json). Network is needed only to get the
 * repositories (git clone, or any mirror); Warden itself never reads these files at run time.
 *
 *   node scripts/guard-data/prepare.mjs [--mirror DIR]
 *
 * DIR holds one git directory per repository, as `<owner>+<name>/repo` (default /work/.mirror)
 * or `<owner>+<name>` (a bare clone). Every item written records its repo, commit and path, a
 * label (malicious | benign), a category, and a split (tuning | heldout). Sampling is
 * deterministic (ordered by a hash of the item's id), so the same commits give the same files.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const outDir = join(root, 'test', 'guards', 'public');
const manifest = JSON.parse(readFileSync(join(here, 'sources.json'), 'utf8'));
const argMirror = process.argv.indexOf('--mirror');
const mirror = argMirror !== -1 ? process.argv[argMirror + 1] : (process.env.GUARD_DATA_MIRROR ?? '/work/.mirror');

function gitDir(key) {
  const { repo } = manifest.repos[key];
  const base = join(mirror, repo.replace('/', '+'));
  for (const d of [join(base, 'repo'), base]) if (existsSync(d)) return d;
  throw new Error(`${repo}: no git directory under ${mirror} (clone https://github.com/${repo} there)`);
}

function show(key, path) {
  const { commit } = manifest.repos[key];
  return execFileSync('git', ['--git-dir', gitDir(key), 'show', `${commit}:${path}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

function list(key, prefix) {
  const { commit } = manifest.repos[key];
  const out = execFileSync('git', ['--git-dir', gitDir(key), 'ls-tree', '-r', '--name-only', commit, '--', prefix], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out.split('\n').filter(Boolean).sort();
}

const hash = (s) => createHash('sha256').update(s).digest('hex');

/** The first `n` items in the order of a hash of their ids: a stable, unbiased sample. */
function sample(items, n) {
  const seen = new Set();
  const unique = items.filter((it) => {
    const k = hash(it.text);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return unique.sort((a, b) => (hash(a.id) < hash(b.id) ? -1 : 1)).slice(0, n);
}

function item(key, path, id, text, label, category, extra = {}) {
  const { repo, commit } = manifest.repos[key];
  return { id, text, label, category, repo, commit, path, ...extra };
}

/** Splits a document into pieces of about 400–1500 characters at blank lines (a paragraph is never cut unless it alone is longer). */
function chunks(text, max = 1500, min = 400) {
  const paras = text.replace(/\r\n/g, '\n').split(/\n\s*\n/);
  const out = [];
  let cur = '';
  for (const p of paras) {
    if (cur && cur.length + p.length + 2 > max) {
      out.push(cur);
      cur = '';
    }
    cur = cur ? `${cur}\n\n${p}` : p;
    if (cur.length >= min) {
      out.push(cur.length > max * 2 ? cur.slice(0, max * 2) : cur);
      cur = '';
    }
  }
  if (cur.trim().length >= 80) out.push(cur);
  return out.filter((c) => c.trim().length >= 80);
}

/* ------------------------------------------------------------------ sources */

function injecagent() {
  const mal = [];
  for (const attack of ['dh', 'ds']) {
    for (const variant of ['base', 'enhanced']) {
      const path = `data/test_cases_${attack}_${variant}.json`;
      JSON.parse(show('injecagent', path)).forEach((c, i) => {
        const text = String(c['Tool Response']).replace(/^"|"$/g, '');
        mal.push(item('injecagent', path, `injecagent:${attack}:${variant}:${i}`, text, 'malicious', `tool-result/${variant}`, { attack: attack === 'dh' ? 'direct-harm' : 'data-stealing' }));
      });
    }
  }
  const path = 'data/attacker_simulated_responses.json';
  const benign = Object.entries(JSON.parse(show('injecagent', path))).map(([call, text]) =>
    item('injecagent', path, `injecagent:sim:${call}`, String(text), 'benign', 'tool-result'),
  );
  return [...sample(mal, 500), ...sample(benign.filter((b) => b.text.length >= 40), 500)];
}

function tensorTrust(file, category, n) {
  const path = `Datasets/${file}`;
  const rows = show('promptfuzz', path).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  return sample(rows.map((r, i) => item('promptfuzz', path, `tensortrust:${category}:${r.sample_id ?? i}`, String(r.attack), 'malicious', `direct/${category}`)).filter((r) => r.text.trim().length >= 10), n);
}

function cyberseceval(file, n, multilingual) {
  const path = `CybersecurityBenchmarks/datasets/prompt_injection/${file}`;
  const rows = JSON.parse(show('purplellama', path));
  const items = rows.map((r) =>
    item('purplellama', path, `cyberseceval:${multilingual ? 'ml' : 'en'}:${r.prompt_id}`, String(r.user_input), 'malicious', multilingual ? `lang/${r.speaking_language}` : `${r.injection_type}/${r.injection_variant}`, {
      variant: r.injection_variant,
      injection: r.injection_type,
      lang: r.speaking_language,
    }),
  );
  return sample(items, n);
}

function docs(key, files, idPrefix, category, n) {
  const items = [];
  for (const path of files) {
    const text = show(key, path);
    chunks(text).forEach((c, i) => items.push(item(key, path, `${idPrefix}:${path}:${i}`, c, 'benign', category(path))));
  }
  return sample(items, n);
}

const LANG_DIR = /translations\/([a-z]{2})(?:-[A-Z]{2})?\//;

function owaspEnglish() {
  const files = list('owasp', 'Archive').filter((p) => /\.md$/.test(p) && /_vulns\//.test(p) && !/translations\//.test(p));
  return docs('owasp', files, 'owasp-en', () => 'doc/en', 300);
}

function owaspOldTranslations() {
  const files = list('owasp', 'Archive/1_1_vulns/translations').filter((p) => /\.md$/.test(p));
  return docs('owasp', files, 'owasp-1.1', (p) => `doc/${LANG_DIR.exec(p)?.[1] ?? 'en'}`, 250);
}

function owaspTranslations() {
  const files = list('owasp', '2_0_vulns').filter((p) => /\.md$/.test(p));
  return docs('owasp', files, 'owasp-2', (p) => `doc/${LANG_DIR.exec(p)?.[1] ?? 'en'}`, 400);
}

function llamafirewall() {
  const files = [...list('purplellama', 'LlamaFirewall'), ...list('purplellama', 'CybersecurityBenchmarks/website/docs')].filter((p) => /\.(md|py)$/.test(p) && !/LICENSE/.test(p));
  return docs('purplellama', files, 'llamafirewall', (p) => (p.endsWith('.py') ? (/\/tests?\//.test(p) ? 'code/test' : 'code') : 'doc/en'), 300);
}

/* ------------------------------------------------------------------ write */

const built = {
  injecagent: injecagent(),
  'tensortrust-hijacking': tensorTrust('hijacking_robustness_dataset.jsonl', 'hijacking', 400),
  'owasp-en': owaspEnglish(),
  'owasp-1.1-translations': owaspOldTranslations(),
  cyberseceval: cyberseceval('prompt_injection.json', 300, false),
  'cyberseceval-multilingual': cyberseceval('prompt_injection_multilingual_machine_translated.json', 500, true),
  'tensortrust-extraction': tensorTrust('extraction_robustness_dataset.jsonl', 'extraction', 300),
  'owasp-translations': owaspTranslations(),
  llamafirewall: llamafirewall(),
};

// A held-out item whose text is also tuning data (a template shared by two document versions)
// would measure nothing: dropped.
const tuningTexts = new Set(manifest.sources.filter((s) => s.split === 'tuning').flatMap((s) => built[s.id].map((it) => it.text.trim())));
for (const source of manifest.sources.filter((s) => s.split === 'heldout')) built[source.id] = built[source.id].filter((it) => !tuningTexts.has(it.text.trim()));

let total = 0;
for (const source of manifest.sources) {
  const items = built[source.id];
  const dir = join(outDir, source.split);
  mkdirSync(dir, { recursive: true });
  const body = items.map((it) => JSON.stringify({ source: source.id, split: source.split, ...it })).join('\n') + '\n';
  writeFileSync(join(dir, `${source.id}.jsonl`), body);
  total += body.length;
  const mal = items.filter((i) => i.label === 'malicious').length;
  console.log(`${source.split.padEnd(8)} ${source.id.padEnd(26)} ${String(items.length).padStart(4)} items (${mal} malicious, ${items.length - mal} benign) ${(body.length / 1024).toFixed(0)} KiB`);
}
console.log(`total ${(total / 1024 / 1024).toFixed(2)} MiB in ${outDir}`);
