import { randomFillSync } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { durationMs } from '../../lib/duration.js';
import { ServiceError } from '../../services/errors.js';
import type { Warden } from '../../services/warden.js';
import { requestLogController } from './access-log.js';
import { closeIdleConnectionsOnShutdown } from './drain.js';
import { authenticationHook } from './authenticate.js';
import { clientErrorHandler, frameworkErrors } from './framework-errors.js';
import { parseJsonBody } from './json-body.js';
import { traceRequests } from './request-spans.js';
import { sendProblem, sendServiceError } from './problem.js';
import { registerAgentRoutes } from './routes/agents.js';
import { registerApprovalRoutes } from './routes/approvals.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerBreakGlassRoutes } from './routes/break-glass.js';
import { registerComplianceRoutes } from './routes/compliance.js';
import { registerDashboardApiRoutes } from './routes/dashboard-api.js';
import { registerDecisionRoutes } from './routes/decisions.js';
import { registerAuthzenRoutes } from './routes/authzen.js';
import { registerEventRoutes } from './routes/events.js';
import { registerIncidentRoutes } from './routes/incidents.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerPolicyRoutes } from './routes/policies.js';
import { registerToolCatalogRoutes } from './routes/tool-catalog.js';
import { registerToolRoutes } from './routes/tools.js';
import { registerUiRoutes } from './routes/ui.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact body bytes: signed envelopes sign their hash. */
    rawBody?: Buffer;
    /** W3C trace id from `traceparent`, or a new one: it ties logs, spans and decision records. */
    traceId: string;
  }
}

export interface ServerOptions {
  /** pino options, or false for no request logging (tests, benchmarks). */
  logger?: FastifyServerOptions['logger'];
  /** One OpenTelemetry server span per request (request-spans.ts); `serve` sets it when telemetry.traces is on. */
  tracing?: boolean;
}

/** A group of routes on the API's port; each route declares who may reach it (`config.auth`). */
export type RouteModule = (app: FastifyInstance, warden: Warden) => void | Promise<void>;

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Random bytes for trace ids, drawn 16 at a time and refilled 256 ids at a time (as randomUUID
 * does internally): one hex string per request, where a UUID cost a string and five slices.
 */
const traceEntropy = Buffer.alloc(16 * 256);
let traceEntropyAt = traceEntropy.length;

/** A random W3C trace id: 32 hex digits (all zeros, invalid in W3C, has odds of 2^-128). */
export function newTraceId(): string {
  if (traceEntropyAt === traceEntropy.length) {
    randomFillSync(traceEntropy);
    traceEntropyAt = 0;
  }
  traceEntropyAt += 16;
  return traceEntropy.toString('hex', traceEntropyAt - 16, traceEntropyAt);
}

/** A request's id: the trace id of the caller's `traceparent`, else a new one. */
export function requestId(traceparent: string | string[] | undefined): string {
  if (typeof traceparent !== 'string') return newTraceId();
  const match = TRACEPARENT.exec(traceparent);
  return match ? match[1]! : newTraceId();
}

/** Where a request's trace id is kept once a server span has set one (request-spans.ts). */
const kTraceId = Symbol('warden.traceId');

/**
 * Slow and idle clients: a request's headers must arrive within `headers_timeout` (a slow-loris
 * connection dribbling them is answered 408 and closed), the whole request within
 * `request_timeout`, and an idle keep-alive connection is closed after `keep_alive_timeout`. Node
 * checks the first two every `connectionsCheckingInterval` (its default, 30 s, is far coarser
 * than the timeouts). Only receiving the request is timed: a response may take as long as it
 * needs, so the event stream and MCP streams stay open. No socket inactivity timeout either, for
 * the same reason (a tool call may legitimately keep a connection silent for its whole timeout).
 */
function connectionTimeouts(server: Warden['config']['server']): Pick<FastifyServerOptions, 'requestTimeout' | 'keepAliveTimeout' | 'connectionTimeout'> & { http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } } {
  const headersTimeout = durationMs(server.headers_timeout);
  const requestTimeout = durationMs(server.request_timeout);
  const connectionsCheckingInterval = Math.min(30_000, Math.max(50, Math.floor(Math.min(headersTimeout, requestTimeout) / 4)));
  return {
    requestTimeout,
    keepAliveTimeout: durationMs(server.keep_alive_timeout),
    connectionTimeout: 0,
    http: { headersTimeout, requestTimeout, connectionsCheckingInterval },
  };
}

/**
 * The HTTP API on one fastify instance. Bad input never reaches a handler unchecked: JSON is
 * parsed here (size-limited, prototype keys refused), and every error leaves as problem+json.
 */
export async function buildServer(warden: Warden, options: ServerOptions = {}, modules: RouteModule[] = []): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: 'info' },
    logController: requestLogController(warden.config.server.access_log),
    bodyLimit: warden.config.server.body_limit,
    ...connectionTimeouts(warden.config.server),
    frameworkErrors,
    clientErrorHandler,
    genReqId: (req) => requestId(req.headers.traceparent),
  });
  closeIdleConnectionsOnShutdown(app);
  // The request id unless a server span set another: a getter, not an onRequest hook copying
  // req.id, which cost every request a turn of fastify's hook runner.
  app.decorateRequest('traceId', {
    getter(this: FastifyRequest & { [kTraceId]?: string }) {
      return this[kTraceId] ?? this.id;
    },
    setter(this: FastifyRequest & { [kTraceId]?: string }, value: string) {
      this[kTraceId] = value;
    },
  });
  // Before every other hook: they run in the span.
  if (options.tracing) traceRequests(app);

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const raw = body as Buffer;
    req.rawBody = raw;
    if (raw.length === 0) return done(null, undefined);
    const parsed = parseJsonBody(raw, warden.config.server.body_limit);
    if (!parsed.ok) return done(Object.assign(new Error(parsed.message), { statusCode: 400, code: parsed.problem === 'invalid-json' ? 'WARDEN_INVALID_JSON' : 'WARDEN_UNSAFE_JSON' }), undefined);
    done(null, parsed.value);
  });

  app.setErrorHandler((error: FastifyError | ServiceError, req, reply) => {
    if (error instanceof ServiceError) return sendServiceError(reply, error);
    const status = error.statusCode ?? 500;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendProblem(reply, 413, `the body is larger than ${warden.config.server.body_limit} bytes`, {}, 'body-too-large');
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendProblem(reply, 415, `send the body as application/json, not ${req.headers['content-type'] ?? 'nothing'}`, {}, 'unsupported-media-type');
    if (error.validation) return sendProblem(reply, 400, `invalid request: ${error.message}`, { errors: error.validation.map((v) => `${v.instancePath || 'body'} ${v.message}`) }, 'invalid-request');
    if (status < 500) return sendProblem(reply, status, error.message);
    req.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 500, 'Warden could not handle this request; nothing was executed');
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, `no route ${req.method} ${req.url.split('?')[0]}`));

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Warden', version: '0.1.0', description: 'Policy enforcement gateway for AI agents: decisions, tool calls, approvals, audit.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An agent API key (wk_…) or a human token / OIDC JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  await app.register(async (api) => {
    // Every route of the API declares who may reach it; one that declares nothing needs a caller.
    api.addHook('onRoute', (route) => {
      route.config = { auth: 'any', ...(route.config ?? {}) };
    });
    api.addHook('onRequest', authenticationHook(warden));
    for (const module of [...ROUTES, ...modules]) await module(api, warden);
  });
  return app;
}

const ROUTES: RouteModule[] = [
  registerOpsRoutes,
  registerToolRoutes,
  registerToolCatalogRoutes,
  registerDecisionRoutes,
  registerAuthzenRoutes,
  registerApprovalRoutes,
  registerAgentRoutes,
  registerBreakGlassRoutes,
  registerIncidentRoutes,
  registerAuditRoutes,
  registerComplianceRoutes,
  registerPolicyRoutes,
  registerDashboardApiRoutes,
  registerEventRoutes,
  registerUiRoutes,
];
