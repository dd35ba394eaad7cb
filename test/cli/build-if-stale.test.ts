import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** `npm start` builds only when the sources are newer than the build (scripts/build-if-stale.mjs). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'build-if-stale.mjs');

function tree(files: Record<string, number>): string {
  const root = mkdtempSync(join(tmpdir(), 'warden-stale-'));
  for (const [file, secondsAgo] of Object.entries(files)) {
    const path = join(root, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '');
    const when = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(path, when, when);
  }
  // Folder times count too (a removed source): make them old, as in a checkout.
  for (const dir of ['src', 'src/policy']) if (existsSync(join(root, dir))) utimesSync(join(root, dir), new Date(0), new Date(0));
  return root;
}

const decide = (root: string) => execFileSync(process.execPath, [SCRIPT, '--root', root, '--dry-run'], { encoding: 'utf8' }).trim();
const BUILT = { 'dist/index.js': 100, 'dist/surfaces/cli/main.js': 100, 'dist/ui/index.html': 99 };

describe('npm start builds only when sources changed', () => {
  it('uses the staleness check, not an unconditional build', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toContain('scripts/build-if-stale.mjs');
    expect(pkg.scripts.start).not.toMatch(/npm run build/);
  });

  it('skips the build when every output is newer than every source', () => {
    expect(decide(tree({ 'src/index.ts': 200, 'src/policy/load.ts': 300, 'package.json': 500, ...BUILT }))).toBe('fresh');
  });

  it('builds when a source is newer than the build, or an output is missing', () => {
    expect(decide(tree({ 'src/index.ts': 200, 'src/policy/load.ts': 10, 'package.json': 500, ...BUILT }))).toBe('stale: src/policy/load.ts changed since the last build');
    expect(decide(tree({ 'src/index.ts': 200, 'package.json': 5, ...BUILT }))).toBe('stale: package.json changed since the last build');
    const partial = tree({ 'src/index.ts': 200, ...BUILT });
    rmSync(join(partial, 'dist/ui/index.html'));
    expect(decide(partial)).toBe('stale: dist/ui/index.html is missing');
  });
});
