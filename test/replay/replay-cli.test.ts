import { execFile } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANDIDATE, startFixture, type Fixture } from './fixture.js';

/** The built CLI (`npm test` builds first), run as CI would run it. */
const CLI = fileURLToPath(new URL('../../dist/surfaces/cli/main.js', import.meta.url));

function warden(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

let f: Fixture;

// The gateway keeps running while the CLI reads its log (read-only, beside the writer).
beforeAll(async () => {
  f = await startFixture();
}, 60_000);
afterAll(async () => {
  await f?.close();
});

// Each run starts a Node process; on a busy machine that takes seconds.
describe('warden replay', { timeout: 120_000 }, () => {
  it('exits 1 when a transition named by --fail-on occurs, and says which', async () => {
    const r = await warden(['replay', '--config', f.config, '--policies', f.candidate, '--fail-on', 'deny->allow'], f.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/deny→allow\s+3/);
    expect(r.stdout).toContain('FAIL: deny→allow: 3 (--fail-on)');
    expect(r.stdout).toMatch(/payments\/large-refunds\s+payments\/refunds-up-to-5000\s+3/);
  });

  it('exits 0 when none does (→ and -> alike), and gates on undetermined records when asked', async () => {
    const ok = await warden(['replay', '--config', f.config, '--policies', f.candidate, '--fail-on', 'allow→require_approval,require_approval->allow'], f.dir);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('OK: no transition named by --fail-on');
    const strict = await warden(['replay', '--config', f.config, '--policies', f.candidate, '--fail-on', 'undetermined'], f.dir);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('undetermined: 2');
  });

  it('prints the report as JSON, filtered by tenant', async () => {
    const r = await warden(['replay', '--config', f.config, '--policies', f.candidate, '--tenant', 'globex', '--json', '--fail-on', '*→allow'], f.dir);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ changed: 1, gated: ['deny→allow: 1'], transitions: [{ transition: 'deny→allow', count: 1 }] });
    expect(report.transitions[0].samples[0].tenant).toBe('globex');
  });

  it('counts the same with the window split across worker threads', async () => {
    const one = await warden(['replay', '--config', f.config, '--policies', f.candidate, '--json'], f.dir);
    const three = await warden(['replay', '--config', f.config, '--policies', f.candidate, '--json', '--workers', '3'], f.dir);
    expect(three.code).toBe(0);
    const [a, b] = [JSON.parse(one.stdout), JSON.parse(three.stdout)];
    for (const key of ['read', 'replayed', 'unchanged', 'changed', 'undetermined', 'skipped', 'rules', 'tenants', 'window']) expect(b[key]).toEqual(a[key]);
    expect(b.changed).toBe(4);
  });

  it('reads the log with --db and --current, without a config', async () => {
    const r = await warden(['replay', '--db', f.db, '--current', f.current, '--policies', f.candidate, '--json'], f.dir);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ changed: 4, undetermined: 2 });
    const none = await warden(['replay', '--db', f.db, '--policies', f.candidate], f.dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--current');
  });

  it('exits 2 for a malformed candidate, a bad --fail-on, and a missing config', async () => {
    const broken = join(f.dir, 'broken');
    cpSync(f.candidate, broken, { recursive: true });
    writeFileSync(join(broken, 'payments.yaml'), CANDIDATE['payments.yaml'].replace('effect: allow', 'effect: permit'));
    const bad = await warden(['replay', '--config', f.config, '--policies', broken, '--fail-on', 'deny→allow'], f.dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/candidate policies in .*broken do not load/);
    expect(bad.stderr).toContain('payments.yaml');

    const gate = await warden(['replay', '--config', f.config, '--policies', f.candidate, '--fail-on', 'deny→permit'], f.dir);
    expect(gate.code).toBe(2);
    expect(gate.stderr).toContain('"deny→permit" is not a transition');

    const missing = await warden(['replay', '--config', join(f.dir, 'nope.yaml'), '--policies', f.candidate], f.dir);
    expect(missing.code).toBe(2);
    const window = await warden(['replay', '--config', f.config, '--policies', f.candidate, '--since', '24h', '--to', '1h'], f.dir);
    expect(window.code).toBe(2);
  });
});
