import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { displayUrl, HttpTool } from '../../src/upstream/http-tool.js';
import { EnvSecretProvider, SecretResolver } from '../../src/upstream/secrets.js';

/**
 * An HTTP tool Warden cannot reach: the message names the tool and where it was called, and
 * nothing that may be a credential — no resolved secret, no user info, no query string.
 */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('an unreachable HTTP tool', () => {
  it('names the tool and its configured URL, without secrets, user info or query', async () => {
    const port = await closedPort();
    process.env.WARDEN_TEST_UNREACHABLE_KEY = 'super-secret-value-1234';
    try {
      const secrets = new SecretResolver([new EnvSecretProvider('WARDEN_TEST_UNREACHABLE_')]);
      const tool = new HttpTool(
        { tool: 'send_report', url: `http://ops:\${secret:key}@127.0.0.1:${port}/reports/send?api_key=\${secret:key}&x=literal-token`, method: 'POST', headers: { authorization: 'Bearer ${secret:key}' }, timeoutMs: 5_000, maxResponseBytes: 1_000 },
        secrets,
      );
      const result = await tool.call({ args: {}, requestId: 'r-1', agentId: 'a' });
      expect(result).toEqual({ ok: false, kind: 'network', message: `tool "send_report" could not be reached at http://127.0.0.1:${port}/reports/send (ECONNREFUSED): is its server running?` });
    } finally {
      delete process.env.WARDEN_TEST_UNREACHABLE_KEY;
    }
  });

  it('names the tool whose secret is missing', async () => {
    const secrets = new SecretResolver([new EnvSecretProvider('WARDEN_TEST_UNSET_')]);
    const tool = new HttpTool({ tool: 'send_report', url: 'http://127.0.0.1:1/x', method: 'POST', headers: { authorization: 'Bearer ${secret:nope}' }, timeoutMs: 1_000, maxResponseBytes: 1_000 }, secrets);
    const result = await tool.call({ args: {}, requestId: 'r-2', agentId: 'a' });
    expect(result).toMatchObject({ ok: false, kind: 'secret', message: expect.stringMatching(/^tool "send_report": secret "nope" is not set \(looked in: environment variable WARDEN_TEST_UNSET_NOPE\)$/) });
  });

  it('shows a URL template without what may hold a credential', () => {
    expect(displayUrl('https://user:pw@api.example.com/v1/x?token=abc#frag')).toBe('https://api.example.com/v1/x');
    expect(displayUrl('https://${secret:host}/hook')).toBe('https://${secret:host}/hook');
    expect(displayUrl('http://127.0.0.1:9000/lookup_customer')).toBe('http://127.0.0.1:9000/lookup_customer');
  });
});
