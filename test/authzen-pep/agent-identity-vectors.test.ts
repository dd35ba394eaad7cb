import { readFileSync } from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditIdOf, callError, decisionOf, startWorld, TestPdp, type FixtureTool, type World } from './harness.js';

/**
 * The COAZ-MCP agent-identity vectors (fixtures/agent-identity-vectors.json; see its `about` for
 * where they come from) run through the real gateway: each vector's mapping is declared by a tool
 * of the fixture upstream, its token is what Warden authenticates (client_id: the agent's API
 * key; sub: alice's on-behalf-of token, or the agent itself when no user is verified), and a real
 * AuthZEN PDP listener decides with the manifest's sample policy (`pdp.authzen`, mode alone).
 * A mapping error reaches neither the PDP nor the upstream and leaves a decision record.
 */

interface Vector {
  id: string;
  token: { sub: string; client_id: string };
  claimed_user?: string;
  params?: { arguments: Record<string, string> };
  mapping: unknown;
  expected: { outcome: 'request' | 'mapping_error'; pdp_called: boolean; reason?: string; request?: Record<string, unknown>; decision?: boolean | boolean[] };
}
interface Manifest {
  baseline: { params: { arguments: Record<string, string> } };
  policy: { permit_when: Record<string, string> };
  vectors: Vector[];
}

const manifest = JSON.parse(readFileSync(new URL('./fixtures/agent-identity-vectors.json', import.meta.url), 'utf8')) as Manifest;
const toolOf = (v: Vector) => `v_${v.id.replace(/-/g, '_')}`;
const argsOf = (v: Vector) => (v.params ?? manifest.baseline.params).arguments;

/** The manifest's actor-sensitive sample policy, over one effective evaluation. */
function samplePolicy(e: Record<string, unknown>): boolean {
  const at = (path: string) => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], e);
  return Object.entries(manifest.policy.permit_when).every(([path, value]) => at(path) === value);
}

const TOOLS: FixtureTool[] = manifest.vectors.map((v) => ({ name: toolOf(v), args: Object.fromEntries(Object.keys(argsOf(v)).map((k) => [k, 'string' as const])), mapping: v.mapping }));

let w: World;
let pdp: TestPdp;
beforeAll(async () => {
  pdp = await new TestPdp().start();
  pdp.behaviour = { kind: 'decide', decide: samplePolicy };
  // Warden's own policies deny everything: with mode alone, only the PDP decides.
  w = await startWorld({ tools: TOOLS, policy: 'id: deny-all\nversion: 1\nrules:\n  - { id: nothing, effect: deny, tools: ["*"] }\n', extraConfig: `pdp: { authzen: { url: "${pdp.url}", mode: alone, timeout: 5s } }` });
}, 60_000);
afterAll(async () => {
  await w?.close();
  await pdp?.close();
});

describe('COAZ-MCP agent-identity vectors through the gateway', () => {
  it('holds the invariants the vectors are for', () => {
    const byId = new Map(manifest.vectors.map((v) => [v.id, v]));
    for (const spoof of ['mapping-literal-spoof', 'caller-argument-spoof']) expect(byId.get(spoof)?.expected.outcome).toBe('mapping_error');
    const [a, b] = [byId.get('anchored-agent-a-permit')!, byId.get('anchored-agent-b-deny')!];
    for (const field of ['subject', 'action', 'resource']) expect(a.expected.request![field]).toEqual(b.expected.request![field]);
    expect(a.expected.decision).not.toEqual(b.expected.decision);
  });

  it.each(manifest.vectors.map((v) => [v.id, v] as const))('%s', async (_id, v) => {
    const tool = toolOf(v);
    const user = v.token.sub !== v.token.client_id ? v.token.sub : undefined;
    const client = await w.connect(v.token.client_id, { ...(user ? { user } : {}), ...(v.claimed_user ? { claimedUser: v.claimed_user } : {}) });
    const asked = pdp.calls.length;
    const ranBefore = w.upstreamCalls().length;

    if (v.expected.outcome === 'mapping_error') {
      const error = await callError(client, tool, argsOf(v));
      expect(error?.code).toBe(-32602);
      expect(error?.message).toContain(v.expected.reason!);
      expect(pdp.calls.length).toBe(asked); // the PDP never sees a spoofed identity
      expect(w.upstreamCalls().length).toBe(ranBefore);
      const record = await w.record(auditIdOf(error!));
      expect(record).toMatchObject({ effect: 'deny', stage: 'mapping', agentId: v.token.client_id, resourceId: tool });
      return;
    }

    const result = (await client.callTool({ name: tool, arguments: argsOf(v) })) as CallToolResult;
    expect(pdp.calls.length).toBe(asked + 1);
    const call = pdp.calls.at(-1)!;
    expect(call.path).toBe(Array.isArray(v.expected.decision) ? '/access/v1/evaluations' : '/access/v1/evaluation');
    expect(call.body).toEqual(v.expected.request);
    const permitted = Array.isArray(v.expected.decision) ? v.expected.decision.every(Boolean) : v.expected.decision;
    if (permitted) {
      expect(decisionOf(result)).toMatchObject({ effect: 'allow', policy: 'authzen-pdp' });
      expect(w.upstreamCalls().slice(ranBefore)).toEqual([{ tool, args: argsOf(v) }]);
    } else {
      expect(result.isError).toBe(true);
      expect(decisionOf(result)).toMatchObject({ effect: 'deny', policy: 'authzen-pdp' });
      expect(w.upstreamCalls().length).toBe(ranBefore);
    }
  });
});
