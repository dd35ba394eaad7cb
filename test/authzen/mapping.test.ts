/**
 * The AuthZEN ⇄ ActionRequest mapping (src/model/authzen.ts), both directions: what each field
 * becomes, defaults and overrides, the decision's answer, and reading another PDP's answer (only
 * a literal `true` allows).
 */
import { describe, expect, it } from 'vitest';
import {
  actionRequestToAuthzen,
  authzenToActionRequest,
  authzenToEffect,
  decisionToAuthzen,
  parseAuthzenEvaluation,
  parseAuthzenEvaluations,
} from '../../src/model/authzen.js';
import { parseActionRequest } from '../../src/model/action-request.js';
import type { Decision } from '../../src/model/decision.js';

const evaluation = {
  subject: { type: 'user', id: 'alice', properties: { roles: ['x'] } },
  action: { name: 'can_update', properties: { amount: 5 } },
  resource: { type: 'todo', id: 't-1', properties: { ownerID: 'alice' } },
  context: { time: '2026-12-01T12:00:00Z' },
};

describe('AuthZEN → ActionRequest', () => {
  it('maps action, args, resource, attributes and context; the parties come from the caller, not the subject', () => {
    const parsed = parseAuthzenEvaluation({ ...evaluation, extra: 'ignored' });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const request = authzenToActionRequest(parsed.value, { tenant: 'todo', agent: { id: 'pep:x', roles: [], trust: 'low' }, user: { id: 'alice', roles: [], verified: true } });
    expect(request).toEqual({
      tenant: 'todo',
      actor: { agent: { id: 'pep:x', roles: [], trust: 'low' }, user: { id: 'alice', roles: [], verified: true } },
      action: 'can_update',
      resource: { type: 'todo', id: 't-1', attributes: { ownerID: 'alice' } },
      args: { amount: 5 },
      context: { time: '2026-12-01T12:00:00Z' },
    });
    // What it builds is a valid ActionRequest.
    expect(parseActionRequest(request).ok).toBe(true);
  });

  it('applies defaults, lets an item replace a default whole, and names what is missing', () => {
    const batch = parseAuthzenEvaluations(
      { subject: evaluation.subject, action: { name: 'read' }, context: { a: 1 }, evaluations: [{ resource: { type: 'd', id: '1' } }, { resource: { type: 'd', id: '2' }, context: { b: 2 }, action: { name: 'write' } }] },
      10,
    );
    expect(batch.ok && batch.value.evaluations.map((e) => [e.action.name, e.resource.id, e.context])).toEqual([
      ['read', '1', { a: 1 }],
      ['write', '2', { b: 2 }],
    ]);
    const missing = parseAuthzenEvaluations({ evaluations: [{ subject: evaluation.subject, action: { name: 'read' } }] }, 10);
    expect(missing).toEqual({ ok: false, errors: ['evaluations[0].resource is required'] });
    expect(parseAuthzenEvaluations({ ...evaluation, evaluations: [{}, {}, {}] }, 2)).toMatchObject({ ok: false, errors: [expect.stringMatching(/3 items; at most 2/)] });
  });
});

const decision = (over: Partial<Decision>): Decision => ({ requestId: 'r', effect: 'deny', reason: 'no rule allowed this action', bundle: 'sha256:b', obligations: [], advice: [], matched: [], shadow: [], ...over });

describe('Decision → AuthZEN', () => {
  it('is true only for allow; require_approval is false with the requirement, reasons or not', () => {
    expect(decisionToAuthzen(decision({ effect: 'allow' }), { reasons: false })).toEqual({ decision: true });
    expect(decisionToAuthzen(decision({ effect: 'deny' }), { reasons: false })).toEqual({ decision: false });
    const held = decision({ effect: 'require_approval', approval: { approvers: ['role:manager'], quorum: 2, expiresIn: '1h', allowRequester: false } });
    expect(decisionToAuthzen(held, { reasons: false })).toEqual({ decision: false, context: { effect: 'require_approval', approval: { approvers: ['role:manager'], quorum: 2, expires_in: '1h', allow_requester: false } } });
    expect(decisionToAuthzen(decision({ effect: 'allow', policy: 'p', rule: 'r' }), { reasons: true, evaluationId: 'dec_1' })).toEqual({
      decision: true,
      context: { evaluation_id: 'dec_1', effect: 'allow', reason: 'no rule allowed this action', policy: 'p', rule: 'r', bundle: 'sha256:b' },
    });
  });
});

describe('the PEP direction', () => {
  it('ActionRequest → AuthZEN: the user is the subject, the acting agent is in context', () => {
    const parsed = parseActionRequest({ tenant: 'acme', actor: { agent: { id: 'bot', roles: ['support'], trust: 'medium' }, user: { id: 'u1', roles: ['staff'], verified: true } }, action: 'tool.call', resource: { type: 'tool', id: 'refund' }, args: { amount: 3 } });
    if (!parsed.ok) throw new Error(parsed.errors.join());
    expect(actionRequestToAuthzen(parsed.value)).toEqual({
      subject: { type: 'user', id: 'u1', properties: { roles: ['staff'], verified: true } },
      action: { name: 'tool.call', properties: { amount: 3 } },
      resource: { type: 'tool', id: 'refund' },
      context: { tenant: 'acme', agent: { id: 'bot', roles: ['support'], trust: 'medium' } },
    });
  });

  it('reads another PDP’s answer fail closed: only a literal true allows', () => {
    expect(authzenToEffect({ decision: true })).toMatchObject({ effect: 'allow' });
    expect(authzenToEffect({ decision: false, context: { reason_admin: { '403': 'Request failed policy C076E82F' } } })).toEqual({ effect: 'deny', reason: 'Request failed policy C076E82F' });
    for (const answer of [{ decision: 'true' }, { decision: 1 }, {}, null, 'true', [true]]) expect(authzenToEffect(answer).effect).toBe('deny');
  });
});
