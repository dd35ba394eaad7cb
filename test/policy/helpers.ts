import { compilePolicies, type PolicySet } from '../../src/policy/index.js';
import { parseActionRequest, type ActionRequest } from '../../src/model/index.js';

/** Compiles policies given as YAML texts; fails the test with the diagnostics if they do not load. */
export function policySet(...texts: string[]): PolicySet {
  const result = compilePolicies(texts.map((text, i) => ({ file: `p${i}.yaml`, text })));
  if (!result.policySet) throw new Error(result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.message}`).join('\n'));
  return result.policySet;
}

export function diagnosticsOf(...texts: string[]) {
  return compilePolicies(texts.map((text, i) => ({ file: `p${i}.yaml`, text }))).diagnostics;
}

type RequestOverrides = Partial<Omit<ActionRequest, 'actor' | 'resource'>> & {
  agent?: Partial<ActionRequest['actor']['agent']>;
  user?: ActionRequest['actor']['user'];
  resource?: Partial<ActionRequest['resource']>;
};

/** A valid request for `tool.call` on `tool` by a medium-trust support agent of acme-corp. */
export function request(tool: string, overrides: RequestOverrides = {}): ActionRequest {
  const { agent, user, resource, ...rest } = overrides;
  const parsed = parseActionRequest({
    requestId: 'req-1',
    tenant: 'acme-corp',
    actor: { agent: { id: 'support-agent', roles: ['support'], trust: 'medium', ...agent }, ...(user ? { user } : {}) },
    action: 'tool.call',
    resource: { type: 'tool', id: tool, ...resource },
    ...rest,
  });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
}
