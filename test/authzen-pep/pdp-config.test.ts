import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';

/** `pdp.authzen` and `mcp.authzen_mapping` in warden.yaml: safe defaults, clear refusals. */

const parse = (yaml: string) => parseConfig(yaml, 'warden.yaml', {});
const messages = (yaml: string) => {
  const result = parse(yaml);
  return result.ok ? [] : result.diagnostics.map((d) => `${d.message}`);
};

describe('pdp.authzen', () => {
  it('is off by default, and the COAZ mapping is on', () => {
    const result = parse('{}\n');
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.config.pdp.authzen).toBeUndefined();
    expect(result.config.mcp.authzen_mapping).toBe(true);
  });

  it('takes a URL, a secret reference, a timeout and a mode (combined by default)', () => {
    const result = parse('pdp: { authzen: { url: "https://pdp.example.com", credentials: "${secret:pdp_token}", timeout: 750ms } }\n');
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.config.pdp.authzen).toEqual({ url: 'https://pdp.example.com', credentials: '${secret:pdp_token}', timeout: '750ms', mode: 'combined' });
  });

  it.each([
    ['plain http to another host', 'pdp: { authzen: { url: "http://pdp.example.com" } }', 'must be https://'],
    ['a credential written in the file', 'pdp: { authzen: { url: "https://pdp.example.com", credentials: "Bearer abc" } }', 'must be a secret reference'],
    ['an unknown mode', 'pdp: { authzen: { url: "https://pdp.example.com", mode: first_applicable } }', 'combined'],
    ['an unknown key', 'pdp: { authzen: { url: "https://pdp.example.com", retries: 3 } }', 'retries'],
    ['a bad timeout', 'pdp: { authzen: { url: "https://pdp.example.com", timeout: soon } }', 'duration'],
  ])('refuses %s', (_name, yaml, message) => {
    expect(messages(`${yaml}\n`).join('\n')).toContain(message);
  });

  it('accepts plain http on this machine (a sidecar PDP)', () => {
    expect(parse('pdp: { authzen: { url: "http://127.0.0.1:8181/v1" } }\n').ok).toBe(true);
  });
});
