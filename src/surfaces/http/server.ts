import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
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

/** A random W3C trace id: a UUIDv4's 32 hex digits (sliced, not a regex replace: it runs per request). */
function newTraceId(): string {
  const u = randomUUID();
  return u.slice(0, 8) + u.slice(9, 13) + u.slice(14, 18) + u.slice(19, 23) + u.slice(24);
}

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
    genReqId: (req) => {
      const match = TRACEPARENT.exec(String(req.headers.traceparent ?? ''));
      return match ? match[1]! : newTraceId();
    },
  });
  closeIdleConnectionsOnShutdown(app);
  app.decorateRequest('traceId', '');
  // A callback hook, not an async one: an async hook costs every request a promise and a tick.
  app.addHook('onRequest', (req, _reply, done) => {
    req.traceId = req.id;
    done();
  });
  // After the hook above (it sets the span's trace id) and before every other one (they run in the span).
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
