import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serve } from '../../src/surfaces/http/serve.js';
import { startHarness } from '../pipeline/harness.js';

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the policy folder is watched', () => {
  it('hot-reloads a valid change, refuses an invalid one and keeps serving the previous set', async () => {
    const h = await startHarness('server: { watch_policies: true }\n');
    await h.warden.close();
    const logs: string[] = [];
    const stream = { write: (line: string) => logs.push(line) };
    const server = await serve(join(h.dir, 'warden.yaml'), { port: 0, logger: { level: 'error', stream }, modules: [] });
    try {
      const first = server.warden.policySet.bundle;
      const ask = async () =>
        (
          await fetch(`${server.url}/v1/tools/call`, {
            method: 'POST',
            headers: { authorization: `Bearer ${h.keys['refund-agent']}`, 'content-type': 'application/json' },
            body: JSON.stringify({ agent_id: 'refund-agent', request_id: `r-${Math.random()}`, tool: 'search_knowledge_base', arguments: {} }),
          })
        ).status;
      expect(await ask()).toBe(403);

      writeFileSync(join(h.dir, 'policies', 'kb.yaml'), 'id: kb\nversion: 1\nrules: [{id: finance-reads-kb, effect: allow, tools: [search_knowledge_base]}]\n');
      await until(() => server.warden.policySet.bundle !== first);
      expect(await ask()).toBe(200);
      const second = server.warden.policySet.bundle;

      writeFileSync(join(h.dir, 'policies', 'kb.yaml'), 'id: kb\nversion: 2\nrules: [{id: r, efect: allow}]\n');
      await until(() => logs.some((l) => l.includes('policy change refused')));
      expect(logs.join('')).toContain('unknown field \\"efect\\" in rules[0]');
      expect(server.warden.policySet.bundle).toBe(second);
      expect(await ask()).toBe(200);
    } finally {
      await server.close();
      await h.tools.close();
    }
  });
});
