/**
 * The prepared public samples (scripts/guard-data/prepare.mjs → test/guards/public/): every item
 * says where it came from, labels are what the source says, and no text is both a tuning and a
 * held-out item (a held-out row that repeats tuning data would measure nothing).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, 'public');
const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'scripts', 'guard-data', 'sources.json'), 'utf8')) as {
  repos: Record<string, { repo: string; commit: string; license: string }>;
  sources: Array<{ id: string; split: string; label: string }>;
};
type Item = { id: string; text: string; label: string; category: string; repo: string; commit: string; path: string; source: string; split: string };
const load = (split: string): Item[] =>
  readdirSync(join(dir, split))
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, split, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Item));

describe('prepared public samples', () => {
  const tuning = load('tuning');
  const heldout = load('heldout');

  it('record repo, pinned commit and path for every item, from a repository the manifest lists with its license', () => {
    const repos = new Map(Object.values(manifest.repos).map((r) => [r.repo, r]));
    for (const it of [...tuning, ...heldout]) {
      const r = repos.get(it.repo);
      expect(r, it.id).toBeDefined();
      expect(it.commit).toBe(r!.commit);
      expect(it.path.length).toBeGreaterThan(0);
      expect(['malicious', 'benign']).toContain(it.label);
      expect(it.text.trim().length).toBeGreaterThan(0);
    }
  });

  it('put each source in the split the manifest gives it, with the labels it declares', () => {
    for (const s of manifest.sources) {
      const items = (s.split === 'tuning' ? tuning : heldout).filter((i) => i.source === s.id);
      expect(items.length, s.id).toBeGreaterThan(0);
      if (s.label !== 'mixed') expect(new Set(items.map((i) => i.label))).toEqual(new Set([s.label]));
    }
  });

  it('share no text between tuning and held-out data', () => {
    const seen = new Set(tuning.map((i) => i.text.trim()));
    expect(heldout.filter((i) => seen.has(i.text.trim())).map((i) => i.id)).toEqual([]);
  });

  it('stay small, and the committed classifier weights too', () => {
    const size = ['tuning', 'heldout'].flatMap((s) => readdirSync(join(dir, s)).map((f) => statSync(join(dir, s, f)).size)).reduce((a, b) => a + b, 0);
    // 6 MiB: 3.5 MiB until the tuning set gained GPTFuzzer, LLM Guard, PromptInject, guardrail docs
    // and chat templates (≈ +0.5 MiB), then XSafety and translated guides (≈ +1.2 MiB, much of it
    // non-Latin text at 2–3 bytes a character); held-out samples are unchanged.
    expect(size).toBeLessThan(6 * 1024 * 1024);
    expect(statSync(join(import.meta.dirname, '..', '..', 'src', 'guards', 'injection', 'model', 'weights.json')).size).toBeLessThan(5 * 1024 * 1024);
  });
});
