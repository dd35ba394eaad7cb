import { describe, expect, it } from 'vitest';
import { anchorRequest, checkAnchorProvenance, effectiveEvaluations } from '../../src/enforcement/authzen/coaz-anchors.js';
import { declaredMapping, defaultMapping } from '../../src/enforcement/authzen/coaz-defaults.js';
import { CoazMappingError } from '../../src/enforcement/authzen/coaz-errors.js';
import { compileMapping, resolveMapping } from '../../src/enforcement/authzen/coaz-mapping.js';
import type { JsonObject } from '../../src/model/json.js';

/**
 * The COAZ mapping engine on its own: the binding's worked examples (openid/authzen
 * profiles/authzen-coaz-mcp-binding-1_0.md @ e287920eed842b227e38531c1735b712337ca44d, "Expressions
 * and Literals", "Single-evaluation Example", "Multi-evaluation Example"; © OpenID Foundation,
 * reproduced under its notice for implementing the specification) and the error categories.
 */

const params = { name: 'get_customer', arguments: { id: 'cust-12345', case: 'case-67890' } };
const token = { sub: 'alice@example.com', client_id: 'http://agentprovider.com/agent-app-id', iss: 'https://auth.example.com', aud: 'https://mcp.example.com', exp: 1750000000 };
const trusted = { subject: token.sub, agent: token.client_id };

function build(mapping: unknown, inputs: { params: JsonObject; token: JsonObject } = { params, token }) {
  return anchorRequest(resolveMapping(declaredMapping(mapping), inputs), trusted);
}
function mappingError(run: () => unknown): CoazMappingError {
  try {
    run();
  } catch (error) {
    if (error instanceof CoazMappingError) return error;
    throw error;
  }
  throw new Error('expected a mapping error');
}

describe('the binding’s examples', () => {
  it('resolves the expression table', () => {
    const m = compileMapping({ evaluation: { subject: {}, action: { name: '$params.name' }, resource: { type: 'customer', id: '$params.arguments.id' }, context: { s: '$token.sub', a: '$token.?client_id' } } });
    expect(resolveMapping(m, { params, token }).body).toEqual({ subject: {}, action: { name: 'get_customer' }, resource: { type: 'customer', id: 'cust-12345' }, context: { s: 'alice@example.com', a: 'http://agentprovider.com/agent-app-id' } });
  });

  it('builds the single-evaluation example request', () => {
    const mapping = { evaluation: { subject: { type: 'identity', id: '$token.sub' }, action: { name: 'get_customer' }, resource: { type: 'customer', id: '$params.arguments.id' }, context: { agent: '$token.?client_id', case: '$params.arguments.case' } } };
    expect(build(mapping)).toEqual({
      envelope: 'evaluation',
      body: { subject: { type: 'identity', id: 'alice@example.com' }, action: { name: 'get_customer' }, resource: { type: 'customer', id: 'cust-12345' }, context: { agent: 'http://agentprovider.com/agent-app-id', case: 'case-67890' } },
    });
  });

  it('builds the multi-evaluation example request and its effective evaluations', () => {
    const mapping = {
      evaluations: {
        subject: { type: 'identity', id: '$token.sub' },
        context: { agent: '$token.?client_id' },
        evaluations: [
          { action: { name: 'read' }, resource: { type: 'storage_object', id: '$params.arguments.source' } },
          { action: { name: 'write' }, resource: { type: 'storage_object', id: '$params.arguments.destination' } },
        ],
      },
    };
    const request = build(mapping, { params: { name: 'copy_object', arguments: { source: '/bucket/reports/q1.pdf', destination: '/bucket/archive/q1.pdf' } }, token });
    expect(request.body).toEqual({
      subject: { type: 'identity', id: 'alice@example.com' },
      context: { agent: 'http://agentprovider.com/agent-app-id' },
      evaluations: [
        { action: { name: 'read' }, resource: { type: 'storage_object', id: '/bucket/reports/q1.pdf' } },
        { action: { name: 'write' }, resource: { type: 'storage_object', id: '/bucket/archive/q1.pdf' } },
      ],
    });
    expect(effectiveEvaluations(request).map((e) => [e.action, (e.subject as JsonObject).id])).toEqual([
      [{ name: 'read' }, 'alice@example.com'],
      [{ name: 'write' }, 'alice@example.com'],
    ]);
  });

  it('the default tools/call mapping', () => {
    const request = anchorRequest(resolveMapping(defaultMapping('tools/call')!, { params, token }), trusted);
    expect(request.body).toEqual({ subject: { type: 'identity', id: 'alice@example.com' }, action: { name: 'tools/call' }, resource: { type: 'tool', id: 'get_customer' }, context: { agent: 'http://agentprovider.com/agent-app-id' } });
  });
});

describe('literals and expressions', () => {
  it('$$ is a literal $, a $ later in a string is nothing special, non-strings are literals', () => {
    const m = compileMapping({ evaluation: { subject: {}, action: { name: '$$50' }, resource: { type: 'price$', id: 'x' }, context: { n: 10, b: true, list: ['$params.name'] } } });
    expect(resolveMapping(m, { params, token }).body).toMatchObject({ action: { name: '$50' }, resource: { type: 'price$' }, context: { n: 10, b: true, list: ['$params.name'] } });
  });

  it('an optional selection that finds nothing omits the field; CEL maps and ints become JSON', () => {
    const m = compileMapping({ evaluation: { subject: {}, action: { name: 'a' }, resource: { type: 'r', id: 'x' }, context: { gone: '$token.?nope', n: '$1 + 2', m: "${'k': params.arguments.id}" } } });
    expect(resolveMapping(m, { params, token }).body.context).toEqual({ n: 3, m: { k: 'cust-12345' } });
  });
});

describe('mapping errors', () => {
  const base = { subject: { type: 'identity', id: '$token.sub' }, action: { name: 'a' }, resource: { type: 'r', id: 'x' } };
  it.each<[string, unknown, string, CoazMappingError['kind']]>([
    ['no envelope', {}, 'exactly one envelope key', 'malformed'],
    ['two envelopes', { evaluation: base, evaluations: { evaluations: [base] } }, 'exactly one envelope key', 'malformed'],
    ['an unknown envelope', { search: base }, 'unsupported envelope "search"', 'malformed'],
    ['an unknown field', { evaluation: { ...base, options: {} } }, '"evaluation.options" is not a field', 'malformed'],
    ['an entity as one expression', { evaluation: { ...base, context: '$params.arguments' } }, 'evaluation.context must be an object', 'malformed'],
    ['an empty evaluations list', { evaluations: { ...base, evaluations: [] } }, 'non-empty "evaluations" array', 'malformed'],
    ['a per-evaluation subject', { evaluations: { evaluations: [base] } }, 'evaluations.evaluations[0].subject is not allowed', 'trust_anchor'],
    ['an expression that does not parse', { evaluation: { ...base, resource: { type: 'r', id: '$params.(' } } }, "expression '$params.(' at evaluation.resource.id does not parse", 'malformed'],
    ['a subject from a constant expression', { evaluation: { ...base, subject: { id: "$'alice@example.com'" } } }, 'does not read the token, so it is a constant', 'trust_anchor'],
    ['an agent mixing token and params', { evaluation: { ...base, context: { agent: '$token.sub + params.name' } } }, 'reads the call\'s params', 'trust_anchor'],
    ['a prototype key', JSON.parse('{"evaluation":{"action":{"name":"a"},"resource":{"type":"r","id":"x"},"context":{"__proto__":{"agent":"agent-a"}}}}'), 'has the key "__proto__"', 'malformed'],
    ['an expression too long to run on every call', { evaluation: { ...base, resource: { type: 'r', id: `$${"'a' + ".repeat(200)}'a'` } } }, 'longer than 1024 characters', 'malformed'],
  ])('%s', (_name, mapping, message, kind) => {
    const error = mappingError(() => checkAnchorProvenance(compileMapping(mapping)));
    expect(error.message).toContain(message);
    expect(error.kind).toBe(kind);
  });

  it.each<[string, unknown, string, CoazMappingError['kind']]>([
    ['a missing key', { evaluation: { ...base, resource: { type: 'r', id: '$params.arguments.region' } } }, "expression '$params.arguments.region' failed: No such key: region", 'expression'],
    ['a null required field', { evaluation: { ...base, resource: { type: 'r', id: '$null' } } }, 'resource.id is required and must be a non-empty string (resolved to null)', 'missing'],
    ['an absent required field', { evaluation: { ...base, action: { name: '$params.?nope' } } }, 'action.name is required and must be a non-empty string (resolved to nothing)', 'missing'],
    ['no resource at all', { evaluation: { subject: {}, action: { name: 'a' } } }, 'resource is required', 'missing'],
    ['a subject from the wrong claim', { evaluation: { ...base, subject: { id: '$token.iss' } } }, 'subject.id resolved to "https://auth.example.com" but the authenticated subject is "alice@example.com"', 'trust_anchor'],
    ['an entry without an action anywhere', { evaluations: { subject: {}, evaluations: [{ resource: { type: 'r', id: 'x' } }] } }, 'evaluations[0].action is required', 'missing'],
  ])('%s (when the call is made)', (_name, mapping, message, kind) => {
    const error = mappingError(() => build(mapping));
    expect(error.message).toContain(message);
    expect(error.kind).toBe(kind);
  });

  it('a CEL map literal cannot reach a prototype: the request carries no inherited field', () => {
    const body = build({ evaluation: { ...base, context: { m: "${'__proto__': {'agent': 'x'}}" } } }).body;
    const m = (body.context as JsonObject).m as JsonObject;
    expect(Object.getPrototypeOf(m)).toBe(Object.prototype);
    expect('agent' in m).toBe(false);
    expect((body.context as JsonObject).agent).toBe(trusted.agent);
  });

  it('a broken declared mapping is compiled once and refused the same way every time', () => {
    const broken = { evaluation: { subject: { id: 'root' }, action: { name: 'a' }, resource: { type: 'r', id: 'x' } } };
    const first = mappingError(() => declaredMapping(broken));
    expect(mappingError(() => declaredMapping(structuredClone(broken)))).toBe(first);
  });

  it('a subject without id or type gets the trusted id and type identity; other subject fields stay', () => {
    expect(build({ evaluation: { subject: { properties: { department: 'sales' } }, action: { name: 'a' }, resource: { type: 'r', id: 'x' } } }).body.subject).toEqual({ type: 'identity', id: 'alice@example.com', properties: { department: 'sales' } });
  });
});
