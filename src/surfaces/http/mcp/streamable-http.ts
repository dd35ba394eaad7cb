import { randomBytes } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport, type WebStandardStreamableHTTPServerTransportOptions } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { durationMs } from '../../../lib/duration.js';
import { parseJsonBody } from '../json-body.js';
import type { Warden } from '../../../services/warden.js';
import { secretProviders } from '../../../services/secret-providers.js';
import { SecretResolver } from '../../../upstream/secrets.js';
import { principalOf } from '../authenticate.js';
import { principalName, type Principal } from '../../../auth/principal.js';
import { sendProblem } from '../problem.js';
import type { RouteModule } from '../server.js';
import type { SessionServer } from '../../mcp/session-server.js';
import { capabilitiesOf, capabilityLetters, keyFromSecret, processKey, SESSION_KEY_ENV, SessionIds } from './session-ids.js';
import { webRequestOf, writeWebResponse } from './web-bridge.js';
import { rebindingRefusal } from './rebinding.js';
import { asJsonResponse, closeCancelled, mayAsk, wantsStream, type PlainAnswer } from './response-mode.js';
import { CLOSED, leanHeaders, LeanRequests, leanRequest, plainAnswer } from './lean-answers.js';

/** What a session's server knows of the session it serves. */
export interface SessionContext {
  /** The MCP session id (also the Warden session: budgets, taint, sequences). */
  id: () => string;
  /** The request that opened the session here, or took it up on this replica. */
  request: FastifyRequest;
  /**
   * Whether this replica holds the session's open SSE stream (GET) now: only then can a request
   * the server sends (elicitation) reach the client.
   */
  reachable: () => boolean;
}

export interface StreamableHttpOptions {
  /** Where the endpoint is mounted. */
  path: string;
  summary: string;
  /** Who may open a session; the refusal message otherwise. */
  admit?: (caller: Principal) => string | undefined;
  /**
   * The server for a session, opened here or taken up from another replica. `caller()` is who is
   * calling now (re-authenticated on every request).
   */
  createServer: (caller: () => Principal, session: SessionContext) => SessionServer;
  /**
   * What else a session is bound to besides its caller (the gateway: the user headers), as a
   * string: every request of the session must give the same, on every replica.
   */
  binding?: (req: FastifyRequest) => string;
  /** Largest JSON-RPC message accepted, in bytes (default: server.body_limit). */
  maxMessageBytes?: number;
  /** A session nobody used for this long is closed on this replica (default 30 minutes). */
  idleTimeoutMs?: number;
  /** Sessions held in this replica's memory at most, in all (default 1000) and per caller (default 32). */
  maxSessions?: number;
  maxSessionsPerCaller?: number;
}

interface Session {
  id: string;
  /** `agent:<id>` or `human:<id>`: only the caller that opened a session may use it. */
  owner: string;
  /** What else the session is bound to (options.binding), as its id was checked for. */
  binding: string;
  /** The caller as last authenticated: roles taken away since the session opened are gone now too. */
  caller: Principal;
  server: SessionServer;
  transport: SessionTransport;
  lastSeen: number;
  /** When its id stops being valid. */
  expiresAt: number;
  /** Requests being answered now, open SSE streams included: a busy session is never evicted. */
  busy: number;
  /** Open GET (SSE) streams. */
  streams: number;
  /** The client declared sampling, elicitation or roots: its calls are answered as SSE streams. */
  clientAnswers: boolean;
  /** Settles when the session's transport closes here. */
  closed: Promise<void>;
}

const ownerOf = (p: Principal) => (p.kind === 'human' ? `human:${p.id}` : principalName(p));

/** Ended sessions remembered (DELETE), so that this replica does not take them up again. */
const MAX_ENDED = 20_000;

/** A JSON-RPC error answered over plain HTTP, shaped like the SDK's own (id null: no request was read). */
function sendRpcError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * The SDK's transport, with the ids of the requests the server sends (elicitation) prefixed by
 * this copy of the session. An answer that reaches another replica, or a later copy here, is
 * then recognised as not ours instead of being taken for the answer to another question.
 */
class SessionTransport extends WebStandardStreamableHTTPServerTransport {
  readonly copy = randomBytes(9).toString('base64url');
  /** Requests answered in plain JSON past the SDK's HTTP handling (lean-answers.ts). */
  readonly lean = new LeanRequests();

  constructor(options: WebStandardStreamableHTTPServerTransportOptions) {
    super(options);
  }

  override async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.lean.take(message, options)) return;
    if (isJSONRPCRequest(message)) return super.send({ ...message, id: `${this.copy}.${message.id}` }, options);
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled' && message.params?.requestId !== undefined) {
      return super.send({ ...message, params: { ...message.params, requestId: `${this.copy}.${String(message.params.requestId)}` } }, options);
    }
    return super.send(message, options);
  }

  override closeSSEStream(requestId: string | number): void {
    if (!this.lean.cancel(requestId)) super.closeSSEStream(requestId);
  }

  /**
   * The client's answers in `body` with the ids the server gave its requests; undefined when one
   * answers a request this copy never sent.
   */
  answersOf(body: unknown): unknown {
    const restore = (m: unknown): unknown => {
      if (!isJSONRPCResultResponse(m) && !isJSONRPCErrorResponse(m)) return m;
      const id = (m as { id?: unknown }).id;
      const prefix = `${this.copy}.`;
      if (typeof id !== 'string' || !id.startsWith(prefix)) return undefined;
      const own = id.slice(prefix.length);
      return { ...m, id: /^\d{1,15}$/.test(own) ? Number(own) : own };
    };
    if (Array.isArray(body)) {
      const restored = body.map(restore);
      return restored.includes(undefined) ? undefined : restored;
    }
    return restore(body);
  }
}

/** A request in flight when its session closed here (shutdown): 503, it may or may not have run. */
function closedInFlight(reply: FastifyReply): void {
  reply.raw.writeHead(503, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Service Unavailable: this replica closed the MCP session while the request was in flight (it is shutting down); the request may or may not have been carried out, so check before retrying. Any replica can take the session up.' },
      id: null,
    }),
  );
}

/** A request Warden failed to handle: logged, and answered with a JSON-RPC internal error if nothing was sent yet. */
function failed(req: FastifyRequest, reply: FastifyReply, error: unknown, path: string): void {
  req.log.error({ err: error }, `MCP request to ${path} failed`);
  if (!reply.raw.headersSent) {
    reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error: Warden could not handle this MCP request' }, id: null }));
  } else if (!reply.raw.writableEnded) reply.raw.end();
}

/** The key that signs session ids: from `mcp.session_secret`, or this process's own. */
async function sessionKey(warden: Warden): Promise<Buffer> {
  const reference = warden.config.mcp.session_secret;
  if (!reference) return processKey();
  const name = /^\$\{secret:([A-Za-z0-9._-]+)\}$/.exec(reference)![1]!;
  const secret = await new SecretResolver(secretProviders(warden.config), 0).resolve(name);
  if (secret.length < 32) throw new Error(`mcp.session_secret: the secret "${name}" is ${secret.length} characters long; use at least 32 random characters`);
  return keyFromSecret(secret);
}

/**
 * An MCP endpoint over Streamable HTTP: POST for JSON-RPC, GET for the server's SSE stream,
 * DELETE to end a session. Every request is authenticated (agent API key or human token); each
 * session has its own server bound to the caller that opened it, and only that caller may use it.
 * Malformed JSON, oversized or hostile bodies and unknown sessions get JSON-RPC errors.
 *
 * Across replicas: a session id is signed (session-ids.ts) with `mcp.session_secret`, so a replica
 * that gets a request for a session it does not hold checks the id and the caller, and takes the
 * session up: a new server for the same owner, already initialised with the capabilities the
 * client declared. What lives only in one replica's memory stays there: an open SSE stream, a
 * request the server sent and waits on (elicitation), and progress of a request in flight.
 */
export function createStreamableHttpModule(options: StreamableHttpOptions): RouteModule {
  const path = options.path;
  const maxSessions = options.maxSessions ?? 1000;
  const maxPerCaller = options.maxSessionsPerCaller ?? 32;
  const bindingOf = options.binding ?? (() => '');

  return async (app: FastifyInstance, warden: Warden) => {
    const maxAgeMs = durationMs(warden.config.mcp.session_max_age);
    const idleTimeoutMs = options.idleTimeoutMs ?? durationMs(warden.config.mcp.session_idle_timeout);
    const ids = new SessionIds(await sessionKey(warden), path, maxAgeMs, warden.clock);
    if (!warden.config.mcp.session_secret && !warden.config.storage.startsWith('sqlite:')) {
      app.log.warn(
        process.env[SESSION_KEY_ENV]
          ? `${path}: mcp.session_secret is not set, so an MCP session works only on the workers of this warden serve`
          : `${path}: mcp.session_secret is not set, so an MCP session works only on the replica that opened it`,
      );
    }
    const sessions = new Map<string, Session>();
    /** Sessions being taken up here: concurrent requests of one session share one copy. */
    const resuming = new Map<string, Promise<Session>>();
    /** Sessions ended here (DELETE), until their ids expire anyway. */
    const ended = new Map<string, number>();

    const drop = async (id: string | undefined) => {
      const session = id ? sessions.get(id) : undefined;
      if (!session) return;
      sessions.delete(session.id);
      await session.server.close().catch(() => undefined);
    };
    const end = (id: string, expiresAt: number) => {
      ended.set(id, expiresAt);
      if (ended.size > MAX_ENDED) ended.delete(ended.keys().next().value!);
      return drop(id);
    };

    /**
     * Room for one more session of `owner` in this replica's memory: idle sessions (nothing in
     * flight, no open stream) go first, least recently used first. Their ids stay valid, so one
     * that is used again is taken up again. False when every session is busy.
     */
    const makeRoom = (owner: string): boolean => {
      const evict = (among: Session[], limit: number) => {
        const idle = among.filter((s) => s.busy === 0).sort((a, b) => a.lastSeen - b.lastSeen);
        for (let over = among.length - limit + 1; over > 0 && idle.length > 0; over--) void drop(idle.shift()!.id);
      };
      const mine = [...sessions.values()].filter((s) => s.owner === owner);
      if (mine.length >= maxPerCaller) evict(mine, maxPerCaller);
      if (sessions.size >= maxSessions) evict([...sessions.values()], maxSessions);
      return sessions.size < maxSessions && [...sessions.values()].filter((s) => s.owner === owner).length < maxPerCaller;
    };

    /** Requests of the session being answered, its open SSE streams aside. */
    const inFlight = (s: Session) => s.busy - s.streams;

    const sweep = setInterval(() => {
      const cutoff = Date.now() - idleTimeoutMs;
      const now = warden.clock();
      for (const session of sessions.values()) if ((session.lastSeen < cutoff || session.expiresAt < now) && inFlight(session) === 0) void drop(session.id);
      for (const [id, expiresAt] of ended) if (expiresAt < now) ended.delete(id);
    }, Math.min(60_000, Math.max(1_000, idleTimeoutMs / 2)));
    sweep.unref();

    // preClose, not onClose: an open SSE stream is an in-flight request that would keep
    // fastify.close() waiting, so the sessions must end before the server stops. Calls in flight
    // (fastify refuses new requests by now) get a while to finish first: a rolling restart should
    // not cut a tool call off. What is still running after that is answered 503 (see handle).
    app.addHook('preClose', async () => {
      clearInterval(sweep);
      const deadline = Date.now() + durationMs(warden.config.mcp.approval_wait) + 10_000;
      while ([...sessions.values()].some((s) => inFlight(s) > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await Promise.all([...sessions.keys()].map((id) => drop(id)));
    });
    app.addHook('onClose', async () => {
      clearInterval(sweep);
      await Promise.all([...sessions.keys()].map((id) => drop(id)));
    });

    /** A session's server and transport (not yet connected). */
    const newSession = (id: string, principal: Principal, expiresAt: number, req: FastifyRequest, capabilities: string, transportOptions: WebStandardStreamableHTTPServerTransportOptions): Session => {
      const transport = new SessionTransport({
        ...transportOptions,
        sessionIdGenerator: () => id,
        // SSE answers (response-mode.ts turns those that need no stream back into JSON).
        enableJsonResponse: false,
        onsessionclosed: (closed) => end(closed, expiresAt),
      });
      let closed!: () => void;
      const session: Session = {
        id,
        owner: ownerOf(principal),
        binding: bindingOf(req),
        caller: principal,
        server: undefined as unknown as SessionServer,
        transport,
        lastSeen: Date.now(),
        expiresAt,
        busy: 0,
        streams: 0,
        clientAnswers: capabilities !== '',
        closed: new Promise<void>((resolve) => (closed = resolve)),
      };
      session.server = options.createServer(() => session.caller, { id: () => session.id, request: req, reachable: () => session.streams > 0 });
      transport.onclose = () => {
        if (sessions.get(id) === session) sessions.delete(id);
        transport.lean.close();
        closed();
      };
      return session;
    };

    /**
     * Takes up a session another replica (or an earlier copy here) opened: a new server, connected
     * and initialised by an initialize request only this replica sees, with the client
     * capabilities the id noted. The client's own initialize happened where the session opened.
     */
    const resume = (id: string, principal: Principal, issuedAt: number, capabilities: string, req: FastifyRequest): Promise<Session> => {
      let pending = resuming.get(id);
      if (!pending) {
        pending = (async () => {
          const session = newSession(id, principal, ids.expiresAt(issuedAt), req, capabilities, {});
          try {
            await session.server.connect(session.transport);
            const version = req.headers['mcp-protocol-version'];
            const protocolVersion = typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version) ? version : LATEST_PROTOCOL_VERSION;
            const initialize = { jsonrpc: '2.0', id: 'warden-resume', method: 'initialize', params: { protocolVersion, capabilities: capabilitiesOf(capabilities), clientInfo: { name: 'warden-resumed-session', version: '1' } } };
            const primed = await session.transport.handleRequest(
              new Request(new URL(path, 'http://warden.invalid'), { method: 'POST', headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' } }),
              { parsedBody: initialize },
            );
            await primed.text();
            if (!primed.ok) throw new Error(`the session's server refused to initialise (HTTP ${primed.status})`);
          } catch (error) {
            await session.server.close().catch(() => undefined);
            throw error;
          }
          // Busy until every request waiting for this copy has counted itself in (their
          // continuations run before the next macrotask), so that none sees it evicted.
          session.busy++;
          setImmediate(() => session.busy--);
          sessions.set(id, session);
          return session;
        })().finally(() => resuming.delete(id));
        resuming.set(id, pending);
      }
      return pending;
    };

    /** One request answered in plain JSON straight from the session's server (lean-answers.ts). */
    const answerLean = async (current: Session, request: JSONRPCRequest, req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      current.busy++;
      try {
        const { answer, abandon } = current.transport.lean.answer(request, (m, extra) => current.transport.onmessage?.(m, extra), req.headers, req.url);
        // A client that leaves gets nothing; its request may still run, and its answer is dropped.
        let leave!: () => void;
        const left = new Promise<'left'>((resolve) => (leave = () => resolve('left')));
        reply.raw.once('close', leave);
        let outcome: Awaited<typeof answer> | 'left';
        try {
          outcome = await Promise.race([answer, left]);
        } finally {
          reply.raw.off('close', leave);
        }
        if (outcome === 'left') abandon();
        else if (outcome === CLOSED) closedInFlight(reply);
        else await writeWebResponse(reply.raw, plainAnswer(outcome, current.id));
      } catch (error) {
        failed(req, reply, error, path);
      } finally {
        current.busy--;
      }
      return reply;
    };

    const handle = async (req: FastifyRequest, reply: FastifyReply) => {
      const principal = principalOf(req);
      const refusal = options.admit?.(principal);
      if (refusal) return sendProblem(reply, 403, refusal, {}, 'not-admitted');

      let body: unknown;
      if (req.method === 'POST') {
        const raw = req.body;
        const isJson = /^application\/json\s*(;|$)/i.test(String(req.headers['content-type'] ?? ''));
        if (Buffer.isBuffer(raw) && isJson) {
          const limit = options.maxMessageBytes ?? warden.config.server.body_limit;
          if (raw.length > limit) return sendRpcError(reply, 413, -32600, `Invalid Request: the message is ${raw.length} bytes; the limit is ${limit}`);
          if (raw.length === 0) return sendRpcError(reply, 400, -32600, 'Invalid Request: the body is empty; send a JSON-RPC message');
          const parsed = parseJsonBody(raw, warden.config.server.body_limit);
          if (!parsed.ok) return parsed.problem === 'invalid-json' ? sendRpcError(reply, 400, -32700, `Parse error: ${parsed.message}`) : sendRpcError(reply, 400, -32600, `Invalid Request: ${parsed.message}`);
          body = parsed.value;
        } else {
          // Not JSON: the transport answers 415 from the content type, before it reads a body.
          body = null;
        }
      }

      const header = req.headers['mcp-session-id'];
      const sessionId = typeof header === 'string' && header ? header : undefined;
      const owner = ownerOf(principal);
      let session: Session | undefined;
      let opening = false;
      const held = sessionId ? sessions.get(sessionId) : undefined;
      const binding = held ? bindingOf(req) : '';
      if (held && held.owner === owner && held.binding === binding && warden.clock() <= held.expiresAt) {
        // Its id was checked when the session opened or was taken up here: the same caller and
        // binding, not yet expired, need no HMAC of the id again.
        session = held;
        session.caller = principal;
        session.lastSeen = Date.now();
      } else if (sessionId) {
        const check = ids.check(sessionId, owner, bindingOf(req));
        if (!check.ok && check.why === 'not-yours') {
          return sendProblem(reply, 403, 'this MCP session belongs to another caller (or was opened for another user); open your own with an initialize request', {}, 'not-your-session');
        }
        if (!check.ok && check.why === 'expired') {
          return sendRpcError(reply, 404, -32001, `Session expired: MCP sessions last ${warden.config.mcp.session_max_age} at most; send an initialize request without mcp-session-id to open a new one`);
        }
        if (!check.ok || ended.has(sessionId)) {
          return sendRpcError(reply, 404, -32001, 'Session not found: it ended or never existed; send an initialize request without mcp-session-id to open a new one');
        }
        session = sessions.get(sessionId);
        if (!session) {
          // A session this replica does not hold: ending it needs no server; anything else takes it up.
          if (req.method === 'DELETE') {
            await end(sessionId, ids.expiresAt(check.issuedAt));
            return reply.code(200).send();
          }
          if (!makeRoom(owner)) return sendRpcError(reply, 503, -32000, 'Too many busy MCP sessions on this replica; try again shortly');
          try {
            session = await resume(sessionId, principal, check.issuedAt, check.capabilities, req);
          } catch (error) {
            req.log.error({ err: error }, `MCP session could not be taken up at ${path}`);
            return sendRpcError(reply, 500, -32603, 'Internal error: Warden could not take up this MCP session; open a new one with an initialize request');
          }
        }
        session.caller = principal;
        session.lastSeen = Date.now();
      } else {
        if (req.method !== 'POST' || !isInitializeRequest(body)) {
          return sendRpcError(reply, 400, -32000, 'Bad Request: no mcp-session-id header; open a session with an initialize request first');
        }
        if (!makeRoom(owner)) {
          return sendRpcError(reply, 503, -32000, 'Too many open sessions; end one (DELETE with its mcp-session-id) or try again later');
        }
        const letters = capabilityLetters((body.params as { capabilities?: unknown }).capabilities);
        const id = ids.issue(owner, bindingOf(req), letters);
        const fresh: Session = newSession(id, principal, ids.expiresAt(warden.clock()), req, letters, {
          onsessioninitialized: () => {
            sessions.set(id, fresh);
          },
        });
        await fresh.server.connect(fresh.transport);
        session = fresh;
        opening = true;
      }

      if (!opening && req.method === 'POST' && session.transport.onmessage) {
        const request = leanRequest(body);
        if (request && !mayAsk(request.method, session.clientAnswers) && !session.transport.lean.has(request.id) && leanHeaders(req.headers, session.id)) {
          return answerLean(session, request, req, reply);
        }
      }

      if (req.method === 'POST' && body !== null) {
        // Answers to requests the server sent (elicitation) must come back to the copy that sent them.
        const answers = session.transport.answersOf(body);
        if (answers === undefined) {
          return sendRpcError(
            reply,
            409,
            -32000,
            'Conflict: this answers a request that another Warden replica (or an earlier copy of this session) sent, and only that one could take the answer; the request it answers goes on without it (a held call waits for an approver)',
          );
        }
        body = answers;
      }

      const current = session;
      reply.hijack();
      current.busy++;
      try {
        const answering = current.transport.handleRequest(webRequestOf(req), req.method === 'POST' ? { parsedBody: body } : {});
        // A session closed here while its request is in flight (shutdown) would never answer it.
        let response: Response | PlainAnswer | undefined = req.method === 'DELETE' ? await answering : await Promise.race([answering, current.closed.then(() => undefined)]);
        if (req.method === 'POST') closeCancelled(body, (id) => current.transport.closeSSEStream(id));
        if (response && req.method === 'POST' && !wantsStream(body, current.clientAnswers)) {
          const left = new AbortController();
          const leave = () => left.abort();
          reply.raw.once('close', leave);
          try {
            response = await Promise.race([asJsonResponse(response, left.signal), current.closed.then(() => undefined)]);
          } finally {
            reply.raw.off('close', leave);
          }
          if (left.signal.aborted) return reply;
        }
        if (!response) {
          closedInFlight(reply);
          return reply;
        }
        const stream = req.method === 'GET' && !('plain' in response) && response.ok && response.body !== null;
        if (stream) current.streams++;
        try {
          await writeWebResponse(reply.raw, response);
        } finally {
          if (stream) current.streams--;
        }
      } catch (error) {
        failed(req, reply, error, path);
      } finally {
        current.busy--;
        // An initialize that failed leaves a server no session map points to: close it.
        if (opening && sessions.get(current.id) !== current) await current.server.close().catch(() => undefined);
      }
      return reply;
    };

    await app.register(async (scope) => {
      // The endpoint reads its own body: malformed JSON must get a JSON-RPC parse error, not
      // problem+json, and any content type reaches the transport, which answers in JSON-RPC.
      scope.removeAllContentTypeParsers();
      const asBuffer = { parseAs: 'buffer' as const, bodyLimit: options.maxMessageBytes ?? warden.config.server.body_limit };
      const keep = (_req: FastifyRequest, raw: Buffer | string, done: (error: Error | null, body?: unknown) => void) => done(null, raw);
      scope.addContentTypeParser('*', asBuffer, keep);
      // The same parser by name for what clients send: fastify caches a named parser per header
      // value, while the catch-all costs a parse of the content type on every request.
      scope.addContentTypeParser('application/json', asBuffer, keep);
      // Errors fastify raises before the handler (a body over the limit) are JSON-RPC errors here too.
      scope.setErrorHandler((error: { statusCode?: number; message: string }, req, reply) => {
        const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
        if (status === 500) req.log.error({ err: error }, `MCP request to ${path} failed`);
        return sendRpcError(reply, status, status === 500 ? -32603 : -32600, status === 500 ? 'Internal error' : `Invalid Request: ${error.message}`);
      });
      const rebinding = { allowedHosts: warden.config.mcp.allowed_hosts.map((h) => h.toLowerCase()), allowedOrigins: warden.config.mcp.allowed_origins };
      scope.addHook('onRequest', async (req, reply) => {
        const refusal = rebindingRefusal(req, rebinding);
        if (refusal) {
          req.log.warn({ host: req.headers.host, origin: req.headers.origin }, `MCP request to ${path} refused: ${refusal}`);
          return sendRpcError(reply, 403, -32000, `Forbidden: ${refusal}`);
        }
        return undefined;
      });
      scope.route({
        method: ['GET', 'POST', 'DELETE'],
        url: path,
        config: { auth: 'any' },
        schema: {
          summary: options.summary,
          description:
            'POST carries JSON-RPC messages, GET opens the server-to-client SSE stream, DELETE ends the session (mcp-session-id). Authenticate with an agent API key or a human token. A session opened on one replica goes on on any other that shares mcp.session_secret.',
          tags: ['mcp'],
        },
        handler: handle,
      });
    });
  };
}
