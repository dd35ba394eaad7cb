import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayReport } from '../../src/replay/replay-report.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { CANDIDATE, candidateFiles, startFixture, TOKENS, type Fixture } from './fixture.js';

let f: Fixture;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  f = await startFixture();
  app = await buildServer(f.warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 60_000);
afterAll(async () => {
  await app?.close();
  await f?.close();
});

async function replay(token: string | undefined, body: unknown) {
  const response = await fetch(`${base}/v1/policies/replay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Report };
}

/** The report, or a problem (400/403) with its detail and diagnostics. */
type Report = ReplayReport & { detail?: string; diagnostics?: Array<{ file: string; code: string }> };

const tenantsIn = (report: Report): string[] => [
  ...report.transitions.flatMap((t) => t.samples.map((s) => s.tenant)),
  ...report.transitions.flatMap((t) => t.samples.map((s) => s.record!.tenant)),
  ...report.undeterminedBy.flatMap((u) => u.samples.map((s) => s.tenant)),
  ...report.tenants.map((g) => g.key),
];

describe('POST /v1/policies/replay', () => {
  it('reports the impact of a candidate on every tenant for an admin of all tenants', async () => {
    const r = await replay(TOKENS.ada, { files: candidateFiles() });
    expect(r.status).toBe(200);
    expect(r.json.transitions.find((t) => t.transition === 'deny→allow')!.count).toBe(3);
    expect(r.json).toMatchObject({ changed: 4, undetermined: 2, current: { bundle: f.warden.policySet.bundle } });
    // Each example carries its record, for the dashboard to show.
    const sample = r.json.transitions[0]!.samples[0]!;
    expect(sample.record).toMatchObject({ seq: sample.seq, id: sample.id });
  });

  it("counts and shows a tenant's admin only their tenant's records", async () => {
    const acme = await replay(TOKENS.acme, { files: candidateFiles() });
    expect(acme.status).toBe(200);
    expect(acme.json.transitions.find((t) => t.transition === 'deny→allow')!.count).toBe(2);
    expect(new Set(tenantsIn(acme.json))).toEqual(new Set(['acme']));
    expect(JSON.stringify(acme.json)).not.toContain('globex');

    const globex = await replay(TOKENS.globex, { files: candidateFiles() });
    expect(globex.json).toMatchObject({ changed: 1, undetermined: 0, transitions: [{ transition: 'deny→allow', count: 1 }] });
    expect(new Set(tenantsIn(globex.json))).toEqual(new Set(['globex']));
    expect(JSON.stringify(globex.json)).not.toContain('support-agent');
  });

  it("refuses a tenant's admin another tenant, and anyone but admins", async () => {
    const other = await replay(TOKENS.acme, { files: candidateFiles(), tenant: 'globex' });
    expect(other.status).toBe(403);
    const viewer = await replay(TOKENS.vic, { files: candidateFiles() });
    expect(viewer.status).toBe(403);
    const nobody = await replay(undefined, { files: candidateFiles() });
    expect(nobody.status).toBe(401);
  });

  it('answers a malformed candidate with a 400 that says what is wrong', async () => {
    const broken = { ...CANDIDATE, 'payments.yaml': CANDIDATE['payments.yaml'].replace('args.amount <= 5000', 'args.amount <= ') };
    const r = await replay(TOKENS.ada, { files: candidateFiles(broken) });
    expect(r.status).toBe(400);
    expect(r.json.detail).toMatch(/do not compile/);
    expect(r.json.diagnostics![0]).toMatchObject({ file: 'payments.yaml', code: 'cel-syntax' });

    const yaml = await replay(TOKENS.ada, { files: [{ file: 'x.yaml', text: 'id: [unclosed' }] });
    expect(yaml.status).toBe(400);
    const shape = await replay(TOKENS.ada, { files: 'payments.yaml' });
    expect(shape.status).toBe(400);
    const window = await replay(TOKENS.ada, { files: candidateFiles(), since: 'yesterday' });
    expect(window.status).toBe(400);
  });

  it('lays a draft over the folder in force when asked (overlay)', async () => {
    const r = await replay(TOKENS.ada, { files: [{ file: 'draft.yaml', text: CANDIDATE['payments.yaml'] }], overlay: true });
    expect(r.status).toBe(200);
    // Only the payments policy changes; the customers policy in force is kept as it is.
    expect(r.json).toMatchObject({ changed: 3, undetermined: 0, transitions: [{ transition: 'deny→allow', count: 3 }] });
    const whole = await replay(TOKENS.ada, { files: [{ file: 'draft.yaml', text: CANDIDATE['payments.yaml'] }] });
    // As the whole candidate, the customers policy is gone: its allows become default denies.
    expect(whole.json.transitions.find((t) => t.transition === 'allow→deny')!.count).toBeGreaterThan(0);
  });

  it('reads at most the records asked for, newest first, and says so', async () => {
    const r = await replay(TOKENS.ada, { files: candidateFiles(), limit: 2 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ read: 2, truncated: true });
    const all = await f.records();
    expect(r.json.window.lastSeq).toBe(all.at(-1)!.seq);
  });
});
