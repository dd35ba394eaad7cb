import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseJsonBody } from '../json-body.js';
import type { Warden } from '../../../services/warden.js';
import { principalOf } from '../authenticate.js';
import { principalName, type Principal } from '../../../auth/principal.js';
import { sendProblem } from '../problem.js';
import type { RouteModule } from '../server.js';
import type { SessionServer } from '../../mcp/session-server.js';

export interface StreamableHttpOptions {
  /** Where the endpoint is mounted. */
  path: string;
  summary: string;
  /** Who may open a session; the refusal message otherwise. */
  admit?: (caller: Principal) => string | undefined;
  /**
   * The server for a new session. `caller()` is who is calling now (re-authenticated on every
   * request); `sessionId()` is the session's id once the transport assigned it.
   */
  createServer: (caller: () => Principal, session: { id: () => string; request: FastifyRequest }) => SessionServer;
  /** Largest JSON-RPC message accepted, in bytes (default: server.body_limit). */
  maxMessageBytes?: number;
  /** A session nobody used for this long is closed (default 30 minutes). */
  idleTimeoutMs?: number;
  /** Open sessions at most, in all (default 1000) and per caller (default 32). */
  maxSessions?: number;
  maxSessionsPerCaller?: number;
}

interface Session {
  id: string;
  /** `agent:<id>` or `human:<id>`: only the caller that opened a session may use it. */
  owner: string;
  /** The caller as last authenticated: roles taken away since the session opened are gone now too. */
  caller: Principal;
  server: SessionServer;
  transport: StreamableHTTPServerTransport;
  lastSeen: number;
}

const ownerOf = (p: Principal) => (p.kind === 'human' ? `human:${p.id}` : principalName(p));

/** A JSON-RPC error answered over plain HTTP, shaped like the SDK's own (id null: no request was read). */
function sendRpcError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * An MCP endpoint over Streamable HTTP: POST for JSON-RPC, GET for the server's SSE stream,
 * DELETE to end a session. Every request is authenticated (agent API key or human token); each
 * session has its own server bound to the caller that opened it, and only that caller may use it.
 * Malformed JSON, oversized or hostile bodies and unknown sessions get JSON-RPC errors.
 */
export function createStreamableHttpModule(options: StreamableHttpOptions): RouteModule {
  const path = options.path;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30 * 60_000;
  const maxSessions = options.maxSessions ?? 1000;
  const maxPerCaller = options.maxSessionsPerCaller ?? 32;

  return async (app: FastifyInstance, warden: Warden) => {
    const sessions = new Map<string, Session>();

    const drop = async (id: string | undefined) => {
      const session = id ? sessions.get(id) : undefined;
      if (!session) return;
      sessions.delete(session.id);
      await session.server.close().catch(() => undefined);
    };

    const sweep = setInterval(() => {
      const cutoff = Date.now() - idleTimeoutMs;
      for (const session of sessions.values()) if (session.lastSeen < cutoff) void drop(session.id);
    }, Math.min(60_000, Math.max(1_000, idleTimeoutMs / 2)));
    sweep.unref();

    // preClose, not onClose: an open SSE stream is an in-flight request that would keep
    // fastify.close() waiting, so the sessions must end before the server stops.
    app.addHook('preClose', async () => {
      clearInterval(sweep);
      await Promise.all([...sessions.keys()].map((id) => drop(id)));
    });
    app.addHook('onClose', async () => {
      clearInterval(sweep);
      await Promise.all([...sessions.keys()].map((id) => drop(id)));
    });

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
      let session: Session | undefined;
      if (sessionId) {
        session = sessions.get(sessionId);
        if (!session) return sendRpcError(reply, 404, -32001, 'Session not found: it ended or never existed; send an initialize request without mcp-session-id to open a new one');
        if (session.owner !== ownerOf(principal)) {
          return sendProblem(reply, 403, 'this MCP session belongs to another caller; open your own with an initialize request', {}, 'not-your-session');
        }
        session.caller = principal;
        session.lastSeen = Date.now();
      } else {
        if (req.method !== 'POST' || !isInitializeRequest(body)) {
          return sendRpcError(reply, 400, -32000, 'Bad Request: no mcp-session-id header; open a session with an initialize request first');
        }
        const owner = ownerOf(principal);
        if (sessions.size >= maxSessions || [...sessions.values()].filter((s) => s.owner === owner).length >= maxPerCaller) {
          return sendRpcError(reply, 503, -32000, 'Too many open sessions; end one (DELETE with its mcp-session-id) or try again later');
        }
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: true,
          onsessioninitialized: (id) => {
            sessions.set(id, fresh);
            fresh.id = id;
          },
          onsessionclosed: (id) => {
            void drop(id);
          },
        });
        const fresh: Session = { id: '', owner, caller: principal, server: undefined as unknown as SessionServer, transport, lastSeen: Date.now() };
        fresh.server = options.createServer(() => fresh.caller, { id: () => fresh.id, request: req });
        transport.onclose = () => {
          if (fresh.id) sessions.delete(fresh.id);
        };
        await fresh.server.connect(transport);
        session = fresh;
      }

      reply.hijack();
      try {
        await session.transport.handleRequest(req.raw, reply.raw, body);
      } catch (error) {
        req.log.error({ err: error }, `MCP request to ${path} failed`);
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error: Warden could not handle this MCP request' }, id: null }));
        } else if (!reply.raw.writableEnded) reply.raw.end();
      } finally {
        // An initialize that failed leaves a server no session map points to: close it.
        if (!sessionId && !sessions.has(session.id)) await session.server.close().catch(() => undefined);
      }
      return reply;
    };

    await app.register(async (scope) => {
      // The endpoint reads its own body: malformed JSON must get a JSON-RPC parse error, not
      // problem+json, and any content type reaches the transport, which answers in JSON-RPC.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxMessageBytes ?? warden.config.server.body_limit }, (_req, raw, done) => done(null, raw));
      // Errors fastify raises before the handler (a body over the limit) are JSON-RPC errors here too.
      scope.setErrorHandler((error: { statusCode?: number; message: string }, req, reply) => {
        const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
        if (status === 500) req.log.error({ err: error }, `MCP request to ${path} failed`);
        return sendRpcError(reply, status, status === 500 ? -32603 : -32600, status === 500 ? 'Internal error' : `Invalid Request: ${error.message}`);
      });
      scope.route({
        method: ['GET', 'POST', 'DELETE'],
        url: path,
        config: { auth: 'any' },
        schema: {
          summary: options.summary,
          description: 'POST carries JSON-RPC messages, GET opens the server-to-client SSE stream, DELETE ends the session (mcp-session-id). Authenticate with an agent API key or a human token.',
          tags: ['mcp'],
        },
        handler: handle,
      });
    });
  };
}

