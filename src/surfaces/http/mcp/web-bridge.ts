import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { PlainAnswer } from './response-mode.js';

/**
 * Node's request and response as the Web `Request`/`Response` the SDK's web-standard transport
 * speaks. The body is never carried over: the endpoint has read and checked it already and hands
 * the transport the parsed message.
 */
export function webRequestOf(req: FastifyRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    try {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.set(name, value);
    } catch {
      // A value Node let through that fetch's Headers refuses: nothing the transport reads.
    }
  }
  // The transport only reads the path; the host a caller names is not trusted for anything.
  return new Request(new URL(req.url, 'http://warden.invalid'), { method: req.method, headers });
}

/**
 * Writes a Web `Response` (or an answer in hand) to Node's response: JSON at once, an SSE stream
 * as it comes. When the client goes away the stream is cancelled, which is how the transport
 * learns a stream closed.
 * Resolves when the response has ended.
 */
export async function writeWebResponse(res: ServerResponse, response: Response | PlainAnswer): Promise<void> {
  if ('plain' in response) {
    res.writeHead(response.status, response.headers).end(response.body);
    return;
  }
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  if (/^text\/event-stream/i.test(response.headers.get('content-type') ?? '')) res.flushHeaders();
  const reader = response.body.getReader();
  const cancel = () => {
    reader.cancel().catch(() => undefined);
  };
  res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.destroyed) res.write(value);
    }
  } catch {
    // Cancelled (the client left) or the stream failed: either way it is over.
  } finally {
    res.off('close', cancel);
    if (!res.writableEnded) res.end();
  }
}
