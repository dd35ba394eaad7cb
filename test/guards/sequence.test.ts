import { describe, expect, it } from 'vitest';
import { sessionView, withDenial, withExecutedCall, RECENT_LIMIT } from '../../src/guards/sequence.js';
import { decide } from '../../src/policy/index.js';
import type { SessionRecord } from '../../src/store/records.js';
import { diagnosticsOf, policySet, request } from '../policy/helpers.js';

const NOW = new Date('2026-11-02T10:00:00Z');
const at = (secondsAgo: number) => new Date(NOW.getTime() - secondsAgo * 1000).toISOString();
const empty: SessionRecord = { id: 's', tenant: 't', callsUsed: 0, spend: 0, tainted: false, recent: [], updatedAt: 0 };

function session(calls: Array<[string, string, string]>, denials: number[] = []): SessionRecord {
  let s = empty;
  for (const [tool, effect, risk] of calls) s = withExecutedCall(s, { tool, effect, risk, at: at(30) });
  for (const d of denials) s = withDenial(s, at(d));
  return s;
}

const SEQUENCES = `id: sequences
version: 1
rules:
  - id: secrets-then-outside
    effect: deny
    when: "called_before(session, 'read_secret*') && tool.effect == 'external'"
  - id: risky-streak
    effect: require_approval
    when: "recent_count(session, 'high', 5) >= 3"
  - id: many-denials
    effect: deny
    when: "denials_within(session, '1m') > 3"
  - id: external-burst
    effect: require_approval
    when: "recent_count(session, 'external') >= 2 || recent_count(session, 'export_*', 3) >= 2"
  - id: otherwise
    effect: allow
`;
const set = policySet(SEQUENCES);
const decideWith = (s: SessionRecord, tool = { name: 'send_email', effect: 'external' as const, tags: [] }) =>
  decide(set, request(tool.name, { tool, session: sessionView(s) }), { now: NOW });

describe('the session history, kept incrementally', () => {
  it('bounds recent calls and keeps every distinct tool', () => {
    let s = empty;
    for (let i = 0; i < 50; i++) s = withExecutedCall(s, { tool: `t${i % 30}`, effect: 'read', risk: 'low', at: at(0) });
    expect(s.recent).toHaveLength(RECENT_LIMIT);
    expect(s.flow!.tools).toHaveLength(30);
    expect(sessionView(s)).toMatchObject({ tools: expect.arrayContaining(['t0', 't29']), privateData: false, denials: [] });
  });
});

describe('sequence helpers in CEL', () => {
  it('read_secrets followed by any external tool', () => {
    expect(decideWith(session([['read_secrets', 'read', 'high']]))).toMatchObject({ effect: 'deny', rule: 'secrets-then-outside' });
    expect(decideWith(session([['read_secrets', 'read', 'high']]), { name: 'read_orders', effect: 'read' as never, tags: [] }).effect).toBe('allow');
    expect(decideWith(session([['read_orders', 'read', 'low']])).effect).toBe('allow');
  });

  it('three or more high-risk actions in the last five', () => {
    const tool = { name: 'noop', effect: 'write' as never, tags: [] };
    const highs = (n: number) => session([...Array.from({ length: n }, (): [string, string, string] => ['refund', 'write', n % 2 ? 'critical' : 'high']), ['a', 'read', 'low'], ['b', 'read', 'low']]);
    expect(decideWith(highs(3), tool)).toMatchObject({ effect: 'require_approval', rule: 'risky-streak' });
    expect(decideWith(highs(2), tool).effect).toBe('allow');
    // high-risk calls pushed out of the last five no longer count
    const old = session([['r', 'write', 'high'], ['r', 'write', 'high'], ['r', 'write', 'high'], ['a', 'read', 'low'], ['b', 'read', 'low'], ['c', 'read', 'low']]);
    expect(decideWith(old, tool).effect).toBe('allow'); // r r r a b c: the last five hold two
  });

  it('more than three denials in a minute', () => {
    const tool = { name: 'noop', effect: 'read' as never, tags: [] };
    expect(decideWith(session([], [5, 10, 20, 50]), tool)).toMatchObject({ effect: 'deny', rule: 'many-denials' });
    expect(decideWith(session([], [5, 10, 20, 61, 120]), tool).effect).toBe('allow');
  });

  it('counts by effect and by tool glob', () => {
    const tool = { name: 'noop', effect: 'read' as never, tags: [] };
    expect(decideWith(session([['x', 'external', 'low'], ['y', 'external', 'low']]), tool).rule).toBe('external-burst');
    expect(decideWith(session([['export_csv', 'write', 'low'], ['export_pdf', 'write', 'low']]), tool).rule).toBe('external-burst');
  });

  it('are type-checked at load, and work on a request without a session', () => {
    expect(diagnosticsOf('id: p\nversion: 1\nrules: [{ id: r, effect: deny, when: "recent_count(session, 5)" }]\n')[0]).toMatchObject({ code: 'cel-type' });
    expect(diagnosticsOf('id: p\nversion: 1\nrules: [{ id: r, effect: deny, when: "called_before(\'x\')" }]\n')[0]).toMatchObject({ code: 'cel-type' });
    expect(decide(set, request('send_email', { tool: { name: 'send_email', effect: 'external', tags: [] } }), { now: NOW }).effect).toBe('allow');
  });
});
