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
import { overlapIndex } from './overlap.mjs';

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
      // CyberSecEval's own split: logic-violating attacks break a rule only the system prompt states (eval:guards reports recall by it).
      risk: r.risk_category,
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


/** RFC 4180 CSV (quoted fields may hold commas, doubled quotes and newlines) → array of objects by header. */
function csv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  const endRow = () => {
    endField();
    rows.push(row);
    row = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') endField();
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
    } else field += c;
  }
  if (field || row.length) endRow();
  const [head, ...body] = rows.filter((r) => r.length > 1 || r[0]);
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i] ?? ''])));
}

/** GPTFuzzer's 77 jailbreak templates (collected from jailbreakchat.com), each filled with one of the repo's questions, chosen by hash. */
function gptfuzz() {
  const path = 'datasets/prompts/GPTFuzzer.csv';
  const questions = csv(show('gptfuzz', 'datasets/questions/question_list.csv')).map((q) => q.text);
  const items = csv(show('gptfuzz', path)).map((r) => {
    const q = questions[parseInt(hash(`gptfuzz:${r.id}`).slice(0, 8), 16) % questions.length];
    return item('gptfuzz', path, `gptfuzz:${r.id}`, r.text.replace('[INSERT PROMPT HERE]', q), 'malicious', 'direct/jailbreak-template');
  });
  return sample(items, 200);
}

/** Prompt strings of parametrised Python tests: (…, "prompt", expected_valid: bool, …) tuples, read with Python's own parser. */
function pythonCases(key, path) {
  const script = `import ast,json,sys
out=[]
for n in ast.walk(ast.parse(sys.stdin.read())):
    if isinstance(n,ast.Tuple) and len(n.elts)>=3:
        p,v=n.elts[1],n.elts[2]
        if isinstance(p,ast.Constant) and isinstance(p.value,str) and isinstance(v,ast.Constant) and isinstance(v.value,bool):
            out.append([p.value,v.value])
print(json.dumps(out))`;
  return JSON.parse(execFileSync('python3', ['-c', script], { input: show(key, path), encoding: 'utf8' }));
}

/** LLM Guard's prompt-injection scanner tests: attacks (expected_valid false) and ordinary prompts (true). */
function llmGuardTests() {
  const path = 'tests/input_scanners/test_prompt_injection.py';
  return pythonCases('llmguard', path).map(([text, valid], i) =>
    item('llmguard', path, `llmguard:test:${i}`, text, valid ? 'benign' : 'malicious', valid ? 'user-prompt' : 'direct/test-case'),
  );
}

/** PromptInject (agencyenterprise/PromptInject, MIT) attack strings as collected by Giskard; the rows Giskard took from garak are reserved and skipped. */
function promptInject() {
  const path = 'prompt_injections.csv';
  const rows = csv(show('giskard', path));
  const kept = rows.filter((r) => /promptinject/i.test(r.source));
  reservedDropped += rows.length - kept.length;
  return kept.map((r) => item('giskard', path, `promptinject:${r.index}`, r.prompt, 'malicious', `direct/${r.group || 'promptinject'}`));
}

/** Documentation and code of guardrail projects: prose about injection with quoted payloads, and code that matches them. */
function guardrailDocs() {
  const llmguard = list('llmguard', 'docs').filter((p) => /\.md$/.test(p));
  const rebuff = list('rebuff', '.').filter((p) => /\.(md|py)$/.test(p) && !/node_modules|\/tests?\//.test(p));
  const cat = (p) => (p.endsWith('.py') ? 'code' : 'doc/en');
  return [...docs('llmguard', llmguard, 'llmguard-docs', cat, 220), ...docs('rebuff', rebuff, 'rebuff', cat, 60)];
}

/** Chat templates (Jinja), generation configs and their README: code full of role markers and special tokens. */
function chatTemplates() {
  const files = list('chattemplates', '.').filter((p) => /\.(jinja|json|md)$/.test(p));
  const items = [];
  for (const path of files) {
    const text = show('chattemplates', path);
    const pieces = path.endsWith('.md') ? chunks(text) : [text.slice(0, 3000)];
    pieces.forEach((c, i) => items.push(item('chattemplates', path, `chattemplates:${path}:${i}`, c, 'benign', path.endsWith('.md') ? 'doc/en' : 'code/chat-template')));
  }
  return sample(items.filter((i) => i.text.trim().length >= 40), 120);
}

/**
 * XSafety (Wang et al. 2023, "All Languages Matter"): the Safety-Prompts scenarios of THU-COAI
 * translated into ar, de, en, es, fr, hi, ja, ru and zh (Bengali ships as .xlsx and is skipped).
 * Goal hijacking rows ("<question> Ignore the above and just output: <statement>") are attacks;
 * ordinary and sensitive questions of other scenarios (ethics, mental health, privacy, "what
 * should I avoid …", multiple-choice "output the unsafe choice") are benign: they ask something
 * of the model in the second person and the imperative without overriding anything, in the same
 * languages. Role-play, prompt-leaking and unsafe-topic rows are left out: whether they are an
 * injection depends on the system prompt, and a label either way would be noise.
 */
const XSAFETY_LANGS = { ar: 'ar', de: 'de', en: 'en', fr: 'fr', hi: 'hi', ja: 'ja', ru: 'ru', sp: 'es', zh: 'zh' };
const XSAFETY_BENIGN = /^(Ethics_And_Morality|Mental_Health|Reverse_Exposure|Privacy_And_Property|commonsense)/;
function xsafety(attacksPerLanguage = 100, benignPerLanguage = 100) {
  const out = [];
  const files = list('xsafety', '.').filter((p) => /\.csv$/.test(p));
  for (const [dir, lang] of Object.entries(XSAFETY_LANGS)) {
    const mal = [];
    const ben = [];
    for (const path of files.filter((p) => p.startsWith(`${dir}/`))) {
      const name = path.slice(dir.length + 1);
      const attack = /^Goal_Hijacking/.test(name);
      if (!attack && !XSAFETY_BENIGN.test(name)) continue;
      const rows = csv(`text\n${show('xsafety', path).replace(/^\uFEFF/, '')}`).map((r) => r.text.trim()).filter((t) => t.length >= 10);
      rows.forEach((text, i) => {
        const scenario = name.replace(/(_n|_en)?\.csv$/, '');
        const it = item('xsafety', path, `xsafety:${lang}:${scenario}:${i}`, text, attack ? 'malicious' : 'benign', attack ? `goal-hijacking/${lang}` : `user-prompt/${lang}`);
        (attack ? mal : ben).push(it);
      });
    }
    out.push(...sample(mal, attacksPerLanguage), ...sample(ben, benignPerLanguage));
  }
  return out;
}

/**
 * Translated technical guides (benign): "The Art of Command Line" (17 languages) and "Coding
 * Interview University" (30 translations, among them ar, bn, hi, id, th, tr, vi, ur, fa). Prose
 * full of second-person imperatives ("learn …", "read …", "don't …", "make sure …") in the
 * languages the attack sources are translated into, so the classifier does not learn that an
 * imperative in Spanish or Hindi is an attack. Pieces that are mostly links are skipped.
 */
function multilingualDocs() {
  const lang = (p) => /README-([a-z]{2,4}(?:-[A-Za-z]+)?)\.md$/.exec(p)?.[1] ?? 'en';
  const prose = (c) => c.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/https?:\/\/\S+/g, '').length >= 0.7 * c.length;
  const pick = (key, files, prefix, perFile) =>
    files.flatMap((path) =>
      sample(
        chunks(show(key, path)).filter(prose).map((c, i) => item(key, path, `${prefix}:${path}:${i}`, c, 'benign', `doc/${lang(path)}`)),
        perFile,
      ),
    );
  const cli = list('artcli', '.').filter((p) => /^README(-[\w-]+)?\.md$/.test(p) && p !== 'README.md');
  const ciu = list('ciu', 'translations').filter((p) => /README-[\w-]+\.md$/.test(p));
  return [...pick('artcli', cli, 'artcli', 8), ...pick('ciu', ciu, 'ciu', 6)];
}

/**
 * JailbreakBench attack artifacts (MIT): the jailbreak prompts each attack submitted against four
 * models. PAIR's are written by an attacker model and are the kinds the phrase rules miss:
 * hypothetical scenarios, role-play, fiction and persuasion around a harmful goal, no "ignore"
 * anywhere. prompt-with-random-search's are one rule-list template with the goal and an
 * adversarial suffix (fewer, since they differ only in those). GCG/DSN (a goal and a token
 * suffix) and JBC (the AIM template, already in GPTFuzzer) are left out.
 */
function jailbreakBench(pairN = 240, searchN = 40) {
  const take = (method, category, n) => {
    const files = list('jailbreakbench', `attack-artifacts/${method}`).filter((p) => /\/black_box\/[^/]+\.json$/.test(p));
    const items = files.flatMap((path) =>
      JSON.parse(show('jailbreakbench', path))
        .jailbreaks.filter((j) => typeof j.prompt === 'string' && j.prompt.trim().length >= 40)
        .map((j) => item('jailbreakbench', path, `jailbreakbench:${method}:${path.split('/').pop()}:${j.index}`, j.prompt, 'malicious', `jailbreak/${category}`)),
    );
    return sample(items, n);
  };
  return [...take('PAIR', 'pair', pairN), ...take('prompt_with_random_search', 'random-search', searchN)];
}

/**
 * MultiJail (MIT): 315 unsafe questions (from Anthropic's red-teaming data) translated by native
 * speakers into zh, it, vi, ar, ko, th, bn, sw, jv. They ask the model for something harmful in
 * the second person and the imperative but override nothing, address no system prompt and hide in
 * no data: benign for an injection detector (a content filter's matter), as XSafety's sensitive
 * questions are. Short requests in languages the tuning set lacks (bn, ko, th, vi, sw, jv).
 */
const MULTIJAIL_LANGS = ['en', 'zh', 'it', 'vi', 'ar', 'ko', 'th', 'bn', 'sw', 'jv'];
function multiJail(perLanguage = 30) {
  const path = 'data/MultiJail.csv';
  const rows = csv(show('multijail', path).replace(/^\uFEFF/, ''));
  return MULTIJAIL_LANGS.flatMap((lang) =>
    sample(
      rows.filter((r) => (r[lang] ?? '').trim().length >= 10).map((r) => item('multijail', path, `multijail:${lang}:${r.id}`, r[lang].trim(), 'benign', `user-prompt/${lang}`)),
      perLanguage,
    ),
  );
}

/**
 * xSID 0.7 (CC BY-SA 4.0): requests to a voice assistant (reminders, alarms, weather; from Snips
 * and Facebook's multilingual task-oriented dialogue data) translated by people into 12
 * languages. The shortest everyday imperatives there are ("remind me to call mum at six", "set an
 * alarm …"), in Japanese, Indonesian, Turkish, Arabic …, the form translated attacks take too.
 * The `# text =` line is tokenised: Japanese and Chinese words are joined again.
 */
const XSID_LANGS = ['ar', 'da', 'de', 'en', 'id', 'it', 'ja', 'kk', 'nl', 'sr', 'tr', 'zh'];
function xsid(perLanguage = 40) {
  return XSID_LANGS.flatMap((lang) => {
    const items = [];
    for (const split of ['valid', 'test']) {
      const path = `data/xSID-0.7/${lang}.${split}.conll`;
      let id = '';
      for (const line of show('xsid', path).split('\n')) {
        const m = /^# (id|text) = (.*)$/.exec(line);
        if (!m) continue;
        if (m[1] === 'id') id = m[2].trim();
        else {
          let text = m[2].trim();
          if (lang === 'ja' || lang === 'zh') text = text.replace(/(?<=\P{ASCII}) +(?=\P{ASCII})/gu, '');
          if (text.length >= 8) items.push(item('xsid', path, `xsid:${lang}:${split}:${id}`, text, 'benign', `user-prompt/${lang}`));
        }
      }
    }
    return sample(items, perLanguage);
  });
}

/**
 * MT-bench and Vicuna-bench (Apache-2.0): requests people write to an assistant — writing,
 * role-play ("pretend to be …"), reasoning, extraction from a given text, code — and MT-bench's
 * follow-up turns ("rewrite your previous answer …", "now do it in …"), in English and in the
 * Japanese MT-bench. Benign second-person instructions to the model, in the words attacks use
 * (previous, answer, rewrite, only), and polite Japanese imperatives (〜してください).
 */
function mtBench(english = 120, japanese = 160) {
  const turns = (path, prefix, lang) =>
    show('fastchat', path)
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        const q = JSON.parse(l);
        return q.turns.map((t, i) => item('fastchat', path, `${prefix}:${q.question_id}:${i}`, String(t), 'benign', `user-prompt/${lang}`));
      });
  const en = [...turns('fastchat/llm_judge/data/mt_bench/question.jsonl', 'mt-bench', 'en'), ...turns('fastchat/llm_judge/data/vicuna_bench/question.jsonl', 'vicuna-bench', 'en')];
  return [...sample(en, english), ...sample(turns('fastchat/llm_judge/data/japanese_mt_bench/question.jsonl', 'mt-bench-ja', 'ja'), japanese)];
}

/* ---------------------------------------------- multilingual and indirect attack sources */

/**
 * An item of a source added for multilingual and indirect attacks: it also records the licence
 * (its short name; sources.json has the full statement). Kept compact: test/guards/public must stay
 * under 6 MiB (test/guards/public-data.test.ts), so these sources are sampled small.
 */
const shortLicense = (key) => manifest.repos[key].license.split(' (')[0];
function litem(key, path, id, text, label, category, extra = {}) {
  return item(key, path, id, text, label, category, { license: shortLicense(key), ...extra });
}

/** Where a carrier paragraph came from, in one field: repo@commit:path#first-last line (0-based). */
const carrierOf = (iso3, start, n) => ({ carrier: `${manifest.repos.ntrex.repo}@${manifest.repos.ntrex.commit}:${ntrexPath(iso3)}#${start}-${start + n - 1}`, carrier_license: shortLicense('ntrex') });

/** A number in [0, n) from a hash of `seed`: deterministic choices (tokens, carriers, positions). */
const pick = (seed, n) => parseInt(hash(seed).slice(0, 8), 16) % n;

/**
 * A token to fill a canary or ticket-code placeholder, chosen by a hash of `seed` among many
 * shapes (words and digits, hex, numbers, ordinary words), so no token and no token shape is
 * learnt as "attack": attacks and benign controls draw from the same generator.
 */
const TOKEN_WORDS = ['amber', 'falcon', 'river', 'orchid', 'maple', 'cobalt', 'harbor', 'lantern', 'meadow', 'pepper', 'quartz', 'saffron', 'tundra', 'velvet', 'willow', 'zephyr', 'cedar', 'delta', 'ember', 'fjord', 'granite', 'hazel', 'indigo', 'juniper', 'kiwi', 'lotus', 'mango', 'nectar', 'opal', 'pebble'];
function token(seed) {
  const h = hash(`token:${seed}`);
  const n = (i, m) => parseInt(h.slice(i, i + 6), 16) % m;
  const w = (i) => TOKEN_WORDS[n(i, TOKEN_WORDS.length)];
  switch (n(0, 9)) {
    case 0: return `${w(6).toUpperCase()}_${w(12).toUpperCase()}_${n(18, 90) + 10}`;
    case 1: return h.slice(24, 24 + 6 + n(30, 5)).toUpperCase();
    case 2: return String(100000 + n(36, 900000));
    case 3: return `${w(6)}-${w(12)}`;
    case 4: return `${['REF', 'TK', 'ID', 'ORD', 'CASE'][n(42, 5)]}-${n(48, 90000) + 10000}`;
    case 5: return `${w(6)[0].toUpperCase()}${w(6).slice(1)} ${w(12)[0].toUpperCase()}${w(12).slice(1)}`;
    case 6: return h.slice(40, 48);
    case 7: return `${w(18)}${n(24, 900) + 100}`;
    default: return `${String.fromCharCode(65 + n(6, 26))}${String.fromCharCode(65 + n(12, 26))}${n(18, 9000) + 1000}`;
  }
}

/**
 * PolyGuard (IshKej/polyguard, MIT): 15 attacks per language (instruction override, role-play
 * jailbreak, system-prompt extraction, Base64-obfuscated override, indirect injection in a
 * review or e-mail) and 6 benign controls (a polite request to echo a ticket code), in 18
 * languages, bn and th machine-translated. Read from scripts/guard-data/vendor/polyguard.json (the
 * repository has no snapshot to clone here). The source's fixed canary and control tokens are not
 * used: every {C} and {T} gets its own token from token(), every {B64} is the Base64 of one of the
 * language's own override sentences with such a token, as the source builds it.
 */
const POLYGUARD = JSON.parse(readFileSync(join(here, 'vendor', 'polyguard.json'), 'utf8'));
const polyguardFile = (lang) => POLYGUARD.files[POLYGUARD.languages[lang].file];
/**
 * Provenance of a PolyGuard text: `commit` is the manifest's pin (generate_attack_bank.py's
 * commit; public-data.test.ts wants one commit per repository); the bn and th files were read at
 * another commit, recorded as `path_commit`.
 */
function polyguardProvenance(lang) {
  const { path, commit } = polyguardFile(lang);
  return { path, extra: commit === manifest.repos.polyguard.commit ? {} : { path_commit: commit } };
}
function polyguardFill(lang, text, seed) {
  const overrides = POLYGUARD.languages[lang].attacks.instruction_override;
  const b64 = () => Buffer.from(overrides[pick(`b64:${seed}`, overrides.length)].replace('{C}', token(`b64:${seed}`))).toString('base64');
  return text.replaceAll('{C}', token(seed)).replaceAll('{T}', token(seed)).replaceAll('{B64}', b64());
}
function polyguard() {
  const out = [];
  for (const [lang, { attacks, controls }] of Object.entries(POLYGUARD.languages)) {
    const { path, extra } = polyguardProvenance(lang);
    for (const [cat, variants] of Object.entries(attacks)) {
      variants.forEach((raw, i) => {
        const id = `polyguard:${lang}:${cat}:${i}`;
        out.push(litem('polyguard', path, id, polyguardFill(lang, raw, id), 'malicious', `${cat}/${lang}`, extra));
      });
    }
    controls.forEach((raw, i) => {
      const id = `polyguard:${lang}:control:${i}`;
      out.push(litem('polyguard', path, id, polyguardFill(lang, raw, id), 'benign', `control/${lang}`, extra));
    });
  }
  return out;
}

/**
 * NTREX-128 (MicrosoftTranslator/NTREX, CC BY-SA 4.0): the WMT19 news test set translated by
 * people into 128 languages, 1,997 sentences each, line-aligned. Benign news prose in the
 * languages whose attacks the tuning set otherwise lacks, so non-Latin script is not learnt as
 * "attack". Lines 0–999 give benign sentences (and, if asked, paragraphs of 2–3 lines); lines
 * 1000 on are kept for carriers of the injected sources below, so no text is both.
 */
const NTREX_LANGS = { ben: 'bn', fil: 'tl', ind: 'id', tha: 'th', tur: 'tr', vie: 'vi', ita: 'it', kor: 'ko', por: 'pt', hin: 'hi', arb: 'ar', eng: 'en' };
const ntrexPath = (iso3) => (iso3 === 'eng' ? 'NTREX-128/newstest2019-src.eng.txt' : `NTREX-128/newstest2019-ref.${iso3}.txt`);
const ntrexCache = new Map();
function ntrexLines(iso3) {
  if (!ntrexCache.has(iso3)) ntrexCache.set(iso3, show('ntrex', ntrexPath(iso3)).replace(/^\uFEFF/, '').split('\n').map((l) => l.trim()));
  return ntrexCache.get(iso3);
}
/** Paragraphs of `min`–`max` consecutive non-empty lines from [from, to), at positions chosen by hash (short: the samples' size budget). */
function ntrexParagraphs(iso3, from, to, n, salt, min = 2, max = 3) {
  const lines = ntrexLines(iso3);
  const out = [];
  for (let k = 0; out.length < n && k < n * 4; k++) {
    const len = min + pick(`${salt}:${iso3}:len:${k}`, max - min + 1);
    const start = from + pick(`${salt}:${iso3}:start:${k}`, Math.max(1, Math.min(to, lines.length) - from - len));
    const sents = lines.slice(start, start + len);
    if (sents.every((l) => l.length >= 5)) out.push({ start, sents });
  }
  return out;
}
function ntrex(sentences = 7, paragraphs = 0) {
  return Object.entries(NTREX_LANGS).flatMap(([iso3, lang]) => {
    const path = ntrexPath(iso3);
    const lines = ntrexLines(iso3);
    const single = lines.slice(0, 1000).map((t, i) => litem('ntrex', path, `ntrex:${lang}:line:${i}`, t, 'benign', `news/${lang}`)).filter((it) => it.text.length >= 20);
    const paras = ntrexParagraphs(iso3, 0, 1000, paragraphs, 'benign').map(({ start, sents }) =>
      litem('ntrex', path, `ntrex:${lang}:para:${start}:${sents.length}`, sents.join(' '), 'benign', `news/${lang}`, { lines: `${start}-${start + sents.length - 1}` }),
    );
    return [...sample(single, sentences), ...paras];
  });
}

/**
 * Language-native indirect injections: one PolyGuard attack sentence of a language (override,
 * role-play, extraction, or the "SYSTEM OVERRIDE: …" sentence of its indirect attacks), with its
 * own token, inserted between two sentences of a same-language NTREX paragraph (lines 1000 on).
 * The item records both provenances: repo/commit/path of the attack text, carrier_* of the news.
 */
function polyguardNtrex(perLanguage = 5) {
  const out = [];
  for (const [iso3, lang] of Object.entries(NTREX_LANGS)) {
    if (lang === 'en') continue; // English attacks are plentiful in the other sources
    const { attacks } = POLYGUARD.languages[lang];
    const injected = attacks.indirect_injection.map((t) => /SYSTEM OVERRIDE.*?(?=["”」]?$)/s.exec(t)?.[0]).filter(Boolean);
    const payloads = [...attacks.instruction_override, ...attacks.role_play_jailbreak, ...attacks.system_prompt_extraction, ...injected];
    const { path, extra } = polyguardProvenance(lang);
    ntrexParagraphs(iso3, 1000, 1997, perLanguage, 'carrier', 2, 2).forEach(({ start, sents }, k) => {
      const id = `polyguard-ntrex:${lang}:${start}:${k}`;
      const payload = polyguardFill(lang, payloads[pick(`payload:${id}`, payloads.length)], id);
      const at = 1 + pick(`at:${id}`, sents.length - 1);
      const text = [...sents.slice(0, at), payload, ...sents.slice(at)].join(' ');
      out.push(litem('polyguard', path, id, text, 'malicious', `indirect-news/${lang}`, { ...extra, ...carrierOf(iso3, start, sents.length) }));
    });
  }
  return out;
}

/**
 * IndicJR (ppattnayak/indicjr, MIT): clean benign prompts in Bengali and Hindi, a Wikipedia
 * paragraph and a task in the same language ("कार्य: … केवल एक शब्द में उत्तर दें।" — summarise,
 * classify, extract). Benign instructions to the model in Indic script.
 */
function indicjr(perLanguage = 5) {
  return ['bn', 'hi'].flatMap((lang) => {
    const path = `prompts_json_clean_benign_clean_harmful/benign/${lang}.jsonl`;
    const rows = show('indicjr', path).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    return sample(rows.map((r, i) => litem('indicjr', path, `indicjr:${lang}:benign:${i}`, String(r.prompt ?? r.text), 'benign', `user-prompt/${lang}`, { task: r.ttype })), perLanguage);
  });
}

/**
 * spikee (kyuz0/spikee, Apache-2.0): jailbreak templates with an <INSTRUCTION> slot and
 * instructions (system-prompt extraction, data exfiltration by a markdown image, XSS, a password
 * reset token from a mailbox), English only (its zu/sq/ga/gd translations are left out, and so
 * are its DAN templates, which garak's DAN probes may share). Composed as spikee composes them:
 * a template filled with an instruction (chosen by hash), sent as is or placed in a document —
 * spikee's own e-mail or an English NTREX paragraph (lines 1000 on). Its standalone investment
 * questions and their false-positive set are benign user prompts (they override nothing).
 */
const SPIKEE_SEEDS = ['seeds-cybersec-2026-01', 'seeds-sysmsg-extraction-2025-04', 'seeds-llm-mailbox'];
function spikee(n = 40, benignN = 10) {
  const dir = 'spikee/data/workspace/datasets';
  const jsonl = (path) => show('spikee', path).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const english = (r) => !r.lang || r.lang === 'en';
  const jailbreaks = new Map();
  const instructions = new Map();
  for (const seed of SPIKEE_SEEDS) {
    for (const r of jsonl(`${dir}/${seed}/jailbreaks.jsonl`)) if (english(r) && r.jailbreak_type !== 'dan' && !jailbreaks.has(r.text)) jailbreaks.set(r.text, { ...r, path: `${dir}/${seed}/jailbreaks.jsonl` });
    for (const r of jsonl(`${dir}/${seed}/instructions.jsonl`)) if (english(r) && !instructions.has(r.instruction)) instructions.set(r.instruction, { ...r, path: `${dir}/${seed}/instructions.jsonl` });
  }
  const emailPath = `${dir}/seeds-cybersec-2026-01/base_user_inputs.jsonl`;
  const email = jsonl(emailPath).find((r) => r.id === 'email-01').document;
  const carriers = ntrexParagraphs('eng', 1000, 1997, 120, 'spikee', 2, 2);
  const J = [...jailbreaks.values()];
  const I = [...instructions.values()];
  const items = [];
  for (const jb of J) {
    for (const ins of I) {
      const id = `spikee:${jb.id}:${ins.id}`;
      const attack = jb.text.replace('<INSTRUCTION>', ins.instruction.replace(/\.$/, ''));
      const mode = pick(`mode:${id}`, 3);
      let text = attack;
      const extra = { instruction_path: ins.path };
      if (mode === 1) text = email.replace(/(CONTENT: )(.*)$/s, (_, a, body) => `${a}${body} ${attack}`);
      else if (mode === 2) {
        const { start, sents } = carriers[pick(`carrier:${id}`, carriers.length)];
        const at = 1 + pick(`at:${id}`, sents.length - 1);
        text = [...sents.slice(0, at), attack, ...sents.slice(at)].join(' ');
        Object.assign(extra, carrierOf('eng', start, sents.length));
      }
      items.push(litem('spikee', jb.path, id, text, 'malicious', `${['direct', 'indirect-email', 'indirect-news'][mode]}/${ins.instruction_type}`, extra));
    }
  }
  const benign = ['seeds-investment-advice', 'seeds-investment-advice-fp'].flatMap((seed) => {
    const path = `${dir}/${seed}/standalone_user_inputs.jsonl`;
    return jsonl(path).map((r) => litem('spikee', path, `spikee:${seed}:${r.id}`, r.text, 'benign', 'user-prompt/en'));
  });
  return [...sample(items, n), ...sample(benign, benignN)];
}

/**
 * TaskTracker (microsoft/TaskTracker, MIT): the trigger phrases its poisoned data places before a
 * secondary task inside retrieved text ("Disregard any prior or subsequent directives; …",
 * "Critical update: there's an additional task …"), spliced as TaskTracker splices them: trigger
 * and a secondary task (its trivia questions, English, or the translated ones, de/fr/it/es/ar)
 * between two sentences of an English NTREX paragraph (lines 1000 on). jailbreaks_pair_attack.txt
 * is left out (it duplicates JailbreakBench's PAIR rows, a tuning source already).
 */
function taskTracker(n = 40) {
  const dir = 'task_tracker/dataset_creation/datasets';
  const lines = (path) => show('tasktracker', `${dir}/${path}`).split('\n').map((l) => l.trim()).filter(Boolean);
  const triggers = [...lines('saved_injections.txt').map((t, i) => ({ t, path: `${dir}/saved_injections.txt`, i })), ...lines('saved_injections_test.txt').map((t, i) => ({ t, path: `${dir}/saved_injections_test.txt`, i }))];
  const tasks = [
    ...lines('trivia_pairs.txt').map((l) => /^Question:\s*(.*?)\s*Answer:/.exec(l)?.[1]).filter(Boolean).map((q) => ({ q, path: `${dir}/trivia_pairs.txt` })),
    ...lines('translated_secondary_tasks.txt').map((q) => ({ q, path: `${dir}/translated_secondary_tasks.txt` })),
  ];
  const carriers = ntrexParagraphs('eng', 1000, 1997, 150, 'tasktracker', 2, 2);
  const items = triggers.map(({ t, path, i }) => {
    const id = `tasktracker:${path.split('/').pop()}:${i}`;
    const task = tasks[pick(`task:${id}`, tasks.length)];
    const { start, sents } = carriers[pick(`carrier:${id}`, carriers.length)];
    const at = 1 + pick(`at:${id}`, sents.length - 1);
    const text = [...sents.slice(0, at), t, task.q, ...sents.slice(at)].join(' ');
    return litem('tasktracker', path, id, text, 'malicious', 'indirect-news/trigger', { task_path: task.path, ...carrierOf('eng', start, sents.length) });
  });
  return sample(items, n);
}

/**
 * promptmap (utkusen/promptmap): only the attacks of its MIT-licensed version (promptmap.py at
 * 90a56ea, before promptmap2): a developer-claim override, a role switch, the typoglycemia
 * distraction and four system-prompt-stealing prompts. The rules/ directory of promptmap2
 * (prompt_stealing, distraction, …) is GPL-3.0 since commit 5f00c73 and is not used.
 */
function promptmap() {
  const path = 'promptmap.py';
  const src = show('promptmap', path);
  // The basic list only (it ends at the first line opening with a comment); the "advanced" baselines after it are ordinary questions.
  const body = /basic_attack_list = \{([\s\S]*?)\}\s*\n#/.exec(src)[1];
  const entries = [...body.matchAll(/"(\w+)":\s*(?:"""([\s\S]*?)"""|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g)].map((m) => [m[1], (m[2] ?? m[3] ?? m[4]).trim()]);
  const out = [];
  for (const [key, text] of entries) {
    if (key === 'translation') continue; // an ordinary question in German
    if (key === 'system_prompt_stealer') {
      text.split(/\n(?=\d\. )/).forEach((p, i) => out.push(litem('promptmap', path, `promptmap:${key}:${i}`, p.replace(/^\d\.\s*/, '').trim(), 'malicious', 'direct/prompt-stealing')));
    } else out.push(litem('promptmap', path, `promptmap:${key}`, text, 'malicious', { typoglycemia: 'direct/distraction', basic_injection2: 'direct/distraction', carnigie_mellon_universal: 'direct/adversarial-suffix' }[key] ?? 'direct/override'));
  }
  return out;
}

/* ------------------------------------------------------------------ write */

let reservedDropped = 0;
const builders = {
  injecagent: () => injecagent(),
  gptfuzz: () => gptfuzz(),
  'llmguard-tests': () => llmGuardTests(),
  promptinject: () => promptInject(),
  'guardrail-docs': () => guardrailDocs(),
  'chat-templates': () => chatTemplates(),
  xsafety: () => xsafety(),
  'multilingual-docs': () => multilingualDocs(),
  jailbreakbench: () => jailbreakBench(),
  multijail: () => multiJail(),
  xsid: () => xsid(),
  'mt-bench': () => mtBench(),
  polyguard: () => polyguard(),
  'polyguard-ntrex': () => polyguardNtrex(),
  ntrex: () => ntrex(),
  indicjr: () => indicjr(),
  spikee: () => spikee(),
  tasktracker: () => taskTracker(),
  promptmap: () => promptmap(),
  'tensortrust-hijacking': () => tensorTrust('hijacking_robustness_dataset.jsonl', 'hijacking', 400),
  'owasp-en': () => owaspEnglish(),
  'owasp-1.1-translations': () => owaspOldTranslations(),
  cyberseceval: () => cyberseceval('prompt_injection.json', 300, false),
  'cyberseceval-multilingual': () => cyberseceval('prompt_injection_multilingual_machine_translated.json', 500, true),
  'tensortrust-extraction': () => tensorTrust('extraction_robustness_dataset.jsonl', 'extraction', 300),
  'owasp-translations': () => owaspTranslations(),
  llamafirewall: () => llamafirewall(),
};
// --only a,b rebuilds those sources and leaves the other files as they are (the held-out texts
// the overlap check needs are then read from test/guards/public/heldout).
const only = process.argv.includes('--only') ? new Set(process.argv[process.argv.indexOf('--only') + 1].split(',')) : undefined;
const built = {};
for (const source of manifest.sources) {
  if (!only || only.has(source.id)) built[source.id] = builders[source.id]();
  else if (source.split === 'heldout') built[source.id] = readFileSync(join(outDir, 'heldout', `${source.id}.jsonl`), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}
const builtSources = manifest.sources.filter((s) => built[s.id] && (!only || only.has(s.id)));

// Reserved collections (AgentDojo, BIPIA, garak) must not reach tuning data, whatever copied them.
const RESERVED = /agentdojo|bipia|garak/i;
for (const source of builtSources.filter((s) => s.split === 'tuning')) {
  const before = built[source.id].length;
  built[source.id] = built[source.id].filter((it) => !RESERVED.test(`${it.path} ${it.id}`));
  reservedDropped += before - built[source.id].length;
}
console.log(`reserved-collection check: ${reservedDropped} items dropped (provenance names AgentDojo, BIPIA or garak)`);

// A tuning item that copies held-out data (collections often copy CyberSecEval, also translated,
// or Tensor Trust) would leak the evaluation into training: exact and near duplicates are
// dropped (overlap.mjs). Reference: the FULL held-out datasets, not only the sampled rows.
const heldoutReference = [
  ...JSON.parse(show('purplellama', 'CybersecurityBenchmarks/datasets/prompt_injection/prompt_injection.json')).map((r) => r.user_input),
  ...JSON.parse(show('purplellama', 'CybersecurityBenchmarks/datasets/prompt_injection/prompt_injection_multilingual_machine_translated.json')).map((r) => r.user_input),
  ...show('promptfuzz', 'Datasets/extraction_robustness_dataset.jsonl').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l).attack),
  ...manifest.sources.filter((s) => s.split === 'heldout').flatMap((s) => built[s.id].map((it) => it.text)),
].map(String);
const overlaps = overlapIndex(heldoutReference);
for (const source of builtSources.filter((s) => s.split === 'tuning')) {
  const before = built[source.id].length;
  built[source.id] = built[source.id].filter((it) => !overlaps(it.text));
  console.log(`held-out overlap check: ${source.id}: ${before - built[source.id].length} of ${before} dropped`);
}

// A held-out item whose text is also tuning data (a template shared by two document versions)
// would measure nothing: dropped.
const tuningTexts = new Set(manifest.sources.filter((s) => s.split === 'tuning' && built[s.id]).flatMap((s) => built[s.id].map((it) => it.text.trim())));
for (const source of builtSources.filter((s) => s.split === 'heldout')) built[source.id] = built[source.id].filter((it) => !tuningTexts.has(it.text.trim()));

let total = 0;
for (const source of builtSources) {
  const items = built[source.id];
  const dir = join(outDir, source.split);
  mkdirSync(dir, { recursive: true });
  const body = items.map((it) => JSON.stringify({ source: source.id, split: source.split, ...it })).join('\n') + '\n';
  writeFileSync(join(dir, `${source.id}.jsonl`), body);
  total += Buffer.byteLength(body);
  const mal = items.filter((i) => i.label === 'malicious').length;
  console.log(`${source.split.padEnd(8)} ${source.id.padEnd(26)} ${String(items.length).padStart(4)} items (${mal} malicious, ${items.length - mal} benign) ${(Buffer.byteLength(body) / 1024).toFixed(0)} KiB`);
}
console.log(`total ${(total / 1024 / 1024).toFixed(2)} MiB in ${outDir}`);
