import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runWarden } from './processes.js';

const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));

/** A policy folder with one planted problem of each kind, and a registry with schemas. */
function plantedFolder(): { dir: string; tools: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warden-analyze-'));
  writeFileSync(
    join(dir, 'refunds.yaml'),
    `id: refunds
version: 1
rules:
  - id: frozen
    effect: deny
    tools: [issue_refund]
  - id: small-refund
    effect: allow
    tools: [issue_refund]
    when: "args.amount <= 100"
  - id: large-refund
    effect: require_approval
    tools: [issue_refund]
    when: "args.amout > 100"
  - id: v2
    effect: allow
    tools: ["refund_v2_*"]
  - id: order-number
    effect: deny
    tools: [issue_refund]
    when: "args.order_id > 5"
`,
  );
  writeFileSync(join(dir, 'refunds.test.yaml'), `cases:\n  - name: frozen\n    request: { tenant: t, actor: { agent: { id: a } }, action: tool.call, resource: { type: tool, id: issue_refund }, args: { order_id: "1", amount: 1 } }\n    expect: { effect: deny, rule: frozen }\n`);
  const tools = join(dir, 'tools.json');
  writeFileSync(tools, JSON.stringify([{ name: 'issue_refund', input_schema: { type: 'object', properties: { order_id: { type: 'string' }, amount: { type: 'number' } }, additionalProperties: false } }, 'read_orders']));
  return { dir, tools };
}

describe('warden check --analyze (built CLI)', () => {
  it('reports the planted problems with file:line, and exits 1 on errors', async () => {
    const { dir, tools } = plantedFolder();
    const run = await runWarden(['check', dir, '--analyze', '--tools', tools]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/refunds\.yaml:7:\d+: warning \[shadowed-rule\] refunds\/small-refund: this allow rule can never fire: deny refunds\/frozen/);
    expect(run.stdout).toMatch(/refunds\.yaml:14:\d+: error \[unknown-argument\] refunds\/large-refund: args\.amout is not an argument of tool issue_refund/);
    expect(run.stdout).toContain('hint: did you mean amount?');
    expect(run.stdout).toMatch(/refunds\.yaml:17:\d+: error \[unmatched-tool\] refunds\/v2: pattern "refund_v2_\*" matches no registered tool: the rule can never fire/);
    expect(run.stdout).toMatch(/error \[argument-type\] refunds\/order-number: args\.order_id is a string/);
    // large-refund is shadowed by frozen too; order-number is a deny frozen covers (info).
    expect(run.stdout).toMatch(/analysis: 3 errors, 2 warnings, 1 info/);
  });

  it('prints findings as JSON with --json', async () => {
    const { dir, tools } = plantedFolder();
    const run = await runWarden(['check', dir, '--analyze', '--tools', tools, '--json']);
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout) as { ok: boolean; findings: Array<{ code: string; rule?: string; severity: string; line: number }>; summary: { errors: number } };
    expect(out.ok).toBe(false);
    expect(out.summary.errors).toBe(3);
    expect(out.findings.filter((f) => f.severity === 'error').map((f) => `${f.code} ${f.rule}`).sort()).toEqual(['argument-type order-number', 'unknown-argument large-refund', 'unmatched-tool v2']);
  });

  it('passes the repository examples with the example gateway registry: no errors, no warnings', async () => {
    const run = await runWarden(['check', join(EXAMPLES, 'policies'), '--analyze', '--config', join(EXAMPLES, 'warden.yaml'), '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { findings: Array<{ severity: string }>; summary: { errors: number; warnings: number } };
    expect(out.summary).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('without --analyze, check is unchanged (the planted folder compiles)', async () => {
    const { dir } = plantedFolder();
    const run = await runWarden(['check', dir]);
    expect(run.code, run.stdout).toBe(0);
  });
});

describe('warden test --coverage (built CLI)', () => {
  it('lists the untested rules and fails below --min', async () => {
    const { dir } = plantedFolder();
    const run = await runWarden(['test', dir, '--coverage', '--min', '80']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain('1 passed, 0 failed');
    // order-number's condition fails on the string order_id: a deny counts that as matched (fail closed), so it is exercised.
    expect(run.stdout).toMatch(/refunds\s+2\/5\s+40%\s+large-refund, small-refund, v2/);
    expect(run.stdout).toMatch(/not exercised: refunds\/v2 \(.*refunds\.yaml:15\)/);
    expect(run.stdout).toContain('FAIL: coverage 40% is below --min 80%');

    const lenient = await runWarden(['test', dir, '--min', '40']);
    expect(lenient.code, lenient.stdout).toBe(0);
  });

  it('reports coverage as JSON', async () => {
    const { dir } = plantedFolder();
    const run = await runWarden(['test', dir, '--coverage', '--json']);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { passed: number; coverage: { percent: number; policies: Array<{ policy: string; uncovered: Array<{ rule: string }> }> } };
    expect(out.passed).toBe(1);
    expect(out.coverage.percent).toBe(40);
    expect(out.coverage.policies[0]!.uncovered.map((u) => u.rule)).toEqual(['large-refund', 'small-refund', 'v2']);
  });

  it('refuses a --min that is not a percentage', async () => {
    const { dir } = plantedFolder();
    const run = await runWarden(['test', dir, '--min', 'lots']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--min must be a percentage');
  });
});
