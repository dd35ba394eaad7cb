import { describe, expect, it } from 'vitest';
import { decide } from '../../src/policy/index.js';
import { policySet, request } from './helpers.js';

const NOW = new Date('2026-11-02T10:00:00Z');
const at = (iso: string) => ({ now: new Date(iso) });

const refunds = `id: refunds
version: 3
rules:
  - id: needs-finance
    effect: deny
    actions: [tool.call]
    tools: [issue_refund]
    when: "!('finance' in agent.roles)"
    reason: "\${agent.id} lacks the finance role"
  - id: small
    effect: allow
    tools: [issue_refund]
    when: "args.amount <= 100"
    obligations: [{ require_idempotency_key: true }]
  - id: large
    effect: require_approval
    tools: [issue_refund]
    when: "args.amount > 100"
    approval: { approvers: ["role:finance_manager"], expires: 1h }
`;
const finance = { roles: ['finance'] };

describe('the decision engine', () => {
  it('allows, names the deciding policy, rule, version and bundle', () => {
    const set = policySet(refunds);
    const d = decide(set, request('issue_refund', { agent: finance, args: { amount: 50 } }), { now: NOW });
    expect(d).toMatchObject({ requestId: 'req-1', effect: 'allow', policy: 'refunds', rule: 'small', policyVersion: '3', bundle: set.bundle });
    expect(d.reason).toBe('allowed (policy refunds v3, rule small)');
    expect(d.obligations).toEqual([{ type: 'require_idempotency_key', arg: 'idempotency_key' }]);
  });

  it('renders reason templates with request values', () => {
    const d = decide(policySet(refunds), request('issue_refund', { args: { amount: 50 } }), { now: NOW });
    expect(d.effect).toBe('deny');
    expect(d.reason).toBe('support-agent lacks the finance role (policy refunds v3, rule needs-finance)');
  });

  it('compares JSON numbers with CEL ints the way a user expects', () => {
    const set = policySet(refunds);
    const effect = (amount: number) => decide(set, request('issue_refund', { agent: finance, args: { amount } }), { now: NOW }).effect;
    expect(effect(250)).toBe('require_approval');
    expect(effect(250.5)).toBe('require_approval');
    expect(effect(100)).toBe('allow');
    expect(effect(99.9)).toBe('allow');
    const arithmetic = policySet(`id: a\nversion: 1\nrules: [{id: r, effect: allow, when: "args.amount * 2 + 1 > 100"}]\n`);
    expect(decide(arithmetic, request('x', { args: { amount: 50 } }), { now: NOW }).effect).toBe('allow');
    expect(decide(arithmetic, request('x', { args: { amount: 49.4 } }), { now: NOW }).effect).toBe('deny');
  });

  it('requires approval with the rule’s approvers, quorum and expiry', () => {
    const d = decide(policySet(refunds), request('issue_refund', { agent: finance, args: { amount: 500 } }), { now: NOW });
    expect(d.effect).toBe('require_approval');
    expect(d.approval).toEqual({ approvers: ['role:finance_manager'], quorum: 1, expiresIn: '1h', allowRequester: false });
  });

  it('denies by default when no rule allows', () => {
    const d = decide(policySet(refunds), request('read_orders'), { now: NOW });
    expect(d).toMatchObject({ effect: 'deny', reason: 'no rule allowed this action', matched: [] });
    expect(d.rule).toBeUndefined();
  });

  it('lets any deny override allows and approvals, across policies', () => {
    const open = `id: open\nversion: 1\nrules: [{id: everything, effect: allow}]\n`;
    const set = policySet(open, refunds);
    const d = decide(set, request('issue_refund', { args: { amount: 500 } }), { now: NOW });
    expect(d.effect).toBe('deny');
    expect(d.matched).toEqual(['refunds/needs-finance']);
  });

  it('merges every matched approval requirement: all approvers, largest quorum, shortest expiry', () => {
    const second = `id: risk\nversion: 1\nrules:\n  - id: big\n    effect: require_approval\n    when: "args.amount > 200"\n    approval: { approvers: ["role:cfo"], quorum: 2, expires: 15m, allow_requester: true }\n`;
    const d = decide(policySet(refunds, second), request('issue_refund', { agent: finance, args: { amount: 500 } }), { now: NOW });
    expect(d.approval).toEqual({ approvers: ['role:cfo', 'role:finance_manager'], quorum: 2, expiresIn: '15m', allowRequester: false });
    expect(d.matched).toEqual(['refunds/large', 'risk/big']);
  });

  it('merges obligations of every matched allow rule without duplicates; the tighter cap wins', () => {
    const a = `id: a\nversion: 1\nrules:\n  - id: r\n    effect: allow\n    obligations:\n      - redact: ['result.orders[*].email', args.note]\n      - cap: { arg: limit, max: 100 }\n`;
    const b = `id: b\nversion: 1\nrules:\n  - id: r\n    effect: allow\n    obligations:\n      - redact: ['result.orders[*].email']\n      - cap: { arg: limit, max: 10 }\n      - filter_tenant: result.orders\n`;
    const d = decide(policySet(a, b), request('read_orders'), { now: NOW });
    expect(d.obligations).toEqual([
      { type: 'redact', paths: ['args.note', 'result.orders[*].email'] },
      { type: 'cap', arg: 'limit', max: 10 },
      { type: 'filter_tenant', path: 'result.orders', field: 'tenant' },
    ]);
  });

  it('carries allow-rule obligations into a require_approval decision', () => {
    const text = `id: p\nversion: 1\nrules:\n  - {id: ok, effect: allow, obligations: [{redact: [result.secret]}]}\n  - {id: hold, effect: require_approval}\n`;
    const d = decide(policySet(text), request('x'), { now: NOW });
    expect(d.effect).toBe('require_approval');
    expect(d.obligations).toEqual([{ type: 'redact', paths: ['result.secret'] }]);
  });

  it('selects rules by action and by exact or glob tool names', () => {
    const text = `id: p
version: 1
rules:
  - {id: reads, effect: allow, actions: [resource.read]}
  - {id: deletes, effect: require_approval, actions: [tool.call], tools: ["delete_*", "*_production"]}
  - {id: exact, effect: allow, actions: [tool.call], tools: [read_orders]}
`;
    const set = policySet(text);
    const effect = (tool: string, action = 'tool.call') => decide(set, request(tool, { action }), { now: NOW });
    expect(effect('delete_user').rule).toBe('deletes');
    expect(effect('restart_production').rule).toBe('deletes');
    expect(effect('read_orders').rule).toBe('exact');
    expect(effect('read_orders_v2').effect).toBe('deny');
    expect(effect('anything', 'resource.read').rule).toBe('reads');
    expect(effect('delete_user', 'resource.read').rule).toBe('reads');
  });

  it('fails closed: a condition error matches a deny or approval rule, never an allow rule', () => {
    const text = `id: p
version: 1
rules:
  - {id: allow-on-missing, effect: allow, tools: [a], when: "args.missing > 1"}
  - {id: deny-on-missing, effect: deny, tools: [b], when: "args.missing > 1"}
  - {id: hold-on-missing, effect: require_approval, tools: [c], when: "args.missing > 1"}
  - {id: allow-c, effect: allow, tools: [c]}
`;
    const set = policySet(text);
    expect(decide(set, request('a'), { now: NOW }).effect).toBe('deny');
    const denied = decide(set, request('b'), { now: NOW });
    expect(denied).toMatchObject({ effect: 'deny', rule: 'deny-on-missing' });
    expect(denied.advice[0]).toContain('treated as matched (fail closed)');
    expect(decide(set, request('c'), { now: NOW }).effect).toBe('require_approval');
  });

  it('fails closed when a condition yields something other than a bool', () => {
    const text = `id: p\nversion: 1\nrules:\n  - {id: ok, effect: allow}\n  - {id: flagged, effect: deny, when: "args.flag"}\n`;
    const set = policySet(text);
    for (const flag of ['yes', 1, 'false', {}, [], null]) {
      const d = decide(set, request('x', { args: { flag } }), { now: NOW, explain: true });
      expect(d).toMatchObject({ effect: 'deny', rule: 'flagged' });
      expect(d.explanation?.candidates.find((c) => c.rule === 'flagged')?.outcome).toBe('error');
    }
    expect(decide(set, request('x', { args: { flag: false } }), { now: NOW }).effect).toBe('allow');
  });

  it('keeps actions and resource names apart in the rule cache, whatever characters they hold', () => {
    const set = policySet('id: p\nversion: 1\nrules: [{id: r, effect: allow, actions: [a], tools: ["b\\u0000c"]}]\n');
    expect(decide(set, request('b\u0000c', { action: 'a' }), { now: NOW }).effect).toBe('allow');
    expect(decide(set, request('c', { action: 'a\u0000b' }), { now: NOW }).effect).toBe('deny');
  });

  it('reports shadow policies beside the decision without enforcing them', () => {
    const draft = `id: draft\nversion: 4\nmode: shadow\nrules: [{id: strict, effect: deny, tools: [issue_refund], when: "args.amount > 10", reason: too much}]\n`;
    const d = decide(policySet(refunds, draft), request('issue_refund', { agent: finance, args: { amount: 50 } }), { now: NOW });
    expect(d.effect).toBe('allow');
    expect(d.shadow).toEqual([{ policy: 'draft', policyVersion: '4', effect: 'deny', rule: 'strict', reason: 'too much' }]);
  });

  it('applies a policy only inside its effective window', () => {
    const freeze = `id: freeze\nversion: 1\neffective: {from: "2026-12-20T00:00:00Z", until: "2027-01-04T00:00:00Z"}\nrules: [{id: f, effect: deny}]\n`;
    const open = `id: open\nversion: 1\nrules: [{id: o, effect: allow}]\n`;
    const set = policySet(freeze, open);
    expect(decide(set, request('x'), at('2026-12-19T23:59:59Z')).effect).toBe('allow');
    expect(decide(set, request('x'), at('2026-12-20T00:00:00Z')).effect).toBe('deny');
    expect(decide(set, request('x'), at('2027-01-04T00:00:00Z')).effect).toBe('allow');
    const explained = decide(set, request('x'), { ...at('2027-02-01T00:00:00Z'), explain: true });
    expect(explained.explanation?.candidates.find((c) => c.policy === 'freeze')?.outcome).toBe('inactive');
  });

  it('offers trust_at_least, related and in_time_window to conditions', () => {
    const text = `id: p
version: 1
rules:
  - {id: trusted, effect: allow, tools: [t], when: "trust_at_least('high')"}
  - {id: member, effect: allow, tools: [m], when: "related('user:' + user.id, 'member', 'project:' + args.project)"}
  - {id: hours, effect: allow, tools: [h], when: "in_time_window(now, '09:00', '17:00', 'Europe/Berlin')"}
  - {id: night, effect: allow, tools: [n], when: "in_time_window(now, '22:00', '06:00')"}
  - {id: globbed, effect: allow, tools: [g], when: "glob(args.path, '/workspace/*')"}
`;
    const set = policySet(text);
    const effect = (tool: string, overrides: Parameters<typeof request>[1] = {}, now = NOW) => decide(set, request(tool, overrides), { now }).effect;
    expect(effect('t', { agent: { trust: 'medium' } })).toBe('deny');
    expect(effect('t', { agent: { trust: 'high' } })).toBe('allow');
    expect(effect('t', { agent: { trust: 'admin' } })).toBe('allow');
    const bob = { id: 'bob', roles: [] };
    const tuples = [{ subject: 'user:bob', relation: 'member', object: 'project:atlas' }];
    expect(effect('m', { user: bob, args: { project: 'atlas' }, relationships: tuples })).toBe('allow');
    expect(effect('m', { user: bob, args: { project: 'zeus' }, relationships: tuples })).toBe('deny');
    expect(effect('m', { user: bob, args: { project: 'atlas' } })).toBe('deny');
    expect(effect('h', {}, new Date('2026-11-02T08:30:00Z'))).toBe('allow'); // 09:30 in Berlin
    expect(effect('h', {}, new Date('2026-11-02T07:30:00Z'))).toBe('deny'); // 08:30 in Berlin
    expect(effect('n', {}, new Date('2026-11-02T23:00:00Z'))).toBe('allow');
    expect(effect('n', {}, new Date('2026-11-02T05:59:00Z'))).toBe('allow');
    expect(effect('n', {}, new Date('2026-11-02T06:00:00Z'))).toBe('deny');
    expect(effect('g', { args: { path: '/workspace/a/b.txt' } })).toBe('allow');
    expect(effect('g', { args: { path: '/etc/passwd' } })).toBe('deny');
  });

  it('sees the session, signals, tool entry and context', () => {
    const text = `id: p
version: 1
rules:
  - {id: budget, effect: deny, when: "session.callsUsed >= 10", reason: "session budget used"}
  - {id: injected, effect: require_approval, when: "has(signals.injection) && signals.injection.score > 0.8"}
  - {id: ok, effect: allow, when: "tool.risk == 'low' && context.environment == 'dev'"}
`;
    const set = policySet(text);
    const base = { tool: { name: 'x', risk: 'low' as const, tags: [] }, context: { environment: 'dev' } };
    expect(decide(set, request('x', base), { now: NOW }).effect).toBe('allow');
    expect(decide(set, request('x', { ...base, session: { callsUsed: 10, spend: 0, tainted: false, recent: [] } }), { now: NOW }).reason).toContain('session budget used');
    expect(decide(set, request('x', { ...base, signals: { injection: { score: 0.9 } } }), { now: NOW }).effect).toBe('require_approval');
  });

  it('explains every candidate rule, matched or not, and why', () => {
    const d = decide(policySet(refunds), request('issue_refund', { agent: finance, args: { amount: 500 } }), { now: NOW, explain: true });
    expect(d.explanation?.rulesInSet).toBe(3);
    expect(d.explanation?.candidates.map((c) => [c.rule, c.outcome])).toEqual([
      ['needs-finance', 'not_matched'],
      ['large', 'matched'],
      ['small', 'not_matched'],
    ]);
    expect(d.explanation?.candidates[1]?.detail).toBe('condition args.amount > 100: true');
    expect(d.explanation?.summary).toBe('3 of 3 rules apply to tool.call on issue_refund; require_approval by refunds/large');
    expect(decide(policySet(refunds), request('issue_refund'), { now: NOW }).explanation).toBeUndefined();
  });

  it('never throws: an unexpected failure is a deny', () => {
    const set = policySet(refunds);
    const broken = { ...request('issue_refund'), actor: undefined } as unknown as Parameters<typeof decide>[1];
    const d = decide(set, broken, { now: NOW });
    expect(d.effect).toBe('deny');
    expect(d.reason).toMatch(/^policy evaluation failed, denied \(fail closed\)/);
  });
});
