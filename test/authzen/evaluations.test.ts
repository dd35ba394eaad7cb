/**
 * Warden's AuthZEN PDP over HTTP (a real listener, SQLite in a temp folder): the three
 * `evaluations_semantic` options, defaults and overrides, decisions with reasons and approval
 * requirements, who may ask (PEP credentials scoped to tenants, admins, agents about themselves),
 * subjects of type agent (the registry decides, never the caller), and bad input (400, an error
 * message, a deny record; the process stays up).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, sha256 } from '../../src/auth/credentials.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';

const T = { pep: 'shop-pep-token-0123456789abcdef', twoTenants: 'two-tenant-pep-token-0123456789', rivalPep: 'rival-pep-token-0123456789abcd', admin: 'shop-admin-token-0123456789ab', viewer: 'shop-viewer-token-0123456789a' };
const botKey = generateApiKey();

const POLICY = `id: shop
version: 1
rules:
  - id: members-read
    effect: allow
    actions: [read]
    when: "data.members[user.id].level >= 1 && !(resource.id in data.blocked)"
    reason: "members read documents"
  - id: big-orders-need-approval
    effect: require_approval
    actions: [order]
    when: "has(args.amount) && args.amount > 100"
    reason: "orders over 100 need a manager"
    approval: { approvers: ["role:manager"], quorum: 1, expires: 30m }
  - id: members-order
    effect: allow
    actions: [order]
    when: "data.members[user.id].level >= 2"
  - id: bots-read
    effect: allow
    actions: [read]
    when: "'reader' in agent.roles"
    reason: "reader agents read"
`;

let server: RunningServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warden-authzen-eval-'));
  mkdirSync(join(dir, 'policies', 'data'), { recursive: true });
  writeFileSync(join(dir, 'policies', 'shop.yaml'), POLICY);
  writeFileSync(join(dir, 'policies', 'data', 'members.yaml'), 'alice: { level: 2 }\nbob: { level: 1 }\n');
  writeFileSync(join(dir, 'policies', 'data', 'blocked.json'), '["doc-secret"]\n');
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
guards: { default_policies: false }
decision_cache: { ttl: 0s }
server: { watch_policies: false }
authzen: { max_evaluations: 5 }
peps:
  - { id: shop, tenants: [shop], token_hash: "${sha256(T.pep)}" }
  - { id: multi, tenants: [shop, rival], token_hash: "${sha256(T.twoTenants)}" }
  - { id: rival, tenants: [rival], token_hash: "${sha256(T.rivalPep)}" }
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(T.admin)}", roles: [admin], tenant: shop }
    - { id: vic, token_hash: "${sha256(T.viewer)}", roles: [viewer], tenant: shop }
agents:
  - { id: reader-bot, roles: [reader], tenant: shop, trust: medium, credentials: [{ key_id: ${botKey.keyId}, api_key_hash: "${botKey.hash}" }] }
  - { id: rival-bot, roles: [reader], tenant: rival, trust: medium }
  - { id: frozen-bot, roles: [reader], tenant: shop, status: suspended }
`,
  );
  server = await serve(join(dir, 'warden.yaml'), { port: 0, host: '127.0.0.1', logger: false });
});
afterAll(async () => {
  await server?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read arbitrary AuthZEN bodies
type Body = any;
async function post(path: string, body: unknown, token: string | undefined = T.pep, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: Body;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, type: response.headers.get('content-type') ?? '', text, json, requestId: response.headers.get('x-request-id') };
}
const user = (id: string, properties?: Record<string, unknown>) => ({ type: 'user', id, ...(properties ? { properties } : {}) });
const doc = (id: string) => ({ type: 'document', id });
const read = { name: 'read' };

/** A decision record by id, once the log has written what it holds. */
async function recordOf(id: string) {
  await server.warden.audit.flush();
  return server.warden.store.getDecision(id);
}

async function recordsSince(run: () => Promise<unknown>) {
  await server.warden.audit.flush();
  const [last] = await server.warden.store.queryDecisions({ order: 'desc', limit: 1 });
  await run();
  await server.warden.audit.flush();
  return server.warden.store.queryDecisions({ afterSeq: last?.seq ?? 0, order: 'asc', limit: 100 });
}

describe('one evaluation', () => {
  it('allows with Warden reasons in context, and decides by policy data', async () => {
    const r = await post('/access/v1/evaluation', { subject: user('alice'), action: read, resource: doc('doc-1') });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ decision: true, context: { effect: 'allow', reason: expect.stringContaining('members read documents'), policy: 'shop', rule: 'members-read' } });
    expect(r.json.context.bundle).toBe(server.warden.policySet.bundle);
    expect(await recordOf(r.json.context.evaluation_id)).toMatchObject({ effect: 'allow', agentId: 'pep:shop', userId: 'alice', tenant: 'shop', action: 'read', resourceId: 'doc-1' });
  });

  it('denies what the data blocks, and a user the data does not know (fail closed)', async () => {
    const blocked = await post('/access/v1/evaluation', { subject: user('alice'), action: read, resource: doc('doc-secret') });
    expect(blocked.json.decision).toBe(false);
    const stranger = await post('/access/v1/evaluation', { subject: user('mallory', { roles: ['admin'] }), action: read, resource: doc('doc-1') });
    expect(stranger.status).toBe(200);
    expect(stranger.json.decision).toBe(false);
    expect(stranger.json.context.effect).toBe('deny');
  });

  it('answers require_approval as false, with the approval requirement in context', async () => {
    const r = await post('/access/v1/evaluation', { subject: user('alice'), action: { name: 'order', properties: { amount: 500 } }, resource: { type: 'cart', id: 'c-1' } });
    expect(r.json).toMatchObject({
      decision: false,
      context: { effect: 'require_approval', reason: expect.stringContaining('orders over 100 need a manager'), approval: { approvers: ['role:manager'], quorum: 1, expires_in: '30m', allow_requester: false } },
    });
    const small = await post('/access/v1/evaluation', { subject: user('alice'), action: { name: 'order', properties: { amount: 5 } }, resource: { type: 'cart', id: 'c-1' } });
    expect(small.json.decision).toBe(true);
  });

  it('echoes X-Request-ID and records it as the request id', async () => {
    const [record] = await recordsSince(() => post('/access/v1/evaluation', { subject: user('bob'), action: read, resource: doc('doc-2') }, T.pep, { 'x-request-id': 'pep-req-42' }).then((r) => expect(r.requestId).toBe('pep-req-42')));
    expect(record).toMatchObject({ requestId: 'pep-req-42', effect: 'allow' });
  });
});

describe('evaluations: defaults, overrides and the three semantics', () => {
  const batch = (semantic?: string) => ({
    subject: user('bob'),
    action: read,
    ...(semantic ? { options: { evaluations_semantic: semantic } } : {}),
    evaluations: [{ resource: doc('doc-1') }, { resource: doc('doc-secret') }, { resource: doc('doc-3') }, { subject: user('nobody'), resource: doc('doc-4') }],
  });

  it('execute_all (the default): every item in order, one record each', async () => {
    let answer: Body;
    const records = await recordsSince(async () => (answer = (await post('/access/v1/evaluations', batch())).json));
    expect(answer.evaluations.map((e: Body) => e.decision)).toEqual([true, false, true, false]);
    expect(records.map((r) => [r.resourceId, r.effect, r.userId])).toEqual([
      ['doc-1', 'allow', 'bob'],
      ['doc-secret', 'deny', 'bob'],
      ['doc-3', 'allow', 'bob'],
      ['doc-4', 'deny', 'nobody'],
    ]);
    const explicit = await post('/access/v1/evaluations', batch('execute_all'));
    expect(explicit.json.evaluations.map((e: Body) => e.decision)).toEqual([true, false, true, false]);
  });

  it('deny_on_first_deny stops after the first denial (included), and decides nothing after it', async () => {
    let answer: Body;
    const records = await recordsSince(async () => (answer = (await post('/access/v1/evaluations', batch('deny_on_first_deny'))).json));
    expect(answer.evaluations.map((e: Body) => e.decision)).toEqual([true, false]);
    expect(records.map((r) => r.resourceId)).toEqual(['doc-1', 'doc-secret']);
  });

  it('permit_on_first_permit stops at the first permit; with none, all are answered', async () => {
    const first = await post('/access/v1/evaluations', { ...batch('permit_on_first_permit'), evaluations: [{ resource: doc('doc-secret') }, { resource: doc('doc-1') }, { resource: doc('doc-3') }] });
    expect(first.json.evaluations.map((e: Body) => e.decision)).toEqual([false, true]);
    const none = await post('/access/v1/evaluations', { ...batch('permit_on_first_permit'), evaluations: [{ resource: doc('doc-secret') }, { subject: user('nobody'), resource: doc('x') }] });
    expect(none.json.evaluations.map((e: Body) => e.decision)).toEqual([false, false]);
  });

  it('an item key replaces the default whole (context too), it is not merged', async () => {
    const r = await post('/access/v1/evaluations', {
      subject: user('alice'),
      action: { name: 'order', properties: { amount: 500 } },
      resource: { type: 'cart', id: 'c-1' },
      evaluations: [{}, { action: { name: 'order' } }, { action: read, resource: doc('doc-1') }, { subject: user('bob'), action: { name: 'order' } }],
    });
    expect(r.status).toBe(200);
    expect(r.json.evaluations.map((e: Body) => e.context.effect)).toEqual(['require_approval', 'allow', 'allow', 'deny']);
    // The overriding action has no properties: the default's amount is gone with it.
    expect(r.json.evaluations[1].context.rule).toBe('members-order');
  });

  it('without an evaluations array it is one evaluation, answered as one', async () => {
    const r = await post('/access/v1/evaluations', { subject: user('alice'), action: read, resource: doc('doc-1') });
    expect(r.json.decision).toBe(true);
    expect(r.json.evaluations).toBeUndefined();
  });

  it('an item missing a required key that has no default is a 400 naming it; nothing is decided', async () => {
    const records = await recordsSince(async () => {
      const r = await post('/access/v1/evaluations', { subject: user('alice'), evaluations: [{ action: read, resource: doc('a') }, { resource: doc('b') }] });
      expect(r.status).toBe(400);
      expect(r.type).toMatch(/^application\/problem\+json/);
      expect(r.json.detail).toMatch(/evaluations\[1\]\.action is required/);
    });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ effect: 'deny', stage: 'request', agentId: 'pep:shop', tenant: 'shop' });
  });

  it('refuses a batch over authzen.max_evaluations and an unknown semantic', async () => {
    const big = await post('/access/v1/evaluations', { subject: user('alice'), action: read, evaluations: Array.from({ length: 6 }, (_, i) => ({ resource: doc(`d${i}`) })) });
    expect(big.status).toBe(400);
    expect(big.text).toMatch(/6 items; at most 5/);
    const odd = await post('/access/v1/evaluations', { ...batch(), options: { evaluations_semantic: 'first_wins' } });
    expect(odd.status).toBe(400);
    expect(odd.text).toMatch(/evaluations_semantic/);
  });
});

describe('who may ask', () => {
  const body = { subject: user('alice'), action: read, resource: doc('doc-1') };

  it('refuses a caller without credentials or with a wrong one (401, WWW-Authenticate, an error message)', async () => {
    const none = await fetch(`${server.url}/access/v1/evaluation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(((await none.json()) as { detail: string }).detail).toMatch(/Authorization: Bearer/);
    const wrong = await post('/access/v1/evaluation', body, 'not-a-real-token-0123456789');
    expect(wrong.status).toBe(401);
  });

  it('refuses a PEP asking about a tenant it does not enforce for (403)', async () => {
    const records = await recordsSince(async () => {
      const r = await post('/access/v1/evaluation', body, T.rivalPep, { 'x-warden-tenant': 'shop' });
      expect(r.status).toBe(403);
      expect(r.json.detail).toMatch(/does not enforce for tenant "shop"/);
    });
    // Logged as what it was: a refused request of PEP rival. Records carry the tenant Warden
    // settled, never one a caller only named: it does not land in shop's log.
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ effect: 'deny', stage: 'tenant', agentId: 'pep:rival', tenant: '' });
    // Its own tenant has no member data for alice and no documents policy grants it: a plain deny.
    const own = await post('/access/v1/evaluation', body, T.rivalPep);
    expect(own.status).toBe(200);
  });

  it('a PEP of several tenants must name one, and may name only its own', async () => {
    expect((await post('/access/v1/evaluation', body, T.twoTenants)).status).toBe(400);
    const shop = await post('/access/v1/evaluation', body, T.twoTenants, { 'x-warden-tenant': 'shop' });
    expect(shop.json.decision).toBe(true);
    expect((await post('/access/v1/evaluation', body, T.twoTenants, { 'x-warden-tenant': 'acme' })).status).toBe(403);
  });

  it('a viewer may not ask; an admin may, for their tenant only', async () => {
    expect((await post('/access/v1/evaluation', body, T.viewer)).status).toBe(403);
    expect((await post('/access/v1/evaluation', body, T.admin)).json.decision).toBe(true);
    expect((await post('/access/v1/evaluation', body, T.admin, { 'x-warden-tenant': 'rival' })).status).toBe(403);
  });
});

describe('subjects of type agent: the registry decides, never the caller', () => {
  const asAgent = (id: string, properties?: Record<string, unknown>) => ({ subject: { type: 'agent', id, ...(properties ? { properties } : {}) }, action: read, resource: doc('doc-9') });

  it("a PEP's registered agent is decided with the registry's roles, whatever the subject's properties claim", async () => {
    const r = await post('/access/v1/evaluation', asAgent('reader-bot', { roles: ['admin'], trust: 'admin' }));
    expect(r.json).toMatchObject({ decision: true, context: { rule: 'bots-read' } });
    const record = await recordOf(r.json.context.evaluation_id);
    expect(record).toMatchObject({ agentId: 'reader-bot', tenant: 'shop' });
    expect(record?.details).toMatchObject({ ignoredSubjectProperties: ['roles', 'trust'] });
  });

  it('an unregistered agent, one of another tenant, and a suspended one are refused (false, recorded deny)', async () => {
    for (const [id, status] of [['ghost-bot', 404], ['rival-bot', 404], ['frozen-bot', 403]] as const) {
      const r = await post('/access/v1/evaluation', asAgent(id));
      expect(r.status).toBe(200);
      expect(r.json.decision).toBe(false);
      expect(r.json.context.error.status).toBe(status);
      expect(await recordOf(r.json.context.evaluation_id)).toMatchObject({ effect: 'deny', stage: 'agent' });
    }
  });

  it('an agent may ask about itself only: another agent or a user as subject is refused', async () => {
    const self = await post('/access/v1/evaluation', asAgent('reader-bot'), botKey.key);
    expect(self.json.decision).toBe(true);
    const other = await post('/access/v1/evaluation', asAgent('frozen-bot'), botKey.key);
    expect(other.json).toMatchObject({ decision: false, context: { error: { status: 403, message: expect.stringMatching(/only ask about itself/) } } });
    expect(await recordOf(other.json.context.evaluation_id)).toMatchObject({ effect: 'deny', stage: 'authenticate', agentId: 'reader-bot' });
    const aUser = await post('/access/v1/evaluation', { subject: user('alice'), action: read, resource: doc('doc-1') }, botKey.key);
    expect(aUser.json.decision).toBe(false);
  });
});

describe('bad input never crashes the PDP', () => {
  const bad: Array<[string, string]> = [
    ['not JSON', '{"subject": '],
    ['an array', '[]'],
    ['a subject without id', JSON.stringify({ subject: { type: 'user' }, action: read, resource: doc('a') })],
    ['a number as action name', JSON.stringify({ subject: user('a'), action: { name: 7 }, resource: doc('a') })],
    ['properties that are not an object', JSON.stringify({ subject: user('a', 'x' as unknown as Record<string, unknown>), action: read, resource: doc('a') })],
    ['a prototype key', '{"subject":{"type":"user","id":"a","properties":{"__proto__":{"x":1}}},"action":{"name":"read"},"resource":{"type":"d","id":"a"}}'],
    ['deep nesting', `{"subject":{"type":"user","id":"a","properties":${'{"a":'.repeat(200)}1${'}'.repeat(200)}},"action":{"name":"read"},"resource":{"type":"d","id":"a"}}`],
  ];
  it.each(bad)('%s: 400 with an error message', async (_name, body) => {
    for (const endpoint of ['/access/v1/evaluation', '/access/v1/evaluations']) {
      const r = await post(endpoint, body);
      expect(r.status).toBe(400);
      expect(r.type).toMatch(/^application\/problem\+json/);
      expect(r.json.detail.length).toBeGreaterThan(5);
    }
    // Still serving.
    expect((await post('/access/v1/evaluation', { subject: user('alice'), action: read, resource: doc('doc-1') })).json.decision).toBe(true);
  });
});
