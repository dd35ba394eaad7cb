import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runWarden } from './processes.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/policies', import.meta.url));

describe('warden check <file>', () => {
  it('checks a single policy file', async () => {
    const run = await runWarden(['check', join(EXAMPLES, 'refunds.yaml')]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/ok: 1 policies, \d+ rules, 0 test suites/);
  });

  it('reports the problems of a single file with its line and column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-check-file-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'id: bad\nversion: 1\nrules:\n  - id: r\n    efect: allow\n');
    const run = await runWarden(['check', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('bad.yaml:5:');
    expect(run.stdout).toContain('unknown field "efect"');
  });
});
