/**
 * The OpenID AuthZEN interop "todo" scenario against Warden serving examples/authzen/ (`warden
 * serve`'s own `serve()`, a real listener on 127.0.0.1): every request of the suite's published
 * decisions file (examples/authzen/fixtures, Authorization API 1.0 draft 02 vectors) is sent as
 * the interop runner sends it and compared as the runner compares it (interop/authzen-todo-backend/
 * test/runner.ts: `data.decision || false` for one evaluation, the whole `evaluations` array
 * serialised for a batch).
 */
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/authzen', import.meta.url));
/** The demo PEP token of examples/authzen/warden.yaml. */
export const TODO_PEP_TOKEN = 'authzen-todo-pep-token-0123456789';

interface Vector {
  request: Record<string, unknown>;
  expected: boolean | Array<{ decision: boolean }>;
}
const vectors = JSON.parse(readFileSync(join(EXAMPLE, 'fixtures', 'decisions-authorization-api-1_0-02.json'), 'utf8')) as { evaluation: Vector[]; evaluations: Vector[] };

let server: RunningServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-authzen-'));
  cpSync(EXAMPLE, dir, { recursive: true });
  server = await serve(join(dir, 'warden.yaml'), { port: 0, host: '127.0.0.1', logger: false });
});
afterAll(async () => {
  await server?.close();
});

async function ask(endpoint: 'evaluation' | 'evaluations', body: unknown, token = TODO_PEP_TOKEN) {
  // As the runner sends it: the key as the Authorization header (here a bearer token), JSON body.
  const response = await fetch(`${server.url}/access/v1/${endpoint}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, data: (await response.json()) as { decision?: boolean; evaluations?: unknown[] } };
}

describe('the AuthZEN interop todo scenario (published decisions, 1.0 draft 02)', () => {
  it('has the vectors it claims to run', () => {
    expect(vectors.evaluation).toHaveLength(40);
    expect(vectors.evaluations).toHaveLength(3);
    // Both answers occur, so a PDP that always says one thing cannot pass.
    expect(new Set(vectors.evaluation.map((v) => v.expected))).toEqual(new Set([true, false]));
  });

  it.each(vectors.evaluation.map((v, i) => [i, v] as const))('evaluation #%i', async (_i, vector) => {
    const { status, data } = await ask('evaluation', vector.request);
    expect(status).toBe(200);
    expect(data.decision || false).toBe(vector.expected);
  });

  it.each(vectors.evaluations.map((v, i) => [i, v] as const))('evaluations #%i', async (_i, vector) => {
    const { status, data } = await ask('evaluations', vector.request);
    expect(status).toBe(200);
    expect(JSON.stringify(data.evaluations ?? [])).toBe(JSON.stringify(vector.expected));
  });

  it('records every evaluation in the decision log, as the PEP asking for the user', async () => {
    await server.warden.audit.flush();
    const [last] = await server.warden.store.queryDecisions({ order: 'desc', limit: 1 });
    await ask('evaluations', vectors.evaluations[1]!.request);
    await server.warden.audit.flush();
    const newest = await server.warden.store.queryDecisions({ afterSeq: last?.seq ?? 0, order: 'asc', limit: 100 });
    expect(newest).toHaveLength(2);
    expect(newest.map((r) => r.effect).sort()).toEqual(['allow', 'deny']);
    for (const r of newest) expect(r).toMatchObject({ tenant: 'todo', agentId: 'pep:todo-backend', action: 'can_update_todo' });
  });

  it('publishes its metadata at /.well-known/authzen-configuration', async () => {
    const response = await fetch(`${server.url}/.well-known/authzen-configuration`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const metadata = (await response.json()) as Record<string, string>;
    expect(metadata.policy_decision_point).toBe(server.url);
    expect(metadata.access_evaluation_endpoint).toBe(`${server.url}/access/v1/evaluation`);
    expect(metadata.access_evaluations_endpoint).toBe(`${server.url}/access/v1/evaluations`);
    // What the PDP publishes it serves.
    const { status } = await ask('evaluation', vectors.evaluation[0]!.request);
    expect(status).toBe(200);
  });
});
