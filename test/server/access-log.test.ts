import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/surfaces/http/server.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/**
 * Quiet by default: no log line per request at level info (the decision log is the record of
 * every decision); `server.access_log: true` brings fastify's request lines and one line per tool
 * call back.
 */
async function logLinesOfOneToolCall(h: Harness): Promise<Array<{ msg?: string; reqId?: string; audit?: string }>> {
  const logs: string[] = [];
  const app = await buildServer(h.warden, { logger: { level: 'info', stream: { write: (line: string) => logs.push(line) } } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const res = await fetch(`http://127.0.0.1:${port}/v1/tools/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.keys['support-agent']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: 'support-agent', request_id: nextRequestId(), tool: 'read_orders', arguments: {} }),
    });
    expect(res.status).toBe(200);
    await res.text();
  } finally {
    await app.close();
  }
  return logs.map((line) => JSON.parse(line) as { msg?: string; reqId?: string; audit?: string });
}

describe('access log off (the default)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  it('writes no line per request or tool call at level info', async () => {
    expect(h.warden.config.server.access_log).toBe(false);
    const lines = await logLinesOfOneToolCall(h);
    const perRequest = lines.filter((l) => l.reqId !== undefined || l.msg === 'tool call');
    expect(perRequest).toEqual([]);
  });
});

describe('access log on (server.access_log: true)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('server: { access_log: true }');
  });
  afterAll(async () => h?.close());

  it('writes the request, the response and the tool call, tied by the request id', async () => {
    const lines = await logLinesOfOneToolCall(h);
    const messages = lines.map((l) => l.msg);
    expect(messages).toEqual(expect.arrayContaining(['incoming request', 'tool call', 'request completed']));
    const call = lines.find((l) => l.msg === 'tool call')!;
    expect(call.audit).toMatch(/^dec_/);
    expect(new Set(lines.filter((l) => l.reqId !== undefined).map((l) => l.reqId)).size).toBe(1);
  });
});
