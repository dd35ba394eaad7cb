import { randomUUID } from 'node:crypto';
import { isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';
import { request, type Dispatcher } from 'undici';
import type { JsonObject, JsonValue } from '../model/json.js';
import { maskSecrets, type SecretResolver } from './secrets.js';

export interface HttpToolTarget {
  url: string;
  method: 'POST' | 'PUT' | 'PATCH' | 'GET' | 'DELETE';
  headers: Record<string, string>;
  timeoutMs: number;
  maxResponseBytes: number;
  /** The tool's name, for messages (which tool could not be reached). */
  tool?: string;
}

export interface HttpCall {
  args: JsonObject;
  requestId: string;
  agentId: string;
  traceId?: string;
  idempotencyKey?: string;
}

export type HttpToolResult =
  | { ok: true; status: number; result: JsonValue }
  | { ok: false; kind: 'timeout' | 'too_large' | 'status' | 'network' | 'secret'; message: string; status?: number };

/**
 * Calls a tool served over HTTP. Secrets in the URL and headers are resolved here and only here,
 * so they never exist in the request the agent sent, the decision, or the log. Errors are
 * returned, not thrown, and their messages never contain a resolved secret. There is no retry:
 * a tool that is not idempotent must not run twice because a response was slow. undici's
 * `request` on its keep-alive pool rather than `fetch`: measured in bench/http, fetch's web
 * streams cost ~1 ms of CPU per call.
 */
/**
 * A caller's string as an HTTP header value: as is when it is printable ASCII, else
 * percent-encoded (a request id or idempotency key may hold any Unicode, a header may not).
 */
function headerValue(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text);
}

export async function callHttpTool(target: HttpToolTarget, call: HttpCall, secrets: SecretResolver): Promise<HttpToolResult> {
  let url: string;
  const headers: Record<string, string> = {};
  const injected = new Set<string>();
  try {
    url = await secrets.interpolate(target.url, injected);
    for (const [name, value] of Object.entries(target.headers)) headers[name.toLowerCase()] = await secrets.interpolate(value, injected);
  } catch (e) {
    return { ok: false, kind: 'secret', message: `${toolName(target)}: ${(e as Error).message}` };
  }
  headers['x-warden-request-id'] = headerValue(call.requestId);
  headers['x-warden-agent'] = headerValue(call.agentId);
  const traceparent = traceparentFor(call.traceId);
  if (traceparent) headers.traceparent = traceparent;
  if (call.idempotencyKey) headers['idempotency-key'] = headerValue(call.idempotencyKey);

  const hasBody = target.method !== 'GET' && target.method !== 'DELETE';
  if (hasBody) headers['content-type'] = 'application/json';
  else url = withQuery(url, call.args);

  // The idle timeouts below do not bound a tool that drips its answer; this timer does. One timer,
  // cleared when the answer is in: AbortSignal.timeout would leave one armed per call until it fires.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), target.timeoutMs);
  let raw: string | undefined;
  let response: Dispatcher.ResponseData<unknown>;
  try {
    try {
      response = await request(url, {
        method: target.method,
        headers,
        body: hasBody ? JSON.stringify(call.args) : undefined,
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
        signal: deadline.signal,
      });
    } catch (e) {
      return failure(e as Error, target, deadline.signal.aborted);
    }
    try {
      raw = await readLimited(response, target.maxResponseBytes);
    } catch (e) {
      return failure(e as Error, target, deadline.signal.aborted);
    }
  } finally {
    clearTimeout(timer);
  }
  if (raw === undefined) {
    return { ok: false, kind: 'too_large', message: `the tool's response exceeded ${target.maxResponseBytes} bytes` };
  }
  const body = maskSecrets(raw, injected);
  if (response.statusCode < 200 || response.statusCode >= 300) {
    return { ok: false, kind: 'status', status: response.statusCode, message: `the tool answered HTTP ${response.statusCode}` };
  }
  const type = String(response.headers['content-type'] ?? '');
  if (type.includes('json') && body.length > 0) {
    try {
      return { ok: true, status: response.statusCode, result: JSON.parse(body) as JsonValue };
    } catch {
      return { ok: false, kind: 'status', status: response.statusCode, message: 'the tool answered invalid JSON' };
    }
  }
  return { ok: true, status: response.statusCode, result: body };
}

function failure(error: Error, target: HttpToolTarget, timedOut: boolean): HttpToolResult {
  const code = (error as Error & { code?: string }).code;
  if (timedOut || error.name === 'TimeoutError' || error.name === 'AbortError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { ok: false, kind: 'timeout', message: `the tool did not answer within ${target.timeoutMs} ms` };
  }
  return { ok: false, kind: 'network', message: `${toolName(target)} could not be reached at ${displayUrl(target.url)} (${describeNetworkError(error)}): is its server running?` };
}

function toolName(target: HttpToolTarget): string {
  return target.tool ? `tool "${target.tool}"` : 'the tool';
}

/**
 * The configured URL as it may be shown: the template (a `\${secret:…}` stays a reference, never
 * its value), without user info, query or fragment, where a literal credential could sit.
 */
export function displayUrl(template: string): string {
  return template.split(/[?#]/, 1)[0]!.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

async function readLimited(response: Dispatcher.ResponseData<unknown>, limit: number): Promise<string | undefined> {
  const declared = Number(response.headers['content-length'] ?? NaN);
  if (declared > limit) {
    response.body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      response.body.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function withQuery(url: string, args: JsonObject): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(args)) u.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  return u.toString();
}

/** The error code (ECONNREFUSED, ENOTFOUND…), never the message: it may quote a URL holding a secret. */
function describeNetworkError(error: Error): string {
  const e = error as Error & { code?: string; cause?: { code?: string } };
  return e.code ?? e.cause?.code ?? error.name;
}

/**
 * The `traceparent` a tool is sent: the active span's (Warden's client span for this call, when
 * tracing is on), so the tool's spans nest under it; else the caller's trace id with a span id of
 * its own. Formatted here rather than through a propagator: one header, no global state needed.
 */
export function traceparentFor(traceId: string | undefined): string | undefined {
  const active = trace.getActiveSpan()?.spanContext();
  if (active && isSpanContextValid(active)) return `00-${active.traceId}-${active.spanId}-${(active.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '01' : '00'}`;
  return traceId && /^[0-9a-f]{32}$/.test(traceId) ? `00-${traceId}-${randomSpanId()}-01` : undefined;
}

function randomSpanId(): string {
  // randomUUID draws from a cached entropy pool; randomBytes is a syscall per call.
  return randomUUID().replace(/-/g, '').slice(0, 16);
}
