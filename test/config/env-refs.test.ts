import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/warden.yaml', import.meta.url));
const TOOL = (url: string) => `tools:\n  - { name: t, http: { url: "${url}", headers: { authorization: "Bearer \${secret:tok}" } } }\n`;

describe('${env:…} references in warden.yaml', () => {
  it('are replaced by the environment, or by their default when the variable is unset or empty', () => {
    const text = TOOL('http://127.0.0.1:${env:TOOLS_PORT:-7410}/t') + 'server: { host: "${env:HOST:-127.0.0.1}" }\n';
    const set = parseConfig(text, 'warden.yaml', { TOOLS_PORT: '9001', HOST: '' });
    if (!set.ok) throw new Error(JSON.stringify(set.diagnostics));
    expect(set.config.tools[0]!.http!.url).toBe('http://127.0.0.1:9001/t');
    expect(set.config.server.host).toBe('127.0.0.1');
    const unset = parseConfig(text, 'warden.yaml', {});
    if (!unset.ok) throw new Error(JSON.stringify(unset.diagnostics));
    expect(unset.config.tools[0]!.http!.url).toBe('http://127.0.0.1:7410/t');
  });

  it('leave ${secret:…} references alone: secrets are resolved at execution, never at load', () => {
    const result = parseConfig(TOOL('http://x/${env:P:-1}'), 'warden.yaml', { secret: 'nope', tok: 'nope' });
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.config.tools[0]!.http!.headers.authorization).toBe('Bearer ${secret:tok}');
  });

  it('an unset variable without a default is an error naming the variable and the line', () => {
    const result = parseConfig('server:\n  host: "${env:WARDEN_TEST_UNSET_HOST}"\n', 'warden.yaml', {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ code: 'env', line: 2, message: expect.stringContaining('WARDEN_TEST_UNSET_HOST is not set (used at server.host)') }),
    ]);
  });

  it('the example config takes the example tools port from WARDEN_TOOLS_PORT', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const moved = parseConfig(text, EXAMPLE, { WARDEN_TOOLS_PORT: '17410' });
    if (!moved.ok) throw new Error(JSON.stringify(moved.diagnostics));
    const urls = moved.config.tools.flatMap((t) => (t.http ? [t.http.url] : []));
    expect(urls.length).toBeGreaterThan(5);
    for (const url of urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:17410\/tools\//);
  });
});
