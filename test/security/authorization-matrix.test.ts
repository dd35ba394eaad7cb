/**
 * Issue 16, "Tests that stay in the suite": the authorization matrix. Every route the fastify app
 * has — read from the app itself through an `onRoute` hook on the instance buildServer creates —
 * is called by every kind of caller, and the answer must be what the route's declared rule
 * (`config.auth`) implies:
 *
 *   public    never 401 or 403, whoever calls and whatever credential they send;
 *   pipeline  the body decides: only a credential that proves the agent the envelope names gets
 *             past authentication; everyone else gets the pipeline's 401 (a decision, recorded);
 *   any       401 without a valid credential; authenticated callers reach the service;
 *   viewer | approver | admin
 *             401 without a valid credential, 403 for agents and the PEP, 403 for people below
 *             the role — never a 2xx for any of them.
 *
 * The rules are written down below (EXPECTED_RULES); a route the app has and the table lacks, or
 * the other way round, fails the test: a new route must declare a rule and be added here. Where a
 * caller passes the rule, the test uses ids that exist when a 2xx is expected and asserts the
 * status the service answers (404 for another tenant's things, and so on).
 *
 * Then the governance MCP tools × callers, through the official MCP SDK client over HTTP: those
 * a tool is not for get a tool error (isError), not a result and not a protocol error.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GOVERNANCE_TOOLS } from '../../src/surfaces/mcp/governance-server.js';
import { actionRequest, envelope, isObject, isProblem, missingRecords, PEOPLE, problemSlug, request, startSecurityServer, TOKENS, type HttpAnswer, type HttpOptions, type SecurityServer } from './fixture.js';

/** Every route fastify registers, with its config as the route declared it and as it ended up. */
interface SeenRoute {
  methods: string[];
  url: string;
  /** `config.auth` as the route declared it (before the API scope's default was applied). */
  declared: string | undefined;
  /** The route options: `config.auth` is read after all onRoute hooks ran. */
  options: { config?: { auth?: string } };
}
const seen = vi.hoisted(() => [] as SeenRoute[]);

// An onRoute hook on the fresh instance, before any plugin or route: it sees every route of the
// app (parent hooks run before a child scope's own, so `declared` is what the route itself said).
vi.mock('fastify', async (importOriginal) => {
  const mod = await importOriginal<typeof import('fastify')>();
  const create = mod.default as unknown as (options: unknown) => FastifyInstance;
  const instrumented = (options: unknown) => {
    const app = create(options);
    app.addHook('onRoute', (route) => {
      const config = route.config as { auth?: string } | undefined;
      seen.push({ methods: [route.method].flat().map(String), url: route.url, declared: config?.auth, options: route as unknown as SeenRoute['options'] });
    });
    return app;
  };
  return { ...mod, default: instrumented, fastify: instrumented };
});

type Rule = 'public' | 'pipeline' | 'any' | 'viewer' | 'approver' | 'admin';

/**
 * The rule each route must declare. `docs` marks the OpenAPI UI, which @fastify/swagger-ui mounts
 * outside the API scope: no rule, no authentication hook, public by construction.
 */
const EXPECTED_RULES: Record<string, Rule | 'docs'> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /.well-known/authzen-configuration': 'public',
  'GET /': 'public',
  'GET /ui': 'public',
  'GET /ui/': 'public',
  'GET /ui/*': 'public',
  'GET /docs': 'docs',
  'GET /docs/json': 'docs',
  'GET /docs/yaml': 'docs',
  'GET /docs/static/*': 'docs',
  'GET /docs/static/index.html': 'docs',
  'GET /docs/static/swagger-initializer.js': 'docs',

  'POST /v1/tools/call': 'pipeline',

  'POST /v1/decisions': 'any',
  'POST /access/v1/evaluation': 'any',
  'POST /access/v1/evaluations': 'any',
  'GET /v1/approvals': 'any',
  'GET /v1/approvals/:id': 'any',
  'POST /v1/incidents': 'any',
  'GET /mcp': 'any',
  'POST /mcp': 'any',
  'DELETE /mcp': 'any',
  'GET /mcp/governance': 'any',
  'POST /mcp/governance': 'any',
  'DELETE /mcp/governance': 'any',

  'GET /v1/tools': 'viewer',
  'GET /v1/agents': 'viewer',
  'GET /v1/agents/:id': 'viewer',
  'GET /v1/break-glass': 'viewer',
  'GET /v1/incidents': 'viewer',
  'GET /v1/audit': 'viewer',
  'GET /v1/audit/export': 'viewer',
  'GET /v1/audit/verify': 'viewer',
  'GET /v1/compliance': 'viewer',
  'GET /v1/policies': 'viewer',
  'POST /v1/policies/validate': 'viewer',
  'GET /v1/policies/tests': 'viewer',
  'POST /v1/policies/try': 'viewer',
  'GET /v1/me': 'viewer',
  'GET /v1/sessions/:id': 'viewer',
  'GET /v1/events/decisions': 'viewer',

  'POST /v1/approvals/:id/approve': 'approver',
  'POST /v1/approvals/:id/deny': 'approver',

  'POST /v1/tools/approve': 'admin',
  'POST /v1/agents': 'admin',
  'PATCH /v1/agents/:id': 'admin',
  'POST /v1/agents/:id/suspend': 'admin',
  'POST /v1/agents/:id/resume': 'admin',
  'POST /v1/agents/:id/rotate-key': 'admin',
  'POST /v1/break-glass': 'admin',
  'POST /v1/break-glass/:id/revoke': 'admin',
  'POST /v1/policies/reload': 'admin',
  'POST /v1/policies/replay': 'admin',
};

/** The callers. */
const WHO = ['none', 'garbage', 'forged', 'agent', 'rivalAgent', 'pep', 'viewer', 'approver', 'rivalApprover', 'admin'] as const;
type Who = (typeof WHO)[number];
const HUMANS: readonly Who[] = ['viewer', 'approver', 'rivalApprover', 'admin'];
const AGENTS: readonly Who[] = ['agent', 'rivalAgent'];
/** A well-formed API key nobody was given. */
const FORGED_KEY = `wk_AAAAAAAAAAAA_${'x'.repeat(43)}`;

const ROLE_RANK: Record<string, number> = { viewer: 1, approver: 2, admin: 3 };
const rankOf: Partial<Record<Who, number>> = { viewer: 1, approver: 2, rivalApprover: 2, admin: 3 };

let s: SecurityServer;
const token = (who: Who): string | undefined =>
  ({
    none: undefined,
    garbage: 'not-a-credential-of-anyone',
    forged: FORGED_KEY,
    agent: s.keys.support,
    rivalAgent: s.keys.rival,
    pep: TOKENS.pep,
    viewer: TOKENS.viewer,
    approver: TOKENS.approver,
    rivalApprover: TOKENS.rivalApprover,
    admin: TOKENS.admin,
  })[who];
/** The agent a caller speaks for, or the one it names when it is not an agent. */
const agentOf = (who: Who) => (who === 'rivalAgent' ? 'other-tenant-agent' : 'support-agent');
const tenantOf = (who: Who) => (who === 'rivalAgent' ? 'competitor-corp' : 'acme-corp');
/** An AuthZEN evaluation about an agent: may it read orders? */
const authzenRequest = (agentId: string) => ({ subject: { type: 'agent', id: agentId }, action: { name: 'tool.call' }, resource: { type: 'tool', id: 'read_orders' } });

/** What one caller sends to one route. */
interface Call {
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  headersOnly?: boolean;
}

/**
 * How each route is called, and the status each caller the rule lets through must get (callers
 * the rule refuses are checked against the rule alone). Paths and bodies may depend on the caller
 * (a fresh approval for each voter, its own agent for an agent).
 */
interface Case {
  call: (who: Who) => Call | Promise<Call>;
  /** Exact statuses for the callers the rule lets through. */
  passed: Partial<Record<Who, number>>;
}

const MCP_ACCEPT = { accept: 'application/json, text/event-stream' };
const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'matrix', version: '1' } } };
const everyone = (status: number): Partial<Record<Who, number>> => Object.fromEntries(WHO.map((w) => [w, status]));
const people = (status: number, overrides: Partial<Record<Who, number>> = {}): Partial<Record<Who, number>> => ({ ...Object.fromEntries(HUMANS.map((w) => [w, status])), ...overrides });

/** Fixtures made in beforeAll. */
const fx = { approvalOfSupport: '', grant: '' };

/** A break-glass grant for matrix-bot, in force for five minutes. */
async function freshGrant(): Promise<string> {
  return (await s.h.warden.breakGlass.grantFor(PEOPLE.admin, { reason: 'matrix', duration: '5m', scope: { agentId: 'matrix-bot' } })).id;
}

/**
 * A new pending approval of support-agent (acme-corp): a critical ticket waits for a support lead.
 * Each is another ticket: the same call again would resolve to the approval it already has.
 */
let tickets = 0;
async function pendingApproval(): Promise<string> {
  const held = await request(s.base, 'POST', '/v1/tools/call', { token: s.keys.support, body: envelope('support-agent', 'create_support_ticket', { subject: `matrix ${++tickets}`, priority: 'critical' }) });
  expect(held.status, held.text).toBe(202);
  return (held.json as { approval_id: string }).approval_id;
}

const CASES: Record<string, Case> = {
  'GET /healthz': { call: () => ({ path: '/healthz' }), passed: everyone(200) },
  'GET /readyz': { call: () => ({ path: '/readyz' }), passed: everyone(200) },
  'GET /metrics': { call: () => ({ path: '/metrics' }), passed: everyone(200) },
  'GET /.well-known/authzen-configuration': { call: () => ({ path: '/.well-known/authzen-configuration' }), passed: everyone(200) },
  'GET /': { call: () => ({ path: '/' }), passed: everyone(200) },
  'GET /ui': { call: () => ({ path: '/ui' }), passed: everyone(302) },
  'GET /ui/': { call: () => ({ path: '/ui/' }), passed: everyone(200) },
  // The dashboard's files, when it is built (`npm test` builds it); 404 otherwise, never 401.
  'GET /ui/*': { call: () => ({ path: '/ui/index.html' }), passed: {} },
  'GET /docs': { call: () => ({ path: '/docs' }), passed: {} },
  'GET /docs/json': { call: () => ({ path: '/docs/json' }), passed: everyone(200) },
  'GET /docs/yaml': { call: () => ({ path: '/docs/yaml' }), passed: everyone(200) },
  'GET /docs/static/*': { call: () => ({ path: '/docs/static/swagger-ui.css' }), passed: everyone(200) },
  'GET /docs/static/index.html': { call: () => ({ path: '/docs/static/index.html' }), passed: everyone(302) },
  'GET /docs/static/swagger-initializer.js': { call: () => ({ path: '/docs/static/swagger-initializer.js' }), passed: everyone(200) },

  // Everyone reaches the pipeline; only the two agents prove the agent they name.
  'POST /v1/tools/call': {
    call: (who) => ({ path: '/v1/tools/call', body: envelope(agentOf(who), 'read_orders', { limit: 1 }) }),
    passed: { ...everyone(401), agent: 200, rivalAgent: 200 },
  },

  'POST /v1/decisions': {
    call: (who) => ({ path: '/v1/decisions', body: actionRequest(agentOf(who), tenantOf(who), 'read_orders', {}) }),
    // People ask about agents only as admins (what-if); the PEP about agents of its tenant.
    passed: { agent: 200, rivalAgent: 200, pep: 200, viewer: 403, approver: 403, rivalApprover: 403, admin: 200 },
  },
  // AuthZEN: the caller asks about an agent (subject type agent) in the tenant it names; people only as admins.
  'POST /access/v1/evaluation': {
    call: (who) => ({ path: '/access/v1/evaluation', body: authzenRequest(agentOf(who)), headers: { 'x-warden-tenant': tenantOf(who) } }),
    passed: { agent: 200, rivalAgent: 200, pep: 200, viewer: 403, approver: 403, rivalApprover: 403, admin: 200 },
  },
  'POST /access/v1/evaluations': {
    call: (who) => ({ path: '/access/v1/evaluations', body: { ...authzenRequest(agentOf(who)), evaluations: [{}, {}] }, headers: { 'x-warden-tenant': tenantOf(who) } }),
    passed: { agent: 200, rivalAgent: 200, pep: 200, viewer: 403, approver: 403, rivalApprover: 403, admin: 200 },
  },
  'GET /v1/approvals': { call: () => ({ path: '/v1/approvals' }), passed: { agent: 200, rivalAgent: 200, pep: 403, ...people(200) } },
  'GET /v1/approvals/:id': {
    call: () => ({ path: `/v1/approvals/${fx.approvalOfSupport}` }),
    passed: { agent: 200, rivalAgent: 404, pep: 404, viewer: 200, approver: 200, rivalApprover: 404, admin: 200 },
  },
  'POST /v1/incidents': {
    call: (who) => ({ path: '/v1/incidents', body: { agent_id: agentOf(who), type: 'matrix', severity: 'low', description: 'authorization matrix' } }),
    passed: { agent: 201, rivalAgent: 201, pep: 403, viewer: 403, approver: 201, rivalApprover: 404, admin: 201 },
  },
  // The gateway admits agents only; the governance endpoint every authenticated caller.
  'POST /mcp': { call: () => ({ path: '/mcp', body: initialize, headers: MCP_ACCEPT }), passed: { agent: 200, rivalAgent: 200, pep: 403, ...people(403) } },
  'GET /mcp': { call: () => ({ path: '/mcp', headers: MCP_ACCEPT }), passed: { agent: 400, rivalAgent: 400, pep: 403, ...people(403) } },
  'DELETE /mcp': { call: () => ({ path: '/mcp', headers: MCP_ACCEPT }), passed: { agent: 400, rivalAgent: 400, pep: 403, ...people(403) } },
  'POST /mcp/governance': { call: () => ({ path: '/mcp/governance', body: initialize, headers: MCP_ACCEPT }), passed: { agent: 200, rivalAgent: 200, pep: 200, ...people(200) } },
  'GET /mcp/governance': { call: () => ({ path: '/mcp/governance', headers: MCP_ACCEPT }), passed: { agent: 400, rivalAgent: 400, pep: 400, ...people(400) } },
  'DELETE /mcp/governance': { call: () => ({ path: '/mcp/governance', headers: MCP_ACCEPT }), passed: { agent: 400, rivalAgent: 400, pep: 400, ...people(400) } },

  'GET /v1/tools': { call: () => ({ path: '/v1/tools' }), passed: people(200) },
  'GET /v1/agents': { call: () => ({ path: '/v1/agents' }), passed: people(200) },
  'GET /v1/agents/:id': { call: () => ({ path: '/v1/agents/support-agent' }), passed: people(200, { rivalApprover: 404 }) },
  'GET /v1/break-glass': { call: () => ({ path: '/v1/break-glass' }), passed: people(200) },
  'GET /v1/incidents': { call: () => ({ path: '/v1/incidents' }), passed: people(200) },
  'GET /v1/audit': { call: () => ({ path: '/v1/audit?limit=5' }), passed: people(200) },
  'GET /v1/audit/export': { call: () => ({ path: '/v1/audit/export?limit=5' }), passed: people(200) },
  'GET /v1/audit/verify': { call: () => ({ path: '/v1/audit/verify' }), passed: people(200) },
  'GET /v1/compliance': { call: () => ({ path: '/v1/compliance' }), passed: people(200) },
  'GET /v1/policies': { call: () => ({ path: '/v1/policies' }), passed: people(200) },
  'POST /v1/policies/validate': {
    call: () => ({ path: '/v1/policies/validate', body: { files: [{ file: 'matrix.yaml', text: 'id: matrix\nversion: 1\nrules:\n  - { id: r, effect: deny, tools: [read_orders] }\n' }] } }),
    passed: people(200),
  },
  'GET /v1/policies/tests': { call: () => ({ path: '/v1/policies/tests' }), passed: people(200) },
  'POST /v1/policies/try': { call: () => ({ path: '/v1/policies/try', body: { agent_id: 'support-agent', tool: 'read_orders' } }), passed: people(200, { rivalApprover: 404 }) },
  'GET /v1/me': { call: () => ({ path: '/v1/me' }), passed: people(200) },
  'GET /v1/sessions/:id': { call: () => ({ path: '/v1/sessions/matrix-session' }), passed: people(200, { rivalApprover: 404 }) },
  'GET /v1/events/decisions': { call: () => ({ path: '/v1/events/decisions', headersOnly: true }), passed: people(200) },

  // A fresh pending approval for each voter: abe (support lead of acme) decides it; olga is of
  // another tenant (to her it does not exist) and ada, an admin of every tenant, is not a support
  // lead (the service refuses).
  'POST /v1/approvals/:id/approve': {
    call: async (who) => ({ path: `/v1/approvals/${rankOf[who] ? await pendingApproval() : fx.approvalOfSupport}/approve`, body: { reason: 'matrix' } }),
    passed: { approver: 200, rivalApprover: 404, admin: 403 },
  },
  'POST /v1/approvals/:id/deny': {
    call: async (who) => ({ path: `/v1/approvals/${rankOf[who] ? await pendingApproval() : fx.approvalOfSupport}/deny`, body: { reason: 'matrix' } }),
    passed: { approver: 200, rivalApprover: 404, admin: 403 },
  },

  'POST /v1/tools/approve': { call: () => ({ path: '/v1/tools/approve', body: { tool: 'no-upstream/no-tool', reason: 'matrix' } }), passed: { admin: 404 } },
  'POST /v1/agents': { call: (who) => ({ path: '/v1/agents', body: { id: `matrix-${who}`, tenant: 'acme-corp', roles: ['support'] } }), passed: { admin: 201 } },
  'PATCH /v1/agents/:id': { call: () => ({ path: '/v1/agents/matrix-bot', body: { trust: 'low' } }), passed: { admin: 200 } },
  'POST /v1/agents/:id/suspend': { call: () => ({ path: '/v1/agents/matrix-bot/suspend', body: { reason: 'matrix' } }), passed: { admin: 200 } },
  'POST /v1/agents/:id/resume': { call: () => ({ path: '/v1/agents/matrix-bot/resume', body: { reason: 'matrix' } }), passed: { admin: 200 } },
  'POST /v1/agents/:id/rotate-key': { call: () => ({ path: '/v1/agents/matrix-bot/rotate-key' }), passed: { admin: 200 } },
  'POST /v1/break-glass': { call: () => ({ path: '/v1/break-glass', body: { reason: 'matrix', duration: '1m', scope: { agent_id: 'matrix-bot' } } }), passed: { admin: 201 } },
  // A grant in force for the admin to end; the callers the rule refuses name it too.
  'POST /v1/break-glass/:id/revoke': { call: async (who) => ({ path: `/v1/break-glass/${who === 'admin' ? await freshGrant() : fx.grant}/revoke`, body: { reason: 'matrix' } }), passed: { admin: 200 } },
  'POST /v1/policies/reload': { call: () => ({ path: '/v1/policies/reload' }), passed: { admin: 200 } },
  'POST /v1/policies/replay': {
    call: () => ({ path: '/v1/policies/replay', body: { overlay: true, since: '1h', files: [{ file: 'matrix.yaml', text: 'id: matrix\nversion: 1\nrules:\n  - { id: r, effect: deny, tools: [read_orders] }\n' }] } }),
    passed: { admin: 200 },
  },
};

/** What the rule alone says a caller gets: a status, or 'passes' (the case's table decides). */
function ruleSays(rule: Rule | 'docs', who: Who): 401 | 403 | 'passes' {
  if (rule === 'public' || rule === 'docs' || rule === 'pipeline') return 'passes';
  if (who === 'none' || who === 'garbage' || who === 'forged') return 401;
  if (rule === 'any') return 'passes';
  const rank = rankOf[who];
  return rank !== undefined && rank >= ROLE_RANK[rule]! ? 'passes' : 403;
}

const routeKeys = () => {
  const keys = new Map<string, SeenRoute>();
  for (const route of seen) for (const method of route.methods) if (method !== 'HEAD') keys.set(`${method} ${route.url}`, route);
  return keys;
};

beforeAll(async () => {
  s = await startSecurityServer('server: { watch_policies: false }\n');
  const w = s.h.warden;
  await w.agents.register(PEOPLE.admin, { id: 'matrix-bot', tenant: 'acme-corp', roles: ['support'], trust: 'medium' });
  fx.grant = await freshGrant();
  const sessionCall = await request(s.base, 'POST', '/v1/tools/call', { token: s.keys.support, body: envelope('support-agent', 'read_orders', {}, { session_id: 'matrix-session' }) });
  expect(sessionCall.status).toBe(200);
  fx.approvalOfSupport = await pendingApproval();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

describe('the route table', () => {
  it('has exactly the routes of EXPECTED_RULES, each declaring the rule written there', () => {
    const keys = routeKeys();
    const app = [...keys.keys()].sort();
    const table = Object.keys(EXPECTED_RULES).sort();
    expect(app.filter((k) => !(k in EXPECTED_RULES)), 'routes the app has without a rule in EXPECTED_RULES: declare config.auth and add them').toEqual([]);
    expect(table.filter((k) => !keys.has(k)), 'routes in EXPECTED_RULES the app no longer has').toEqual([]);
    for (const [key, route] of keys) {
      const rule = EXPECTED_RULES[key]!;
      // Routes of the API declare their rule themselves (the scope's 'any' default is a safety
      // net, not a declaration); the OpenAPI UI is outside the scope and declares nothing.
      expect({ route: key, declared: route.declared ?? 'nothing' }).toEqual({ route: key, declared: rule === 'docs' ? 'nothing' : rule });
      expect({ route: key, effective: route.options.config?.auth ?? 'no hook' }).toEqual({ route: key, effective: rule === 'docs' ? 'no hook' : rule });
    }
    expect(Object.keys(CASES).sort()).toEqual(table);
  });

  it('gives every HEAD route the rule of the GET route it mirrors', () => {
    const keys = routeKeys();
    const heads = seen.filter((r) => r.methods.includes('HEAD'));
    expect(heads.length).toBeGreaterThan(10);
    for (const head of heads) {
      const get = keys.get(`GET ${head.url}`) ?? keys.get(`GET ${head.url.replace(/\/$/, '')}`);
      expect(get, `HEAD ${head.url} mirrors no GET route`).toBeDefined();
      expect({ head: head.url, auth: head.options.config?.auth }).toEqual({ head: head.url, auth: get!.options.config?.auth });
    }
  });
});

describe('every route × every caller', () => {
  const keys = Object.keys(EXPECTED_RULES);
  it.each(keys)('%s', async (key) => {
    const rule = EXPECTED_RULES[key]!;
    const testCase = CASES[key]!;
    const method = key.split(' ')[0]!;
    const problems: string[] = [];
    const auditIds: string[] = [];
    for (const who of WHO) {
      const call = await testCase.call(who);
      const options: HttpOptions = { headers: call.headers ?? {}, headersOnly: call.headersOnly === true };
      const t = token(who);
      if (t !== undefined) options.token = t;
      if (call.body !== undefined) options.body = call.body;
      const answer = await request(s.base, method, call.path, options);
      await endMcpSession(call.path, answer, t);
      const says = ruleSays(rule, who);
      const wrong = (what: string) => problems.push(`${who}: ${what}; got ${answer.status} ${answer.text.slice(0, 200)}`);

      if (answer.status >= 500) wrong('a 5xx');
      if (says === 401) {
        if (answer.status !== 401) wrong('expected 401 (no valid credential)');
        else if (!isProblem(answer) || answer.headers.get('www-authenticate') !== 'Bearer') wrong('a 401 must be problem+json with WWW-Authenticate: Bearer');
        continue;
      }
      if (says === 403) {
        const slug = problemSlug(answer);
        const expectedSlug = who === 'pep' ? 'pep-not-allowed' : AGENTS.includes(who) ? 'agents-not-allowed' : 'missing-role';
        if (answer.status !== 403) wrong(`expected 403 (${rule} route)`);
        else if (!isProblem(answer) || slug !== expectedSlug) wrong(`a 403 from the rule must be problem+json of type ${expectedSlug}`);
        continue;
      }
      // The rule lets the caller through: public routes never answer 401/403; authenticated
      // callers are past the hook (no 401, no role refusal from it).
      if (rule === 'public' || rule === 'docs') {
        if (answer.status === 401 || answer.status === 403) wrong('a public route refused a caller');
      } else if (rule !== 'pipeline') {
        if (answer.status === 401) wrong('authenticated, yet 401');
        if (answer.status === 403 && ['missing-role', 'agents-not-allowed', 'pep-not-allowed'].includes(problemSlug(answer) ?? '') && rule !== 'any') wrong('refused by the role check it passes');
      }
      if (rule === 'pipeline') {
        // Whatever the credential, the pipeline answered with a decision, and recorded it.
        const body = answer.json as { decision?: unknown; audit_id?: string } | undefined;
        if (!isObject(body) || !isObject(body.decision) || typeof body.audit_id !== 'string' || !body.audit_id.startsWith('dec_')) wrong('the pipeline must answer with a recorded decision');
        else auditIds.push(body.audit_id);
      }
      const expected = testCase.passed[who];
      if (expected !== undefined && answer.status !== expected) wrong(`expected ${expected}`);
      if (expected === undefined && (answer.status === 401 || answer.status === 403 || answer.status >= 500)) wrong('expected neither 401, 403 nor 5xx');
      if (answer.status >= 400 && rule !== 'pipeline' && !isProblem(answer) && !isJsonRpcError(answer)) wrong('an error must be problem+json or a JSON-RPC error');
    }
    expect(await missingRecords(s.h, auditIds)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it.each(Object.keys(EXPECTED_RULES).filter((k) => k.startsWith('GET ')))('HEAD mirror of %s refuses whom the rule refuses', async (key) => {
    const rule = EXPECTED_RULES[key]!;
    const call = await CASES[key]!.call('none');
    for (const who of ['none', 'garbage', 'agent', 'pep'] as const) {
      const says = ruleSays(rule, who);
      const t = token(who);
      const answer = await request(s.base, 'HEAD', call.path, t === undefined ? {} : { token: t });
      if (says === 'passes') expect(answer.status, `${who} HEAD ${call.path}`).not.toBe(401);
      else expect(answer.status, `${who} HEAD ${call.path}`).toBe(says);
    }
  });
});

describe('the pipeline route believes only a credential that proves the named agent', () => {
  it('answers 401, with a recorded decision, to keys of other agents, people and the PEP naming support-agent', async () => {
    const ids: string[] = [];
    for (const t of [s.keys.rival, s.keys.refund, TOKENS.admin, TOKENS.approver, TOKENS.pep, FORGED_KEY]) {
      const answer = await request(s.base, 'POST', '/v1/tools/call', { token: t, body: envelope('support-agent', 'read_orders', {}) });
      expect(answer.status, answer.text).toBe(401);
      const body = answer.json as { decision: { effect: string; stage: string }; audit_id: string };
      expect(body.decision).toMatchObject({ effect: 'deny', stage: 'authenticate' });
      ids.push(body.audit_id);
    }
    expect(await missingRecords(s.h, ids)).toEqual([]);
  });
});

/** A JSON-RPC error body: `{ jsonrpc: '2.0', error: { code, message } }`. */
function isJsonRpcError(answer: HttpAnswer): boolean {
  const j = answer.json;
  return isObject(j) && j.jsonrpc === '2.0' && isObject(j.error) && typeof j.error.code === 'number' && typeof j.error.message === 'string';
}

/** Ends an MCP session an initialize opened, so the matrix leaves none behind. */
async function endMcpSession(path: string, answer: HttpAnswer, bearer: string | undefined): Promise<void> {
  const id = answer.headers.get('mcp-session-id');
  if (!id || bearer === undefined) return;
  const ended = await request(s.base, 'DELETE', path, { token: bearer, headers: { 'mcp-session-id': id, ...MCP_ACCEPT } });
  expect(ended.status).toBe(200);
}

// -----------------------------------------------------------------------------------------------

describe('the governance MCP tools × callers, through the MCP SDK client', () => {
  type Caller = 'agent' | 'rivalAgent' | 'pep' | 'viewer' | 'approver' | 'admin';
  const CALLERS: readonly Caller[] = ['agent', 'rivalAgent', 'pep', 'viewer', 'approver', 'admin'];
  const clients = new Map<Caller, Client>();

  const tokenOf = (c: Caller) => token(c)!;
  async function client(c: Caller): Promise<Client> {
    let existing = clients.get(c);
    if (!existing) {
      existing = new Client({ name: `matrix-${c}`, version: '1.0.0' });
      await existing.connect(new StreamableHTTPClientTransport(new URL(`${s.base}/mcp/governance`), { requestInit: { headers: { authorization: `Bearer ${tokenOf(c)}` } } }));
      clients.set(c, existing);
    }
    return existing;
  }
  afterAll(async () => {
    await Promise.all([...clients.values()].map((c) => c.close().catch(() => undefined)));
  });

  async function callTool(c: Caller, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> {
    // A refusal must be a tool result with isError; callTool throws on a JSON-RPC error instead.
    const result = (await (await client(c)).callTool({ name, arguments: args })) as CallToolResult;
    return { isError: result.isError === true, text: result.content.map((p) => (p.type === 'text' ? p.text : '')).join('\n') };
  }

  const humanAgentArg = (c: Caller) => (HUMANS.includes(c) ? { agent_id: 'support-agent' } : {});
  /** Per tool: its arguments for each caller, and who may use it. */
  const TOOLS: Record<(typeof GOVERNANCE_TOOLS)[number], { args: (c: Caller) => Record<string, unknown>; allowed: readonly Caller[] }> = {
    validate_action: { args: (c) => ({ tool: 'read_orders', arguments: {}, ...humanAgentArg(c) }), allowed: ['agent', 'rivalAgent', 'admin'] },
    register_agent: { args: (c) => ({ id: `gov-matrix-${c}`, tenant: 'acme-corp', roles: ['support'] }), allowed: ['admin'] },
    create_policy: {
      args: (c) => ({ id: `gov-matrix-${c}`, yaml: `id: gov-matrix-${c}\nversion: 1\nrules:\n  - { id: nothing, effect: deny, tools: [no_such_tool_${c}] }\n` }),
      allowed: ['admin'],
    },
    get_audit_log: { args: () => ({ limit: 3 }), allowed: ['agent', 'rivalAgent', 'viewer', 'approver', 'admin'] },
    get_compliance_status: { args: () => ({}), allowed: ['agent', 'rivalAgent', 'viewer', 'approver', 'admin'] },
    report_incident: {
      args: (c) => ({ ...(HUMANS.includes(c) ? { agent_id: 'support-agent' } : {}), type: 'matrix', severity: 'low', description: 'governance matrix' }),
      allowed: ['agent', 'rivalAgent', 'approver', 'admin'],
    },
  };

  it('covers every governance tool', () => {
    expect(Object.keys(TOOLS).sort()).toEqual([...GOVERNANCE_TOOLS].sort());
  });

  it.each([...GOVERNANCE_TOOLS])('%s: a result for those it is for, a tool error for everyone else', async (name) => {
    const tool = TOOLS[name];
    const outcomes: string[] = [];
    for (const c of CALLERS) {
      const r = await callTool(c, name, tool.args(c));
      outcomes.push(`${c}: ${r.isError ? 'tool error' : 'ok'}${r.isError === tool.allowed.includes(c) ? ` ← unexpected (${r.text.slice(0, 160)})` : ''}`);
    }
    expect(outcomes).toEqual(CALLERS.map((c) => `${c}: ${tool.allowed.includes(c) ? 'ok' : 'tool error'}`));
  });

  it('refuses, as tool errors, what an allowed caller may not do with another agent or tenant', async () => {
    const refusals: Array<[Caller, string, Record<string, unknown>]> = [
      ['agent', 'validate_action', { tool: 'read_orders', agent_id: 'refund-agent' }],
      ['rivalAgent', 'validate_action', { tool: 'read_orders', agent_id: 'support-agent' }],
      ['agent', 'get_audit_log', { agent: 'refund-agent' }],
      ['agent', 'get_audit_log', { tenant: 'competitor-corp' }],
      ['viewer', 'get_audit_log', { tenant: 'competitor-corp' }],
      ['rivalAgent', 'report_incident', { agent_id: 'support-agent', type: 'x', severity: 'critical', description: 'not mine' }],
      ['approver', 'report_incident', { agent_id: 'other-tenant-agent', type: 'x', severity: 'critical', description: 'not my tenant' }],
      ['admin', 'validate_action', { tool: 'read_orders' }],
    ];
    for (const [c, name, args] of refusals) {
      const r = await callTool(c, name, args);
      expect(r.isError, `${c} ${name} ${JSON.stringify(args)}: ${r.text}`).toBe(true);
    }
    // Nobody was suspended by the refused critical reports.
    expect((await s.h.warden.store.getAgent('support-agent'))?.status).toBe('active');
    expect((await s.h.warden.store.getAgent('other-tenant-agent'))?.status).toBe('active');
  });

  it('refuses to open a governance session without a valid credential', async () => {
    for (const bad of [undefined, 'not-a-credential-of-anyone', FORGED_KEY]) {
      const c = new Client({ name: 'matrix-nobody', version: '1.0.0' });
      const headers: Record<string, string> = bad === undefined ? {} : { authorization: `Bearer ${bad}` };
      await expect(c.connect(new StreamableHTTPClientTransport(new URL(`${s.base}/mcp/governance`), { requestInit: { headers } }))).rejects.toThrow(/401|Unauthorized/i);
      await c.close().catch(() => undefined);
    }
  });
});
