import { context, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';

/** Probes and scrapes: a span each would bury the requests that matter. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One server span per HTTP request, the parent of everything the request does (the pipeline's
 * spans, MCP requests on `/mcp`, the tool's client span). A caller's W3C `traceparent` is its
 * parent, so Warden joins the caller's trace; `req.traceId` (decision records, the tool's
 * traceparent) becomes the span's trace id.
 *
 * The span is made the active context for the rest of the request: `done` runs inside it (the
 * hooks and handler that follow inherit it through AsyncLocalStorage), and the request stream is
 * bound to it, so the body's `data`/`end` listeners, from which fastify calls the handler of a
 * POST, run inside it too. Attributes: method, route template, status; never the URL's path or
 * query, headers or body (tokens and arguments travel there).
 *
 * Registered only when tracing is on (`buildServer`'s `tracing` option): off, a request costs
 * nothing here.
 */
export function traceRequests(app: FastifyInstance): void {
  const tracer = trace.getTracer('warden');
  app.addHook('onRequest', (req, reply, done) => {
    if (UNTRACED.has(req.url.split('?', 1)[0]!)) return done();
    const parent: Context = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.scheme': 'http', 'network.protocol.version': req.raw.httpVersion } }, parent);
    const spanContext = span.spanContext();
    if (isSpanContextValid(spanContext)) req.traceId = spanContext.traceId;
    reply.raw.once('close', () => {
      const route = req.routeOptions.url;
      const status = reply.raw.statusCode;
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', status);
      if (!reply.raw.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR, message: 'the connection closed before the response was sent' });
      else if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
      span.end();
    });
    const active = trace.setSpan(parent, span);
    context.bind(active, req.raw);
    context.with(active, done);
  });
}
