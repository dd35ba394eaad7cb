import { randomBytes } from 'node:crypto';
import type { JsonObject, JsonValue } from '../model/json.js';
import { maskSecrets, type SecretResolver } from './secrets.js';

export interface HttpToolTarget {
  url: string;
  method: 'POST' | 'PUT' | 'PATCH' | 'GET' | 'DELETE';
  headers: Record<string, string>;
  timeoutMs: number;
  maxResponseBytes: number;
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
 * a tool that is not idempotent must not run twice because a response was slow.
 */
export async function callHttpTool(target: HttpToolTarget, call: HttpCall, secrets: SecretResolver): Promise<HttpToolResult> {
  let url: string;
  const headers: Record<string, string> = {};
  const injected = new Set<string>();
  try {
    url = await secrets.interpolate(target.url, injected);
    for (const [name, value] of Object.entries(target.headers)) headers[name.toLowerCase()] = await secrets.interpolate(value, injected);
  } catch (e) {
    return { ok: false, kind: 'secret', message: (e as Error).message };
  }
  headers['x-warden-request-id'] = call.requestId;
  headers['x-warden-agent'] = call.agentId;
  if (call.traceId && /^[0-9a-f]{32}$/.test(call.traceId)) headers.traceparent = `00-${call.traceId}-${randomSpanId()}-01`;
  if (call.idempotencyKey) headers['idempotency-key'] = call.idempotencyKey;

  const hasBody = target.method !== 'GET' && target.method !== 'DELETE';
  if (hasBody) headers['content-type'] = 'application/json';
  else url = withQuery(url, call.args);

  let response: Response;
  try {
    response = await fetch(url, {
      method: target.method,
      headers,
      body: hasBody ? JSON.stringify(call.args) : undefined,
      signal: AbortSignal.timeout(target.timeoutMs),
      redirect: 'error',
    });
  } catch (e) {
    const error = e as Error;
    if (error.name === 'TimeoutError') return { ok: false, kind: 'timeout', message: `the tool did not answer within ${target.timeoutMs} ms` };
    return { ok: false, kind: 'network', message: `the tool could not be reached: ${describeNetworkError(error)}` };
  }

  const raw = await readLimited(response, target.maxResponseBytes);
  if (raw === undefined) {
    return { ok: false, kind: 'too_large', message: `the tool's response exceeded ${target.maxResponseBytes} bytes` };
  }
  const body = maskSecrets(raw, injected);
  if (!response.ok) {
    return { ok: false, kind: 'status', status: response.status, message: `the tool answered HTTP ${response.status}` };
  }
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json') && body.length > 0) {
    try {
      return { ok: true, status: response.status, result: JSON.parse(body) as JsonValue };
    } catch {
      return { ok: false, kind: 'status', status: response.status, message: 'the tool answered invalid JSON' };
    }
  }
  return { ok: true, status: response.status, result: body };
}

async function readLimited(response: Response, limit: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > limit) {
      await response.body.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function withQuery(url: string, args: JsonObject): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(args)) u.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  return u.toString();
}

/** fetch hides the useful part (ECONNREFUSED, ENOTFOUND) in `cause`. No URL: it may hold a secret. */
function describeNetworkError(error: Error): string {
  const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? error.message;
}

function randomSpanId(): string {
  return randomBytes(8).toString('hex');
}
