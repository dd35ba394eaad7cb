import { context, trace, type Span, type SpanOptions, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { gatewayModule } from '../../src/surfaces/http/mcp/gateway-http.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';

/**
 * A tracer provider that records what it is given: the @opentelemetry/api contract, without an
 * exporter (a collector is out of reach here). Real deployments register the OTel SDK instead.
 */
interface Recorded {
  name: string;
  attributes: Record<string, unknown>;
  ended: boolean;
}
const spans: Recorded[] = [];
const tracer: Tracer = {
  startSpan(name: string): Span {
    const record: Recorded = { name, attributes: {}, ended: false };
    spans.push(record);
    const span = trace.wrapSpanContext({ traceId: '0'.repeat(31) + '1', spanId: '0'.repeat(15) + '1', traceFlags: 1 });
    return Object.assign(Object.create(span) as Span, {
      setAttributes: (a: Record<string, unknown>) => (Object.assign(record.attributes, a), span),
      setAttribute: (k: string, v: unknown) => ((record.attributes[k] = v), span),
      setStatus: () => span,
      end: () => void (record.ended = true),
      isRecording: () => true,
    });
  },
  startActiveSpan(name: string, ...rest: unknown[]) {
    const fn = rest[rest.length - 1] as (span: Span) => unknown;
    const span = this.startSpan(name, rest[0] as SpanOptions);
    return context.with(trace.setSpan(context.active(), span), () => fn(span));
  },
} as Tracer;
const provider: TracerProvider = { getTracer: () => tracer };

let h: Harness;
const logs: string[] = [];

beforeAll(async () => {
  trace.setGlobalTracerProvider(provider);
  // The access log is on here: the 'tool call' line is what carries the caller's trace id.
  h = await startHarness('server: { access_log: true }', { realClock: true });
});
afterAll(async () => {
  trace.disable();
  await h.close();
});

it('emits a span per tool call and logs with the W3C trace id of the caller', async () => {
  const app = await buildServer(h.warden, { logger: { level: 'info', stream: { write: (l: string) => logs.push(l) } } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await fetch(`http://127.0.0.1:${port}/v1/tools/call`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.keys['support-agent']}`, 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    body: JSON.stringify({ agent_id: 'support-agent', request_id: nextRequestId(), tool: 'read_orders', arguments: {} }),
  });
  expect(res.status).toBe(200);
  await app.close();
  const span = spans.find((s) => s.name === 'warden.tool_call');
  expect(span).toMatchObject({ ended: true, attributes: { 'warden.agent': 'support-agent', 'warden.tool': 'read_orders', 'warden.effect': 'allow', 'warden.status': 'executed' } });
  const lines = logs.map((l) => JSON.parse(l) as { reqId?: string; msg?: string; audit?: string });
  const call = lines.find((l) => l.msg === 'tool call');
  expect(call?.reqId).toBe(traceId);
  await h.warden.audit.flush();
  expect((await h.warden.store.getDecision(call!.audit!))?.traceId).toBe(traceId);
});

it('counts and traces every surface in the pipeline: the MCP gateway and the SDK as well as HTTP', async () => {
  spans.length = 0;
  const app = await buildServer(h.warden, { logger: false }, [gatewayModule]);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  try {
    // The MCP gateway, driven by the official SDK client.
    const client = new Client({ name: 'telemetry-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${h.keys['support-agent']}` } } }));
    const viaMcp = await client.callTool({ name: 'read_orders', arguments: {} });
    expect(viaMcp.isError).toBeFalsy();
    await client.close();
    // The SDK, in process.
    const viaSdk = await h.warden.call({ agentId: 'support-agent', tool: 'read_orders', args: {} });
    expect(viaSdk.status).toBe('executed');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const surface of ['mcp', 'sdk']) {
      expect(metrics).toMatch(new RegExp(`warden_decisions_total\\{effect="allow",tool="read_orders",stage="policy",status="executed",surface="${surface}"\\} 1`));
      expect(metrics).toMatch(new RegExp(`warden_pipeline_duration_seconds_count\\{surface="${surface}",kind="call"\\} 1`));
    }
    const traced = spans.filter((s) => s.name === 'warden.tool_call').map((s) => s.attributes['warden.surface']);
    expect(traced.sort()).toEqual(['mcp', 'sdk']);
    expect(spans.every((s) => s.ended)).toBe(true);
  } finally {
    await app.close();
  }
});
