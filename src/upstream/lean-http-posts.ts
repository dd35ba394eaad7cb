import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { request } from 'undici';
import { traceparentFor } from './http-tool.js';

type Send = StreamableHTTPClientTransport['send'];

/**
 * Makes a Streamable HTTP client transport POST its requests with undici's `request` (a pooled
 * keep-alive connection, the answer read as a Node stream) instead of `fetch`, Web streams and
 * the SDK's SSE parser: measured in bench/mcp, that path was a third of the gateway's CPU per
 * call with an HTTP upstream. Only the HTTP layer changes: every message the server sends back
 * (the answer, and the notifications and requests it sends on the call's SSE stream first) goes
 * to the SDK client through the transport's `onmessage`, as the SDK's own `send` delivers it, so
 * ids, timeouts, cancellation, progress, validation and session handling stay the SDK's.
 *
 * The SDK's `send` still carries everything else: initialize (where the session id is
 * assigned), notifications, answers to the server's requests, resumption, and any transport with
 * an auth provider. An SSE answer that ends without the response to its request gets a JSON-RPC
 * error for that id (the SDK would try to resume the stream; Warden answers the call at once).
 */
export function leanPosts(transport: StreamableHTTPClientTransport, url: URL, headers: Record<string, string>): void {
  const sdkSend: Send = transport.send.bind(transport);
  const internals = transport as unknown as { _authProvider?: unknown; _abortController?: AbortController };
  const send: Send = async (message, options) => {
    const one = Array.isArray(message) ? undefined : message;
    const id = one && 'method' in one && 'id' in one ? (one.id as string | number) : undefined;
    if (!one || id === undefined || ('method' in one && one.method === 'initialize') || options?.resumptionToken || internals._authProvider || !transport.sessionId) return sdkSend(message, options);
    try {
      await post(transport, url, headers, one, id, internals._abortController?.signal);
    } catch (error) {
      transport.onerror?.(error as Error);
      throw error;
    }
  };
  transport.send = send;
}

async function post(transport: StreamableHTTPClientTransport, url: URL, configured: Record<string, string>, message: JSONRPCMessage, id: string | number, signal: AbortSignal | undefined): Promise<void> {
  const headers: Record<string, string> = { ...configured, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (transport.sessionId) headers['mcp-session-id'] = transport.sessionId;
  if (transport.protocolVersion) headers['mcp-protocol-version'] = transport.protocolVersion;
  const traceparent = traceparentFor(undefined);
  if (traceparent) headers.traceparent = traceparent;
  const response = await request(url, { method: 'POST', headers, body: JSON.stringify(message), ...(signal ? { signal } : {}) });
  const status = response.statusCode;
  if (status < 200 || status > 299) {
    const text = await response.body.text().catch(() => null);
    // The SDK's error, so a lost session is recognised (and retried) as with its own send.
    throw new StreamableHTTPError(status, `Error POSTing to endpoint: ${text}`);
  }
  if (status === 202) {
    await response.body.dump();
    return;
  }
  const contentType = String(response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType === 'application/json') {
    const data = (await response.body.json()) as JSONRPCMessage | JSONRPCMessage[];
    for (const m of Array.isArray(data) ? data : [data]) transport.onmessage?.(m);
    return;
  }
  if (contentType === 'text/event-stream') {
    // As the SDK does, the stream is read in the background: the upstream may send requests on
    // it (elicitation, sampling) that the client must answer before the response comes.
    void readEvents(response.body, (m) => transport.onmessage?.(m), (e) => transport.onerror?.(e)).then(
      (answered) => answered.has(id) || signal?.aborted || transport.onmessage?.(streamEnded(id)),
      (error: unknown) => {
        if (signal?.aborted) return; // the transport is closing: the SDK rejects what is pending
        transport.onerror?.(new Error(`SSE stream of request ${String(id)} failed: ${(error as Error)?.message ?? String(error)}`));
        transport.onmessage?.(streamEnded(id));
      },
    );
    return;
  }
  await response.body.dump();
  throw new StreamableHTTPError(-1, `Unexpected content type: ${contentType || '(none)'}`);
}

function streamEnded(id: string | number): JSONRPCMessage {
  return { jsonrpc: '2.0', id, error: { code: -32000, message: 'the upstream ended its SSE stream without answering the request' } };
}

/**
 * Reads a text/event-stream body (the SSE format: `data:` lines, events ended by a blank line,
 * comments and other fields ignored) and hands each `message` event's JSON to `deliver`; an event
 * that is not JSON goes to `onerror`. Resolves with the ids of the responses it delivered.
 */
export async function readEvents(body: Readable, deliver: (message: JSONRPCMessage) => void, onerror: (error: Error) => void): Promise<Set<string | number>> {
  const answered = new Set<string | number>();
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let data: string[] = [];
  let event = '';
  let queue: JSONRPCMessage[] = [];
  // The SDK handles a notification (progress) a microtask after it is delivered, and a response at
  // once: a response right behind its last progress would drop that progress ("unknown token").
  // After a notification or request, the next message waits for the following turn.
  let settleFirst = false;
  const deliverQueued = async () => {
    const messages = queue;
    queue = [];
    for (const message of messages) {
      if (settleFirst) await new Promise((resolve) => setImmediate(resolve));
      if (!('method' in message) && 'id' in message && message.id !== undefined) answered.add(message.id);
      deliver(message);
      settleFirst = 'method' in message;
    }
  };
  const dispatch = () => {
    const text = data.join('\n');
    // No data: a priming event (its id makes the stream resumable) or a keep-alive, as the SDK skips.
    if (text !== '' && (event === '' || event === 'message')) {
      let message: JSONRPCMessage | undefined;
      try {
        message = JSON.parse(text) as JSONRPCMessage;
      } catch (error) {
        onerror(error as Error); // one bad event, as with the SDK: reported, the stream goes on
      }
      if (message) queue.push(message);
    }
    data = [];
    event = '';
  };
  const line = (text: string) => {
    if (text === '') return dispatch();
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  };
  for await (const chunk of body) {
    pending += decoder.write(chunk as Buffer);
    let start = 0;
    const eol = /\r\n|\r|\n/g;
    for (let m = eol.exec(pending); m; m = eol.exec(pending)) {
      // A CR at the very end may be the first half of a CRLF still to come.
      if (m[0] === '\r' && m.index === pending.length - 1) break;
      line(pending.slice(start, m.index));
      start = m.index + m[0].length;
    }
    pending = pending.slice(start);
    await deliverQueued();
  }
  pending += decoder.end();
  if (pending) line(pending);
  dispatch();
  await deliverQueued();
  return answered;
}
