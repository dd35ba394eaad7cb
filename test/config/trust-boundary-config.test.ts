/** The configuration keys of the trust-boundary checks: defaults, and what is refused. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';

const parse = (text: string) => parseConfig(text, 'warden.yaml');

describe('warden.yaml: timeouts, token lifetimes, argument keys', () => {
  it('has safe defaults', () => {
    const result = parse('authentication: { agent_jwt: { issuer: "https://idp.example", audience: warden } }\nhumans: { oidc: { issuer: "https://idp.example", audience: ui } }');
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics));
    expect(result.config.server).toMatchObject({ headers_timeout: '10s', request_timeout: '30s', keep_alive_timeout: '72s' });
    expect(result.config.authentication.agent_jwt?.max_lifetime).toBe('1h');
    expect(result.config.humans.oidc?.max_lifetime).toBe('12h');
    expect(result.config.arguments.forbidden_patterns).toEqual(expect.arrayContaining(['secret', 'token', 'password', 'private_key', 'api_key', 'access_key', 'credential']));
    expect(result.config.arguments.allowed_keys).toEqual(expect.arrayContaining(['page_token', 'next_page_token']));
  });

  it('refuses timeouts of 0 and headers_timeout longer than request_timeout', () => {
    const zero = parse('server: { keep_alive_timeout: 0s }');
    expect(zero.ok).toBe(false);
    if (!zero.ok) expect(zero.diagnostics[0]!.message).toContain('keep_alive_timeout must be longer than 0s');
    const inverted = parse('server: { headers_timeout: 1m, request_timeout: 30s }');
    expect(inverted.ok).toBe(false);
    if (!inverted.ok) expect(inverted.diagnostics[0]!.message).toContain('headers_timeout must not be longer than request_timeout');
    expect(parse('authentication: { agent_jwt: { issuer: "https://idp.example", audience: w, max_lifetime: forever } }').ok).toBe(false);
  });
});
