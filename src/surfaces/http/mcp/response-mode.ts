import { isJSONRPCErrorResponse, isJSONRPCNotification, isJSONRPCRequest, isJSONRPCResultResponse } from '@modelcontextprotocol/sdk/types.js';

/**
 * Whether a POST is answered as an SSE stream or as plain JSON. The transport streams every
 * answer (the spec's default), so that request-bound messages — progress, log messages, and the
 * upstreams' sampling/elicitation/roots requests — reach the client while the request runs; a
 * request that can carry none of them is answered in JSON, as before, which clients that parse
 * the body directly rely on.
 */

const ASKING = new Set(['tools/call', 'resources/read', 'prompts/get']);

/**
 * True when the client asked for progress on a request, or may be asked something while one of
 * its calls runs (it declared sampling, elicitation or roots).
 */
export function wantsStream(body: unknown, clientAnswers: boolean): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => {
    if (!isJSONRPCRequest(m)) return false;
    const meta = (m.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
    return meta?.progressToken !== undefined || mayAsk(m.method, clientAnswers);
  });
}

/** Whether the client may be asked something (sampling, elicitation, roots) while a request of `method` runs. */
export function mayAsk(method: string, clientAnswers: boolean): boolean {
  return clientAnswers && ASKING.has(method);
}

/**
 * The transport's SSE answer as the JSON one it would have sent in JSON mode: the responses only
 * (one object, or an array for a batch). A stream that ended without any was closed for a request
 * the client cancelled (closeCancelled): 202, nothing to answer. Undefined when the client left.
 */
/**
 * A request the client cancelled gets no answer from the SDK's server (the spec says none is
 * sent), so its POST stream would stay open, counted in flight, until the session ends: close it.
 */
export function closeCancelled(body: unknown, close: (requestId: string | number) => void): void {
  for (const m of Array.isArray(body) ? body : [body]) {
    if (!isJSONRPCNotification(m) || m.method !== 'notifications/cancelled') continue;
    const id = (m.params as { requestId?: unknown } | undefined)?.requestId;
    if (typeof id === 'string' || typeof id === 'number') close(id);
  }
}

/** An answer already in hand, written as it is (web-bridge.ts): no Web `Response` and body stream to build and read again. */
export interface PlainAnswer {
  plain: true;
  status: number;
  headers: Record<string, string>;
  body?: string;
}

export async function asJsonResponse(response: Response, clientLeft: AbortSignal): Promise<Response | PlainAnswer | undefined> {
  if (!/^text\/event-stream/i.test(response.headers.get('content-type') ?? '') || !response.body) return response;
  // A client that leaves (a cancelled request gets no answer) must release the stream, or the
  // request would count as in flight for ever.
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  clientLeft.addEventListener('abort', cancel, { once: true });
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    return undefined;
  } finally {
    clientLeft.removeEventListener('abort', cancel);
  }
  const answers: unknown[] = [];
  for (const event of text.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
      .join('\n');
    if (!data) continue;
    try {
      const message: unknown = JSON.parse(data);
      if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) answers.push(message);
    } catch {
      // Not a message the transport wrote: nothing to answer with.
    }
  }
  if (answers.length === 0) return { plain: true, status: 202, headers: {} };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const session = response.headers.get('mcp-session-id');
  if (session) headers['mcp-session-id'] = session;
  return { plain: true, status: 200, headers, body: JSON.stringify(answers.length === 1 ? answers[0] : answers) };
}
