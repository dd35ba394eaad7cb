import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Fastify's request log without its access log: no line per request received, per response sent
 * or per unknown route (`server.access_log: false`, the default; the decision log is the record
 * of every decision, and a log line per request cost more CPU than deciding it, measured in
 * bench/http). A request that ends in an error is still logged, as are fastify's other lines.
 */
class QuietRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error) super.requestCompleted(error, request, reply, metadata);
  }

  override routeNotFound(): void {}
}

/** The log controller of the API's fastify instance: with `accessLog`, fastify's own. */
export function requestLogController(accessLog: boolean): LogController {
  return accessLog ? new LogController() : new QuietRequestLog();
}
