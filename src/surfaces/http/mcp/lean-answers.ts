import type { IncomingHttpHeaders } from 'node:http';
import type { TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage, type JSONRPCRequest, type MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import type { PlainAnswer } from './response-mode.js';

/**
 * The common POST — one JSON-RPC request on an open session, answered in plain JSON (no progress
 * asked for, a client that cannot be asked anything: response-mode.ts) — handed to the session's
 * server directly, its answer taken as it is sent. The SDK's transport would turn the Node request
 * into a Web `Request`, validate the message again, answer it as an SSE stream that
 * response-mode.ts then reads back and parses into the same JSON: measured in bench/mcp, a fifth
 * of the gateway's CPU per call with an HTTP upstream. Anything else (initialize, notifications,
 * answers, batches, streams, GET, DELETE, a header or message the checks below do not clear)
 * goes through the SDK's transport as before, so its errors stay the SDK's.
 *
 * What the server sends for a lean request besides its answer (progress and log notifications) is
 * dropped, as the JSON answer dropped it before; a request it sends (elicitation, which needs a
 * client that declared it, so never lean) fails at once instead of waiting on a stream nobody reads.
 */

/** The session's transport closed while the request was in flight (the replica is shutting down). */
export const CLOSED = Symbol('closed');

/** Where a lean request's answer goes; undefined: it was cancelled and gets none (202). */
type Answer = (answer: JSONRPCMessage | undefined | typeof CLOSED) => void;

const RELATED_TASK = 'io.modelcontextprotocol/related-task';
const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);

/** An object of parsed JSON (the body comes from JSON.parse: its objects are plain). */
const isJsonObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `body` as a request the SDK's transport would take as it is (JSONRPCRequestSchema, strict),
 * narrowed to the ones answered in JSON: no progress token, no task metadata, not initialize.
 * Undefined for anything else, which then goes the SDK's way.
 */
export function leanRequest(body: unknown): JSONRPCRequest | undefined {
  if (!isJsonObject(body) || body.jsonrpc !== '2.0' || typeof body.method !== 'string' || body.method === 'initialize') return undefined;
  const id = body.id;
  if (typeof id !== 'string' && !(typeof id === 'number' && Number.isSafeInteger(id))) return undefined;
  for (const key in body) if (!REQUEST_KEYS.has(key)) return undefined;
  const params = body.params;
  if (params !== undefined) {
    if (!isJsonObject(params)) return undefined;
    const meta = params._meta;
    if (meta !== undefined && (!isJsonObject(meta) || meta.progressToken !== undefined || RELATED_TASK in meta)) return undefined;
  }
  return body as unknown as JSONRPCRequest;
}

/** The headers the SDK's transport checks for a POST after initialize, as it checks them: whether they pass. */
export function leanHeaders(headers: IncomingHttpHeaders, sessionId: string): boolean {
  const accept = headers.accept;
  if (typeof accept !== 'string' || !accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
  if (headers['mcp-session-id'] !== sessionId) return false;
  const version = headers['mcp-protocol-version'];
  return version === undefined || (typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version));
}

/** The lean requests of one session in flight: their answers, caught on their way to the transport. */
export class LeanRequests {
  private readonly pending = new Map<string | number, Answer>();

  /** Whether a request with this id is in flight here (a client reusing one goes the SDK's way). */
  has(id: string | number): boolean {
    return this.pending.has(id);
  }

  /**
   * Hands `request` to the server (`deliver`: the transport's onmessage) and resolves with its
   * answer, undefined when it was cancelled, CLOSED when the session closed first. `abandon()`
   * forgets it (the client left): its answer is then dropped when it comes.
   */
  answer(
    request: JSONRPCRequest,
    deliver: (message: JSONRPCMessage, extra: MessageExtraInfo) => void,
    headers: IncomingHttpHeaders,
    path: string,
  ): { answer: Promise<JSONRPCMessage | undefined | typeof CLOSED>; abandon: () => void } {
    const id = request.id;
    let settle!: Answer;
    const answer = new Promise<JSONRPCMessage | undefined | typeof CLOSED>((resolve) => (settle = resolve));
    this.pending.set(id, settle);
    // What the SDK's transport passes along (extra.requestInfo): the headers, and the URL on demand.
    const requestInfo = {
      headers,
      get url() {
        return new URL(path, 'http://warden.invalid');
      },
    };
    try {
      deliver(request, { requestInfo });
    } catch (error) {
      this.pending.delete(id);
      throw error;
    }
    const abandon = () => {
      if (this.pending.get(id) === settle) this.pending.set(id, () => undefined);
    };
    return { answer, abandon };
  }

  /**
   * Takes what the server sends for a lean request: its answer settles the POST, a notification
   * about it is dropped, a request about it fails. False: not a lean request's, the transport sends it.
   */
  take(message: JSONRPCMessage, options: TransportSendOptions | undefined): boolean {
    if (this.pending.size === 0) return false;
    if (!('method' in message) && 'id' in message && message.id !== undefined && message.id !== null) {
      const settle = this.pending.get(message.id);
      if (!settle) return false;
      this.pending.delete(message.id);
      settle(message);
      return true;
    }
    const related = options?.relatedRequestId;
    if (related === undefined || !this.pending.has(related)) return false;
    if ('id' in message) throw new Error(`request ${String(related)} was sent as plain JSON: the client cannot be asked anything while it runs`);
    return true;
  }

  /** The session's transport closed: every request in flight settles with CLOSED. */
  close(): void {
    const settles = [...this.pending.values()];
    this.pending.clear();
    for (const settle of settles) settle(CLOSED);
  }

  /** A cancelled request gets no answer: its POST ends with 202. False: not a lean request. */
  cancel(id: string | number): boolean {
    const settle = this.pending.get(id);
    if (!settle) return false;
    this.pending.delete(id);
    settle(undefined);
    return true;
  }
}

/** The JSON answer of a lean request, as response-mode.ts made it from the SSE stream. */
export function plainAnswer(answer: JSONRPCMessage | undefined, sessionId: string): PlainAnswer {
  if (answer === undefined) return { plain: true, status: 202, headers: {} };
  return { plain: true, status: 200, headers: { 'content-type': 'application/json', 'mcp-session-id': sessionId }, body: JSON.stringify(answer) };
}
