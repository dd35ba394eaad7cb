import { execFileSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SCREENSHOTS } from './screenshot-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });

function insideGitCheckout(): boolean {
  try { return git('rev-parse', '--is-inside-work-tree').trim() === 'true'; } catch { return false; }
}

describe.runIf(insideGitCheckout())('browser test screenshots', () => {
  it('go to a folder git ignores, so npm test leaves the tree clean', () => {
    const shot = relative(ROOT, join(SCREENSHOTS, 'overview.png'));
    // exit status 0 = ignored; check-ignore throws on 1 (not ignored)
    expect(() => git('check-ignore', '-q', '--no-index', shot)).not.toThrow();
  });
});
