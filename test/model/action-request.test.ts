import { describe, expect, it } from 'vitest';
import { parseActionRequest } from '../../src/model/index.js';
import { decide } from '../../src/policy/index.js';
import { policySet } from '../policy/helpers.js';

const valid = {
  tenant: 'acme-corp',
  actor: { agent: { id: 'a', roles: ['support'], trust: 'medium' } },
  action: 'tool.call',
  resource: { type: 'tool', id: 'read_orders' },
  args: { limit: 5 },
};

function errorsOf(input: unknown): string[] {
  const result = parseActionRequest(input);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors;
}

describe('validating an ActionRequest', () => {
  it('accepts a valid request and fills defaults', () => {
    const result = parseActionRequest(valid);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.context).toEqual({});
      expect(result.value.resource.attributes).toEqual({});
    }
  });

  it('names each missing part', () => {
    expect(errorsOf({ tenant: 'x', action: 'tool.call', resource: valid.resource })).toEqual(['actor is required']);
    expect(errorsOf({ ...valid, action: undefined })).toEqual(['action is required']);
    expect(errorsOf({ ...valid, actor: {} })).toEqual(['actor.agent is required']);
  });

  it('rejects non-object arguments, unknown fields and unknown trust levels', () => {
    expect(errorsOf({ ...valid, args: [1, 2] })[0]).toMatch(/^args: /);
    expect(errorsOf({ ...valid, args: 'rm -rf /' })[0]).toMatch(/^args: /);
    expect(errorsOf({ ...valid, acter: {} })[0]).toContain('acter');
    expect(errorsOf({ ...valid, actor: { agent: { id: 'a', trust: 'root' } } })[0]).toMatch(/^actor\.agent\.trust: /);
  });

  it('rejects a 10 MB string without walking it into the schema', () => {
    const errors = errorsOf({ ...valid, args: { note: 'x'.repeat(10 * 1024 * 1024) } });
    expect(errors).toEqual(['$.args.note is a string of 10485760 characters; the limit is 1048576']);
  });

  it('rejects deep nesting without overflowing the stack', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 100_000; i++) deep = (deep.a = {}) as Record<string, unknown>;
    expect(errorsOf({ ...valid, args: root })[0]).toMatch(/nested deeper than 32 levels/);
  });

  it('rejects __proto__ and constructor keys, which reach prototypes', () => {
    const polluted = JSON.parse('{"tenant":"t","actor":{"agent":{"id":"a"}},"action":"x","resource":{"type":"t","id":"i"},"args":{"__proto__":{"admin":true}}}');
    expect(errorsOf(polluted)).toEqual(['$.args has the forbidden key "__proto__"']);
    expect(errorsOf({ ...valid, context: { constructor: 1 } })).toEqual(['$.context has the forbidden key "constructor"']);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('rejects non-JSON values such as functions and infinities', () => {
    expect(errorsOf({ ...valid, args: { n: Infinity } })[0]).toContain('not a finite number');
    expect(errorsOf({ ...valid, args: { f: () => 1 } })[0]).toContain('not a JSON value');
  });

  it('never lets a rejected request reach an allow', () => {
    const set = policySet('id: open\nversion: 1\nrules: [{id: all, effect: allow}]\n');
    for (const bad of [{}, null, 'x', { ...valid, args: [] }, { ...valid, actor: null }]) {
      const parsed = parseActionRequest(bad);
      expect(parsed.ok).toBe(false);
      // Even if a caller ignored validation, the PDP fails closed on a malformed request.
      expect(decide(set, bad as never).effect).toBe('deny');
    }
  });
});
