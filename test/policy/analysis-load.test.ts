import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createWarden, type Warden } from '../../src/services/warden.js';
import { buildServer } from '../../src/surfaces/http/server.js';

const ADMIN_TOKEN = 'analysis-admin-token';
const ADMIN_HASH = 'sha256:' + (await import('node:crypto')).createHash('sha256').update(ADMIN_TOKEN).digest('hex');

const TYPO = 'id: refunds\nversion: 1\nrules:\n  - id: small\n    effect: allow\n    tools: [issue_refund]\n    when: "args.amout <= 100"\n';
const FIXED = TYPO.replace('amout', 'amount');

/** A gateway on a temp folder whose one tool has a closed input schema. */
function gatewayFolder(policy: string): { config: string; policies: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warden-analysis-load-'));
  const policies = join(dir, 'policies');
  mkdirSync(policies);
  writeFileSync(join(policies, 'refunds.yaml'), policy);
  const config = join(dir, 'warden.yaml');
  writeFileSync(
    config,
    `storage: sqlite:./warden.db
policies: ./policies
humans: { tokens: [{ id: ada, roles: [admin], token_hash: "${ADMIN_HASH}" }] }
tools:
  - name: issue_refund
    effect: write
    risk: high
    input_schema: { type: object, properties: { order_id: { type: string }, amount: { type: number } }, additionalProperties: false }
`,
  );
  return { config, policies };
}

let warden: Warden | undefined;
afterEach(async () => {
  await warden?.close();
  warden = undefined;
});

describe('unknown arguments when the gateway loads policies', () => {
  it('starts with a warning (logged and on /v1/policies), refuses a reload that keeps the typo, accepts the fix', async () => {
    const { config, policies } = gatewayFolder(TYPO);
    const logged: string[] = [];
    warden = await createWarden({ config, log: (level, message) => logged.push(`${level}: ${message}`) });
    expect(logged.some((l) => l.startsWith('warn: policy: ') && l.includes('args.amout') && l.includes('did you mean amount?'))).toBe(true);
    expect(warden.policies.warnings).toHaveLength(1);
    expect(warden.policies.warnings[0]).toMatchObject({ severity: 'warning', code: 'unknown-argument', line: 7 });

    const app = await buildServer(warden, { logger: false });
    try {
      const answer = await app.inject({ method: 'GET', url: '/v1/policies', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(answer.statusCode, answer.body).toBe(200);
      expect((answer.json() as { diagnostics: Array<{ text: string }> }).diagnostics.map((d) => d.text).join('\n')).toContain('refunds/small: args.amout is not an argument of tool issue_refund');
    } finally {
      await app.close();
    }

    const serving = warden.policySet.bundle;
    writeFileSync(join(policies, 'refunds.yaml'), TYPO.replace('version: 1', 'version: 2'));
    const refused = await warden.policies.reload('test');
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.diagnostics.map((d) => d.code)).toEqual(['unknown-argument']);
    expect(warden.policySet.bundle).toBe(serving);

    writeFileSync(join(policies, 'refunds.yaml'), FIXED);
    expect((await warden.policies.reload('test')).ok).toBe(true);
    expect(warden.policies.warnings).toEqual([]);
  });

  it('marks a candidate with the typo invalid (POST /v1/policies/validate, the governance MCP)', async () => {
    const { config } = gatewayFolder(FIXED);
    warden = await createWarden({ config, log: () => undefined });
    const bad = warden.policies.validate([{ file: 'refunds.yaml', text: TYPO }]);
    expect(bad.valid).toBe(false);
    expect(bad.diagnostics.map((d) => [d.code, d.hint])).toEqual([['unknown-argument', 'did you mean amount?']]);
    expect(warden.policies.validate([{ file: 'refunds.yaml', text: FIXED }]).valid).toBe(true);
  });

  it('create_policy refuses the typo before writing anything', async () => {
    const { config, policies } = gatewayFolder(FIXED);
    warden = await createWarden({ config, log: () => undefined });
    const admin = { kind: 'human' as const, id: 'ada', roles: ['admin'], tenant: '*' };
    const draft = TYPO.replace('id: refunds', 'id: refunds-2');
    await expect(warden.policies.create(admin, { id: 'refunds-2', yaml: draft })).rejects.toThrow(/args\.amout is not an argument of tool issue_refund/);
    expect(existsSync(join(policies, 'refunds-2.yaml'))).toBe(false);
    await expect(warden.policies.create(admin, { id: 'refunds-2', yaml: draft.replace('amout', 'amount') })).resolves.toMatchObject({ written: true });
  });
});
