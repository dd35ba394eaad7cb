import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkCommand } from '../../src/surfaces/cli/commands/check.js';

/** `warden check --tools`, without --analyze: a tool glob that spans several MCP upstreams is a warning. */
let dir: string | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function check(policy: string): Promise<{ code: number; out: string }> {
  dir = mkdtempSync(join(tmpdir(), 'warden-check-globs-'));
  writeFileSync(join(dir, 'files.yaml'), policy);
  const tools = join(dir, 'tools.json');
  writeFileSync(
    tools,
    JSON.stringify([
      { name: 'docs.read_file', upstream: 'docs' },
      { name: 'docs.write_file', upstream: 'docs' },
      { name: 'code.read_file', upstream: 'code' },
      'issue_refund',
    ]),
  );
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  const code = await checkCommand(dir, { tools, defaultGuards: false });
  return { code, out: lines.join('\n') };
}

describe('warden check --tools', () => {
  it('warns when a rule tool glob matches the tools of several upstreams, and still passes', async () => {
    const { code, out } = await check('id: files\nversion: 1\nrules:\n  - id: reads\n    effect: allow\n    tools: ["*.read_file", "docs.*"]\n');
    expect(code).toBe(0);
    expect(out).toMatch(/files\.yaml:6:\d+: warning \[glob-spans-upstreams\] files\/reads: pattern "\*\.read_file" matches tools of 2 MCP upstreams \(code, docs\)/);
    expect(out).not.toMatch(/pattern "docs\.\*"/);
  });

  it('says nothing when each glob stays within one upstream', async () => {
    const { code, out } = await check('id: files\nversion: 1\nrules:\n  - id: reads\n    effect: allow\n    tools: ["docs.*", "code.read_file"]\n');
    expect(code).toBe(0);
    expect(out).not.toContain('glob-spans-upstreams');
    expect(out).toMatch(/^ok: 1 policies, 1 rules/m);
  });
});
