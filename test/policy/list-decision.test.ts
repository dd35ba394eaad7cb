import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActionRequest } from '../../src/model/action-request.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/decide.js';
import { listDecision } from '../../src/policy/list-decision.js';

const POLICY = `id: p
version: 1
rules:
  - { id: sandbox-write, effect: allow, tools: [write], when: "'files' in agent.roles && glob(args.path, '/sandbox/**')" }
  - { id: any-path, effect: allow, tools: [has_path], when: "has(args.path)" }
  - { id: no-args, effect: allow, tools: [no_args], when: "size(args) == 0" }
  - { id: always-denied, effect: deny, tools: [blocked], when: "true || args.x == 1" }
  - { id: blocked-allow, effect: allow, tools: [blocked] }
  - { id: amount-or-role, effect: allow, tools: [either], when: "args.amount > 5 || 'files' in agent.roles" }
  - { id: never-role, effect: allow, tools: [never], when: "session.callsUsed < 5 && 'nope' in agent.roles" }
  - { id: guarded, effect: require_approval, when: "has(signals.injection)" }
  - { id: move-approval, effect: require_approval, tools: [move], when: "'files' in agent.roles", approval: { approvers: ["role:approver"] } }
  - { id: attrs, effect: allow, tools: [attr], when: "resource.attributes.owner == agent.id" }
`;
const policySet = compilePolicies([{ file: 'p.yaml', text: POLICY }]).policySet!;
const TOOLS = ['write', 'has_path', 'no_args', 'blocked', 'either', 'never', 'move', 'attr', 'unlisted'];

const request = (tool: string, roles: string[], args: Record<string, unknown> = {}, extra: Partial<ActionRequest> = {}): ActionRequest =>
  ({ requestId: 'r', tenant: 't', actor: { agent: { id: 'a', roles, trust: 'low' } }, action: 'tool.call', resource: { type: 'tool', id: tool, tenant: 't', attributes: {} }, args, context: {}, ...extra }) as ActionRequest;
const visible = (tool: string, roles: string[]) => listDecision(policySet, request(tool, roles), new Date()).visible;

describe('listDecision', () => {
  it('settles what does not depend on the call and keeps what might be allowed', () => {
    expect(visible('write', ['files'])).toBe(true); // depends on args.path
    expect(visible('write', [])).toBe(false); // false whatever the path
    expect(visible('has_path', [])).toBe(true);
    expect(visible('no_args', [])).toBe(true);
    expect(visible('blocked', [])).toBe(false); // denied whatever the arguments
    expect(visible('either', [])).toBe(true);
    expect(visible('never', [])).toBe(false);
    expect(visible('move', ['files'])).toBe(true); // an approval that surely applies
    expect(visible('move', [])).toBe(false);
    expect(visible('attr', [])).toBe(true);
    expect(visible('unlisted', ['files'])).toBe(false); // only the guard's approval rule: caution, not permission
    expect(listDecision(policySet, request('blocked', []), new Date()).reason).toContain('p/always-denied');
  });

  it('never hides a tool that some call of it would be allowed (property)', () => {
    const args = fc.record(
      { path: fc.constantFrom('/sandbox/a.txt', '/etc/passwd'), amount: fc.integer({ min: 0, max: 10 }), x: fc.integer({ min: 0, max: 2 }) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.constantFrom(...TOOLS), fc.subarray(['files', 'nope']), args, fc.integer({ min: 0, max: 9 }), fc.constantFrom('a', 'b'), (tool, roles, a, calls, owner) => {
        const call = request(tool, roles, a, { session: { callsUsed: calls, spend: 0, tainted: false, recent: [] }, resource: { type: 'tool', id: tool, tenant: 't', attributes: { owner } } });
        if (decide(policySet, call).effect !== 'deny') expect(visible(tool, roles)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
