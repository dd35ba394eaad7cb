import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanText } from '../../src/guards/injection/index.js';

interface Entry {
  text: string;
  note: string;
  kinds?: string[];
}

const dir = join(import.meta.dirname, 'injection-corpus');
const load = (file: string): Entry[] =>
  readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Entry);
const ALLOWED_HOSTS = JSON.parse(readFileSync(join(dir, 'allowed-hosts.json'), 'utf8')) as string[];

describe('prompt-injection corpus', () => {
  const malicious = load('malicious.jsonl');
  const benign = load('benign.jsonl');

  it('has at least 200 malicious and 200 benign texts, all distinct', () => {
    expect(malicious.length).toBeGreaterThanOrEqual(200);
    expect(benign.length).toBeGreaterThanOrEqual(200);
    const texts = new Set([...malicious, ...benign].map((e) => e.text));
    expect(texts.size).toBe(malicious.length + benign.length);
  });

  it('reaches recall >= 0.9 at precision >= 0.95 at the default threshold (the issue target)', () => {
    const tp = malicious.filter((m) => scanText(m.text, { allowedHosts: ALLOWED_HOSTS }).suspicious).length;
    const fp = benign.filter((b) => scanText(b.text, { allowedHosts: ALLOWED_HOSTS }).suspicious).length;
    const recall = tp / malicious.length;
    const precision = tp / (tp + fp);
    // Measured when written: recall 0.934 (199/213), precision 0.975 (5 FP of 215). The misses
    // are the deliberately hard entries (paraphrases, leetspeak, homoglyphs, ROT13, Swahili…).
    expect(recall).toBeGreaterThanOrEqual(0.9);
    expect(precision).toBeGreaterThanOrEqual(0.95);
  });

  it('finds the same injections when they sit inside longer text (keyword windows, not whole-text scans)', () => {
    const prose = 'The quarterly review covered revenue, hiring and the roadmap; the database migration finished early. '.repeat(25);
    const missed = malicious.filter((m) => {
      const alone = scanText(m.text, { allowedHosts: ALLOWED_HOSTS }).suspicious;
      const embedded = scanText(`${prose}\n\n${m.text}\n\n${prose}`, { allowedHosts: ALLOWED_HOSTS }).suspicious;
      return alone && !embedded;
    });
    expect(missed.map((m) => m.note)).toEqual([]);
  });
});
