/**
 * A refused policy reload is reported by /readyz (status "degraded", with the errors, still 200:
 * the previous policies keep serving) and by the metric warden_policy_reload_failed, until a
 * reload succeeds.
 */
import { unlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildServer } from '../../src/surfaces/http/server.js';
import { startHarness, type Harness } from '../pipeline/harness.js';

let h: Harness;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  h = await startHarness('server: { watch_policies: false }\n', { realClock: true });
  app = await buildServer(h.warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

type Ready = { status: string; checks: { policies: { ok: boolean; degraded?: boolean; detail: string; errors?: string[] } } };
const readyz = async () => {
  const response = await fetch(`${base}/readyz`);
  return { status: response.status, json: (await response.json()) as Ready };
};
const reloadFailedMetric = async () => /^warden_policy_reload_failed (\d)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1];

it('is ready, then degraded with the errors after a refused reload, then ready again after a good one', async () => {
  expect(await readyz()).toMatchObject({ status: 200, json: { status: 'ready', checks: { policies: { ok: true } } } });
  const serving = h.warden.policySet.bundle;

  const broken = join(h.dir, 'policies', 'broken.yaml');
  writeFileSync(broken, 'id: broken\nversion: 1\nrules: [{id: r, efect: allow}]\n');
  expect((await h.warden.reloadPolicies('test: a typo')).ok).toBe(false);
  expect(h.warden.policySet.bundle).toBe(serving);

  const degraded = await readyz();
  expect(degraded.status).toBe(200);
  expect(degraded.json.status).toBe('degraded');
  expect(degraded.json.checks.policies).toMatchObject({ ok: true, degraded: true });
  expect(degraded.json.checks.policies.detail).toContain('(test: a typo) was refused');
  expect(degraded.json.checks.policies.detail).toContain(`bundle ${serving}`);
  expect(degraded.json.checks.policies.errors?.join('\n')).toMatch(/broken\.yaml:\d+:\d+: error .*unknown field "efect"/);
  expect(await reloadFailedMetric()).toBe('1');

  // Still refused: still degraded, since the first failure.
  await h.warden.reloadPolicies('test: again');
  expect((await readyz()).json.status).toBe('degraded');

  unlinkSync(broken);
  expect((await h.warden.reloadPolicies('test: fixed')).ok).toBe(true);
  const fixed = await readyz();
  expect(fixed).toMatchObject({ status: 200, json: { status: 'ready' } });
  expect(fixed.json.checks.policies.degraded).toBeUndefined();
  expect(await reloadFailedMetric()).toBe('0');
});
