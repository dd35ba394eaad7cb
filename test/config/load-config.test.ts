import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import { loadPolicyFolder } from '../../src/policy/load.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/warden.yaml', import.meta.url));

function errorsOf(text: string) {
  const result = parseConfig(text, 'warden.yaml');
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.diagnostics;
}

describe('warden.yaml', () => {
  it('the example config is valid, and its policies only name tools it declares or its MCP upstream serves', async () => {
    const result = await loadConfig(EXAMPLE);
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    const { config } = result;
    expect(config.agents.map((a) => a.id)).toContain('refund-agent');
    expect(config.policiesDir.endsWith('examples/policies')).toBe(true);
    // The docs.* tools come from the filesystem MCP server at run time; examples/tools.json lists them.
    const upstreamTools = (JSON.parse(readFileSync(join(config.baseDir, 'tools.json'), 'utf8')) as string[]).filter((t) => t.startsWith('docs.'));
    expect(config.upstreams.map((u) => u.name)).toEqual(['docs']);
    const loaded = await loadPolicyFolder(config.policiesDir, { knownTools: [...config.tools.map((t) => t.name), ...upstreamTools] });
    expect(loaded.diagnostics).toEqual([]);
  });

  it('fills safe defaults for an empty file', () => {
    const result = parseConfig('', 'warden.yaml');
    if (!result.ok) throw new Error('expected ok');
    expect(result.config).toMatchObject({
      storage: 'sqlite:./warden.db',
      registration: { auto_register_unknown: false },
      authentication: { clock_skew: '5m', replay_window: '10m' },
      arguments: { max_depth: 16 },
      audit: { durable_reads: false },
    });
  });

  it('reports a typo with its line and a suggestion', () => {
    const [d] = errorsOf('storage: sqlite:./x.db\nagents:\n  - id: a\n    trusst: high\n');
    expect(d).toMatchObject({ line: 4, column: 5, code: 'unknown-field', message: 'unknown field "trusst" in agents[0]', hint: 'did you mean "trust"?' });
  });

  it('reports invalid values where they are written', () => {
    expect(errorsOf('agents:\n  - { id: a, trust: root }\n')[0]).toMatchObject({ line: 2, message: expect.stringMatching(/^agents\[0\]\.trust: /) });
    expect(errorsOf('limits:\n  rate:\n    - { scope: agent, limit: 5, window: soon }\n')[0]?.message).toMatch(/must be a duration/);
    expect(errorsOf('agents:\n  - id: a\n    credentials:\n      - { key_id: k123, hmac_secret: "plain-secret" }\n')[0]?.message).toMatch(/secret reference/);
  });

  it('refuses duplicate agents, reused key ids, unsafe fail-open and non-http URLs', () => {
    expect(errorsOf('agents: [{id: a}, {id: a}]\n')[0]?.message).toBe('agent "a" is defined twice');
    const hash = `sha256:${'a'.repeat(64)}`;
    expect(errorsOf(`agents:\n  - { id: a, credentials: [{ key_id: k123, api_key_hash: "${hash}" }] }\n  - { id: b, credentials: [{ key_id: k123, api_key_hash: "${hash}" }] }\n`)[0]?.message).toBe('key id "k123" is used twice');
    expect(errorsOf('tools:\n  - { name: t, effect: write, fail_open: true }\n')[0]?.message).toMatch(/fail_open is only allowed for low-risk read tools/);
    expect(errorsOf('tools:\n  - { name: t, http: { url: "file:///etc/passwd" } }\n')[0]?.message).toMatch(/is not an http\(s\) URL/);
    expect(errorsOf('authentication: { clock_skew: 10m, replay_window: 1m }\n')[0]?.message).toBe('replay_window must be at least clock_skew');
  });

  it('reports malformed YAML and a missing file', async () => {
    expect(errorsOf('agents: [\n')[0]?.code).toBe('yaml');
    const missing = await loadConfig('/nonexistent/warden.yaml');
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.diagnostics[0]?.message).toMatch(/cannot read the config/);
  });
});
