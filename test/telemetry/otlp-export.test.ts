import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry } from '../../src/index.js';
import { createWarden } from '../../src/services/warden.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';
import { runGatewayStdio } from '../../src/surfaces/mcp/gateway-stdio.js';
import { runGovernanceStdio } from '../../src/surfaces/mcp/governance-stdio.js';
import { teardown } from '../helpers/teardown.js';
import { deadEndpoint, KIND, OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { requestId, SECRETS, startToolService, telemetryBlock, writeSetup, type ToolService } from './setup.js';

/**
 * Issue 13, telemetry: a real `warden serve` (in process) exports its traces and metrics over
 * OTLP/HTTP to a real receiver (otlp-receiver.ts), each flushed by shutting the server down.
 */

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

let tools: ToolService;
beforeAll(async () => {
  tools = await startToolService();
});
afterAll(async () => {
  await tools?.close();
});

const callTool = (server: RunningServer, key: string, tool: string, args: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v1/tools/call`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ agent_id: 'tele-agent', request_id: requestId(), tool, arguments: args }),
  });

const decide = (server: RunningServer, key: string, tool: string, args: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v1/decisions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ tenant: 'acme', actor: { agent: { id: 'tele-agent', roles: ['support'], trust: 'medium' } }, action: 'tool.call', resource: { type: 'tool', id: tool }, args }),
  });

async function mcpClient(url: string, key: string): Promise<Client> {
  const client = new Client({ name: 'telemetry-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

describe('telemetry on: a real serve, a real OTLP/HTTP receiver', () => {
  let receiver: OtlpReceiver;
  let server: RunningServer | undefined;
  let spans: ReceivedSpan[] = [];
  // The caller's trace: Warden must join it.
  const caller = { traceId: hex(16), spanId: hex(8) };
  const decisionCaller = { traceId: hex(16), spanId: hex(8) };
  const largeCaller = { traceId: hex(16), spanId: hex(8) };
  const unsampled = { traceId: hex(16), spanId: hex(8) };
  const answers: Record<string, number> = {};

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    const setup = writeSetup(tools.url, telemetryBlock(receiver.url));
    server = await serve(setup.file, { host: '127.0.0.1', port: 0, logger: false });
    tools.calls.length = 0;
    const args = { note: SECRETS.argument };
    answers.call = (await callTool(server, setup.key, 'echo', args, { traceparent: `00-${caller.traceId}-${caller.spanId}-01` })).status;
    // A body that arrives in many TCP reads: the handler runs from the stream's last 'data'/'end'.
    answers.large = (await callTool(server, setup.key, 'echo', { ...args, padding: 'x'.repeat(200_000) }, { traceparent: `00-${largeCaller.traceId}-${largeCaller.spanId}-01` })).status;
    // A caller whose trace is not sampled (flags 00): parent-based sampling records nothing of it.
    answers.unsampled = (await callTool(server, setup.key, 'echo', args, { traceparent: `00-${unsampled.traceId}-${unsampled.spanId}-00` })).status;
    answers.denied = (await callTool(server, setup.key, 'wipe_disk', args)).status;
    answers.decision = (await decide(server, setup.key, 'echo', args, { traceparent: `00-${decisionCaller.traceId}-${decisionCaller.spanId}-01` })).status;
    const gateway = await mcpClient(`${server.url}/mcp`, setup.key);
    answers.mcp = (await gateway.callTool({ name: 'echo', arguments: args })).isError ? 500 : 200;
    await gateway.close();
    const governance = await mcpClient(`${server.url}/mcp/governance`, setup.key);
    answers.governance = (await governance.callTool({ name: 'validate_action', arguments: { tool: 'echo', arguments: args } })).isError ? 500 : 200;
    await governance.close();
    // Shutting down flushes: every span ended so far and a last round of metrics are exported.
    await server.close();
    spans = receiver.spans();
  });

  afterAll(async () => {
    await teardown({ server: () => server?.close() ?? Promise.resolve(), receiver: () => receiver.close() });
  });

  const only = (predicate: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
    const found = spans.filter(predicate);
    expect(found, `${what}: ${found.length} spans; got ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
    return found[0]!;
  };
  const childrenOf = (parent: ReceivedSpan) => spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);

  it('answers every request as usual', () => {
    expect(answers).toEqual({ call: 200, large: 200, unsampled: 200, denied: 403, decision: 200, mcp: 200, governance: 200 });
  });

  it('joins the caller\'s trace: the HTTP server span is the child of its traceparent and the parent of the pipeline\'s spans', () => {
    const http = only((s) => s.traceId === caller.traceId && s.kind === KIND.server, 'server span of the traced call');
    expect(http).toMatchObject({ name: 'POST /v1/tools/call', parentSpanId: caller.spanId, attributes: { 'http.route': '/v1/tools/call', 'http.request.method': 'POST', 'http.response.status_code': 200 } });
    const call = only((s) => s.name === 'warden.tool_call' && s.traceId === caller.traceId, 'pipeline span');
    expect(call.parentSpanId).toBe(http.spanId);
    expect(call.attributes).toMatchObject({ 'warden.agent': 'tele-agent', 'warden.tool': 'echo', 'warden.surface': 'http', 'warden.effect': 'allow', 'warden.status': 'executed', 'warden.rule': 'support-may-echo', 'warden.policy': 'echo-policy', 'warden.tenant': 'acme' });
    // The tool runs in a client span under the pipeline's, and is sent that span's traceparent.
    const execute = only((s) => s.name === 'warden.execute' && s.traceId === caller.traceId, 'client span of the tool');
    expect(execute).toMatchObject({ kind: KIND.client, parentSpanId: call.spanId, attributes: { 'warden.tool': 'echo' } });
    expect(tools.calls.find((c) => c.path === '/tools/echo' && String(c.headers.traceparent).includes(caller.traceId))?.headers.traceparent).toBe(`00-${caller.traceId}-${execute.spanId}-01`);
  });

  it('keeps the nesting for a large body, read in many chunks', () => {
    const http = only((s) => s.traceId === largeCaller.traceId && s.kind === KIND.server, 'server span of the large call');
    expect(childrenOf(http).map((s) => s.name)).toEqual(['warden.tool_call']);
  });

  it('honours a caller\'s decision not to sample: no span of that trace, and the tool is told so', () => {
    expect(spans.filter((s) => s.traceId === unsampled.traceId)).toEqual([]);
    const sent = tools.calls.map((c) => String(c.headers.traceparent)).filter((t) => t.includes(unsampled.traceId));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(new RegExp(`^00-${unsampled.traceId}-[0-9a-f]{16}-00$`));
  });

  it('traces a deny and a decision with the rule and stage that decided, under their HTTP spans', () => {
    const denied = only((s) => s.name === 'warden.tool_call' && s.attributes['warden.tool'] === 'wipe_disk', 'denied call');
    expect(denied.attributes).toMatchObject({ 'warden.effect': 'deny', 'warden.status': 'denied' });
    expect(spans.find((s) => s.spanId === denied.parentSpanId)).toMatchObject({ name: 'POST /v1/tools/call', attributes: { 'http.response.status_code': 403 } });
    expect(childrenOf(denied).map((s) => s.name)).toEqual([]); // nothing executed

    const http = only((s) => s.traceId === decisionCaller.traceId && s.kind === KIND.server, 'server span of the decision');
    expect(http).toMatchObject({ name: 'POST /v1/decisions', parentSpanId: decisionCaller.spanId });
    expect(childrenOf(http).map((s) => [s.name, s.attributes['warden.effect'], s.attributes['warden.rule']])).toEqual([['warden.decision', 'allow', 'support-may-echo']]);
  });

  it('traces MCP requests on /mcp and /mcp/governance: POST /mcp → tools/call echo → the pipeline', () => {
    const mcp = only((s) => s.name === 'tools/call echo', 'MCP gateway span');
    expect(mcp).toMatchObject({ kind: KIND.server, attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'echo', 'warden.surface': 'mcp', 'warden.agent': 'tele-agent' } });
    expect(spans.find((s) => s.spanId === mcp.parentSpanId)?.name).toBe('POST /mcp');
    const call = only((s) => s.name === 'warden.tool_call' && s.attributes['warden.surface'] === 'mcp', 'pipeline span of the MCP call');
    expect(call.parentSpanId).toBe(mcp.spanId);
    expect(childrenOf(call).map((s) => s.name)).toEqual(['warden.execute']);

    const validate = only((s) => s.name === 'tools/call validate_action', 'governance span');
    expect(validate.attributes).toMatchObject({ 'warden.surface': 'governance', 'warden.agent': 'tele-agent' });
    expect(spans.find((s) => s.spanId === validate.parentSpanId)?.name).toBe('POST /mcp/governance');
    expect(childrenOf(validate).map((s) => s.name)).toEqual(['warden.dry_run']);
  });

  it('names the service: service.name, version and instance, and the configured resource attributes', () => {
    const resource = spans[0]!.resource;
    expect(resource).toMatchObject({ 'service.name': 'warden-under-test', 'deployment.environment.name': 'test' });
    expect(resource['service.version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(resource['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never exports an argument, a secret or a token: not one byte of them reaches the collector', () => {
    expect(receiver.requests.length).toBeGreaterThan(0);
    const bodies = receiver.requests.map((r) => r.body.toString('utf8')).join('\n');
    // The planted values were really sent through every surface (the tool got its token, so the
    // check below is about telemetry, not about values that never existed).
    expect(tools.calls.some((c) => c.headers.authorization === `Bearer ${SECRETS.toolToken}`)).toBe(true);
    for (const [name, value] of Object.entries(SECRETS)) {
      if (name === 'otlpToken') continue;
      expect(receiver.everything().includes(value), `${name} leaked into telemetry`).toBe(false);
    }
    // The collector's own token travels where it belongs, in the export's header, never in a body.
    expect(receiver.requests.every((r) => r.headers.authorization === `Bearer ${SECRETS.otlpToken}`)).toBe(true);
    expect(bodies.includes(SECRETS.otlpToken)).toBe(false);
    expect(bodies).not.toMatch(/wk_[A-Za-z0-9]+_/); // no agent API key
  });

  it('exports the pipeline\'s metrics: decisions by effect and surface, latency, gauges', () => {
    const metrics = receiver.metrics();
    const decisions = metrics.filter((m) => m.name === 'warden.decisions').flatMap((m) => m.points);
    const count = (attributes: Record<string, unknown>) => decisions.filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + p.value, 0);
    expect(count({ surface: 'http', effect: 'allow', status: 'executed', tool: 'echo' })).toBe(3);
    expect(count({ surface: 'http', effect: 'deny', tool: 'wipe_disk' })).toBe(1);
    expect(count({ surface: 'mcp', effect: 'allow', status: 'executed' })).toBe(1);
    const timed = metrics.filter((m) => m.name === 'warden.pipeline.duration').flatMap((m) => m.points);
    const timedCount = (kind: string) => timed.filter((p) => p.attributes.kind === kind).reduce((n, p) => n + p.value, 0);
    expect([timedCount('call'), timedCount('decision'), timedCount('dry_run')]).toEqual([5, 1, 1]);
    expect(metrics.map((m) => m.name)).toEqual(expect.arrayContaining(['warden.audit.queue.depth', 'warden.policy.rules']));
  });
});

/**
 * Drives an MCP server over stdio in process: initialize, then one tools/call carrying a
 * `traceparent` in `_meta`; then the client goes away (standard input ends). Resolves with the
 * call's result and the exit code, once the session ended, the log was written and telemetry flushed.
 */
async function stdioCall(
  run: (streams: { stdin: PassThrough; stdout: PassThrough; stderr: PassThrough }) => Promise<number>,
  params: Record<string, unknown>,
): Promise<{ result?: { isError?: boolean }; code: number }> {
  const [stdin, stdout, stderr] = [new PassThrough(), new PassThrough(), new PassThrough()];
  let buffered = '';
  const answered = new Promise<{ isError?: boolean } | undefined>((resolve) =>
    stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const message = JSON.parse(buffered.slice(0, nl)) as { id?: number; result?: { isError?: boolean } };
        buffered = buffered.slice(nl + 1);
        if (message.id === 2) resolve(message.result);
      }
    }),
  );
  const exited = run({ stdin, stdout, stderr });
  const send = (message: object) => stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'stdio-test', version: '1' } } });
  send({ method: 'notifications/initialized' });
  send({ id: 2, method: 'tools/call', params });
  const result = await answered;
  stdin.end();
  return { result, code: await exited };
}

describe('telemetry over stdio (warden mcp, warden mcp governance)', () => {
  it('the gateway traces each MCP request, joining a traceparent the client sends in _meta', async () => {
    const receiver = await OtlpReceiver.start();
    try {
      const setup = writeSetup(tools.url, telemetryBlock(receiver.url));
      const trace = { traceId: hex(16), spanId: hex(8) };
      const { result, code } = await stdioCall((streams) => runGatewayStdio(setup.file, { agent: 'tele-agent', ...streams }), {
        name: 'echo',
        arguments: { note: SECRETS.argument },
        _meta: { traceparent: `00-${trace.traceId}-${trace.spanId}-01` },
      });
      expect([result?.isError ?? false, code]).toEqual([false, 0]);
      const spans = receiver.spans();
      const mcp = spans.find((s) => s.name === 'tools/call echo');
      expect(mcp).toMatchObject({ traceId: trace.traceId, parentSpanId: trace.spanId, kind: KIND.server });
      expect(spans.find((s) => s.name === 'warden.tool_call')).toMatchObject({ traceId: trace.traceId, parentSpanId: mcp!.spanId, attributes: { 'warden.surface': 'mcp' } });
      expect(receiver.everything().includes(SECRETS.argument)).toBe(false);
    } finally {
      await receiver.close();
    }
  });

  it('the governance server traces validate_action and its dry run', async () => {
    const receiver = await OtlpReceiver.start();
    try {
      const setup = writeSetup(tools.url, telemetryBlock(receiver.url));
      const trace = { traceId: hex(16), spanId: hex(8) };
      const { result, code } = await stdioCall((streams) => runGovernanceStdio(setup.file, 'tele-agent', streams), {
        name: 'validate_action',
        arguments: { tool: 'echo', arguments: { note: SECRETS.argument } },
        _meta: { traceparent: `00-${trace.traceId}-${trace.spanId}-01` },
      });
      expect([result?.isError ?? false, code]).toEqual([false, 0]);
      const spans = receiver.spans();
      const validate = spans.find((s) => s.name === 'tools/call validate_action');
      expect(validate).toMatchObject({ traceId: trace.traceId, parentSpanId: trace.spanId, attributes: { 'warden.surface': 'governance', 'warden.agent': 'tele-agent' } });
      expect(spans.find((s) => s.name === 'warden.dry_run')).toMatchObject({ parentSpanId: validate!.spanId, attributes: { 'warden.effect': 'allow' } });
      expect(receiver.everything().includes(SECRETS.argument)).toBe(false);
    } finally {
      await receiver.close();
    }
  });
});

describe('telemetry that cannot or must not send', () => {
  it('off (traces and metrics not enabled): the receiver gets nothing, even with an endpoint set', async () => {
    const receiver = await OtlpReceiver.start();
    try {
      const setup = writeSetup(tools.url, telemetryBlock(receiver.url, { enabled: false }));
      const server = await serve(setup.file, { host: '127.0.0.1', port: 0, logger: false });
      expect(server.telemetry).toMatchObject({ traces: false, metrics: false });
      expect((await callTool(server, setup.key, 'echo', { note: 'x' })).status).toBe(200);
      expect((await decide(server, setup.key, 'echo', {})).status).toBe(200);
      await server.close();
      expect(receiver.requests).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('a collector that is down: every request still succeeds, the failures are counted on /metrics and logged', async () => {
    const setup = writeSetup(tools.url, telemetryBlock(await deadEndpoint(), { timeout: '1s' }));
    const logs: string[] = [];
    const server = await serve(setup.file, { host: '127.0.0.1', port: 0, logger: { level: 'warn', stream: { write: (line: string) => logs.push(line) } } });
    try {
      expect(server.telemetry).toMatchObject({ traces: true, metrics: true });
      for (let i = 0; i < 5; i++) expect((await callTool(server, setup.key, 'echo', { n: i })).status).toBe(200);
      expect((await decide(server, setup.key, 'echo', {})).status).toBe(200);
    } finally {
      await server.close();
    }
    // Shutdown tried to export the spans and the metrics; both failed and were counted.
    expect(server.telemetry.failures.traces).toBeGreaterThan(0);
    expect(server.telemetry.failures.metrics).toBeGreaterThan(0);
    const warnings = logs.map((l) => JSON.parse(l) as { component?: string; msg: string }).filter((l) => l.component === 'telemetry');
    expect(warnings.map((w) => w.msg).join('\n')).toMatch(/exports? of traces failed/);
    expect(warnings.every((w) => !w.msg.includes(SECRETS.otlpToken))).toBe(true);
  });

  it('the failure counter is served on /metrics while the server runs', async () => {
    const setup = writeSetup(tools.url, telemetryBlock(await deadEndpoint(), { timeout: '1s' }));
    const server = await serve(setup.file, { host: '127.0.0.1', port: 0, logger: false });
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toContain('warden_telemetry_export_failures_total{signal="traces"} 0');
    } finally {
      await server.close();
    }
  });

  it('a collector that accepts and never answers: requests succeed and shutdown ends (each export bounded by otlp.timeout)', async () => {
    const receiver = await OtlpReceiver.start({ hang: true });
    try {
      const setup = writeSetup(tools.url, telemetryBlock(receiver.url, { timeout: '500ms' }));
      const server = await serve(setup.file, { host: '127.0.0.1', port: 0, logger: false });
      for (let i = 0; i < 3; i++) expect((await callTool(server, setup.key, 'echo', {})).status).toBe(200);
      await server.close();
      expect(receiver.requests.length).toBeGreaterThan(0); // it was tried
      expect(server.telemetry.failures.traces + server.telemetry.failures.metrics).toBeGreaterThan(0);
    } finally {
      await receiver.close();
    }
  });

  it('an export header whose secret is not set stops the start with a clear error', async () => {
    const setup = writeSetup(tools.url, telemetryBlock('http://127.0.0.1:9').replace('${secret:otlp_token}', '${secret:no_such_secret}'));
    await expect(serve(setup.file, { host: '127.0.0.1', port: 0, logger: false })).rejects.toThrow(/telemetry\.otlp\.headers: secret "no_such_secret" is not set/);
  });
});

describe('the embedded SDK (createWarden)', () => {
  it('starts no SDK of its own, even with telemetry enabled; startTelemetry(warden) does, when asked', async () => {
    const receiver = await OtlpReceiver.start();
    try {
      const setup = writeSetup(tools.url, telemetryBlock(receiver.url));
      const warden = await createWarden({ config: setup.file });
      try {
        expect((await warden.call({ agentId: 'tele-agent', tool: 'echo', args: { note: SECRETS.argument } })).status).toBe('executed');
        expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
        const telemetry = await startTelemetry(warden);
        expect((await warden.call({ agentId: 'tele-agent', tool: 'echo', args: {} })).status).toBe('executed');
        await telemetry.shutdown();
      } finally {
        await warden.close();
      }
      // Only the call made after startTelemetry was traced (and only via the SDK surface).
      const calls = receiver.spans().filter((s) => s.name === 'warden.tool_call');
      expect(calls.map((s) => s.attributes['warden.surface'])).toEqual(['sdk']);
      expect(receiver.metrics().find((m) => m.name === 'warden.decisions')?.points.reduce((n, p) => n + p.value, 0)).toBe(1);
    } finally {
      await receiver.close();
    }
  });
});
