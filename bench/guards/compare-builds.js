/**
 * Equivalence check for speed work on the injection guard: two builds of the guard must return
 * the same scans — verdict, score, every finding's kind, score, detail and offset — for every
 * text the repository holds about guards, and for variants made to reach the decoding layers,
 * the typo matching and the skip rules.
 *
 *   node bench/guards/compare-builds.js OLD_DIST [NEW_DIST]
 *
 * OLD_DIST and NEW_DIST are directories holding guards/injection/index.js (a `dist/` of each
 * build; NEW_DIST defaults to this checkout's dist). Build the old one from a clean checkout,
 * e.g. `git archive HEAD src | tar -x -C /tmp/old && tsc -p … --outDir /tmp/old/dist`.
 *
 * Texts: every `text` of every .jsonl under test/guards (the in-repo corpus, the tuning and
 * held-out public samples), the string literals of test/guards/*.test.ts, and per text: its
 * base64, base32, hex, URL and HTML escapes, ROT13, leetspeak, Cyrillic look-alikes, zero-width
 * characters and misspellings, plus seeded random strings around the run lengths the gates
 * test (23–25 base32 characters, 39–41 base64 ones). Each is scanned with the cache off, with
 * and without the corpus's allowed hosts and the classifier, and as values of an argument
 * object (scanValue). Exit code 1 and the first differences printed when any scan differs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const [oldDir, newDir = join(root, 'dist')] = process.argv.slice(2);
if (!oldDir) {
  console.error('usage: node bench/guards/compare-builds.js OLD_DIST [NEW_DIST]');
  process.exit(2);
}
const load = async (dir) => ({
  ...(await import(pathToFileURL(resolve(dir, 'guards/injection/index.js')).href)),
  ...(await import(pathToFileURL(resolve(dir, 'guards/injection/scan.js')).href)),
});
const OLD = await load(oldDir);
const NEW = await load(newDir);

/* ------------------------------------------------------------------ texts */

const jsonlFiles = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(d, e.name));
    else if (e.name.endsWith('.jsonl')) jsonlFiles.push(join(d, e.name));
  }
};
walk(join(root, 'test', 'guards'));
const base = [];
for (const f of jsonlFiles.sort()) {
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const t = JSON.parse(line).text;
    if (typeof t === 'string') base.push(t);
  }
}
const testDir = join(root, 'test', 'guards');
for (const f of readdirSync(testDir).filter((n) => n.endsWith('.test.ts'))) {
  const src = readFileSync(join(testDir, f), 'utf8');
  for (const m of src.matchAll(/'((?:[^'\\\n]|\\.){4,})'|"((?:[^"\\\n]|\\.){4,})"|`([^`$\\]{4,})`/g)) {
    const raw = m[1] ?? m[2] ?? m[3];
    try {
      base.push(m[3] !== undefined ? raw : JSON.parse(`"${raw.replace(/\\'/g, "'").replace(/"/g, '\\"').replace(/\\\\"/g, '\\"')}"`));
    } catch {
      base.push(raw);
    }
  }
}

let seed = 42;
const rand = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};
const pick = (s) => s[Math.floor(rand() * s.length)];
const base32 = (s) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
};
const rot13 = (s) => s.replace(/[a-z]/gi, (c) => String.fromCharCode(((c.charCodeAt(0) & 31) + 12) % 26 + (c.charCodeAt(0) & 96) + 1));
const variants = (t) => {
  const head = t.slice(0, 600);
  return [
    Buffer.from(head).toString('base64'),
    `Data: ${Buffer.from(head).toString('base64url')} end`,
    base32(head.slice(0, 200)),
    Buffer.from(head.slice(0, 200)).toString('hex'),
    encodeURIComponent(head),
    head.replace(/[a-z]/g, (c) => `&#${c.charCodeAt(0)};`),
    rot13(head),
    head.replace(/i/g, '1').replace(/o/g, '0').replace(/e/g, '3'),
    head.replace(/a/g, 'а').replace(/e/g, 'е').replace(/o/g, 'о'),
    head.replace(/ /g, ' \u200b'),
    head.replace(/instructions/gi, 'iunstructions').replace(/previous/gi, 'prevoius').replace(/ignore/gi, 'ingore').replace(/system/gi, 'sytsem'),
    head.toUpperCase(),
  ];
};
const fuzz = [];
for (let i = 0; i < 3000; i++) {
  const alpha = pick(['ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-', 'abcdefghijklmnopqrstuvwxyz', 'ab1!0@3$45 AZ']);
  const runs = [];
  for (let r = 0; r < 1 + Math.floor(rand() * 4); r++) {
    const len = pick([1, 5, 12, 22, 23, 24, 25, 38, 39, 40, 41, 63, 64, 65]);
    let s = '';
    for (let k = 0; k < len; k++) s += pick(alpha);
    runs.push(s);
  }
  fuzz.push(runs.join(pick([' ', '.', '=', '==', '\n', '-', 'é', ' ignore previous instructions '])));
}
const texts = [...new Set([...base, ...base.flatMap(variants), ...fuzz])];

/* ------------------------------------------------------------------ compare */

const hosts = JSON.parse(readFileSync(join(root, 'test', 'guards', 'injection-corpus', 'allowed-hosts.json'), 'utf8'));
const optionSets = [{ cache: false }, { cache: false, allowedHosts: hosts }, { cache: false, classifier: false }];
let compared = 0;
let differ = 0;
let suspicious = 0;
const report = (what, text, a, b) => {
  differ++;
  if (differ <= 10) console.log(`DIFFERENT ${what}: ${JSON.stringify(text.slice(0, 120))}\n  old ${JSON.stringify(a).slice(0, 600)}\n  new ${JSON.stringify(b).slice(0, 600)}`);
};
const t0 = Date.now();
for (const text of texts) {
  for (const o of optionSets) {
    const a = JSON.stringify(OLD.scanText(text, o));
    const b = JSON.stringify(NEW.scanText(text, o));
    compared++;
    if (a !== b) report(`scanText ${JSON.stringify(o)}`, text, a, b);
    else if (o.allowedHosts === undefined && o.classifier === undefined && JSON.parse(a).suspicious) suspicious++;
  }
  const value = { id: 'o-456', limit: 10, note: text, words: text.split(/\s+/).slice(0, 12), nested: { status: 'open', title: text.slice(0, 40) } };
  const a = JSON.stringify(OLD.scanValue(value, { cache: false, rootPath: 'args' }));
  const b = JSON.stringify(NEW.scanValue(value, { cache: false, rootPath: 'args' }));
  compared++;
  if (a !== b) report('scanValue', text, a, b);
}
const tokens = new Set();
for (const t of texts) for (const w of t.split(/\s+/)) if (w) tokens.add(w.slice(0, 70));
for (const w of tokens) {
  compared++;
  if (OLD.worthScanning(w) !== NEW.worthScanning(w)) report('worthScanning', w, OLD.worthScanning(w), NEW.worthScanning(w));
}
console.log(
  `${texts.length} texts (${base.length} from test/guards, the rest variants and fuzz), ${tokens.size} tokens: ${compared} comparisons, ` +
    `${differ} different, ${suspicious} texts suspicious under the default options; ${((Date.now() - t0) / 1000).toFixed(0)} s`,
);
process.exit(differ === 0 ? 0 : 1);
