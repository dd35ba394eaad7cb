import { trace, SpanStatusCode } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { CallResult, Credentials } from '../../../enforcement/exchange.js';
import type { ServerContext } from '../context.js';
import { sendProblem } from '../problem.js';
import { looksLikeJwt } from '../../../auth/agent-jwt.js';
import { bodySha256 } from '../../../auth/credentials.js';

/** The tool-call envelope. Strict: an unknown field is a 400, not silently ignored. */
export const envelopeSchema = z.strictObject({
  agent_id: z.string().min(1).max(256),
  agent_version: z.string().max(128).optional(),
  request_id: z.string().min(1).max(256),
  tool: z.string().min(1).max(256),
  arguments: z.unknown().optional(),
  session_id: z.string().min(1).max(256).optional(),
  tenant: z.string().min(1).max(256).optional(),
  trace_id: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  user: z.strictObject({ id: z.string().min(1).max(256), roles: z.array(z.string()).max(64).optional() }).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
});

export const envelopeJsonSchema = {
  type: 'object',
  required: ['agent_id', 'request_id', 'tool'],
  properties: {
    agent_id: { type: 'string' },
    agent_version: { type: 'string' },
    request_id: { type: 'string', description: 'unique per agent; a replay is refused' },
    tool: { type: 'string' },
    arguments: { type: 'object', additionalProperties: true },
    session_id: { type: 'string' },
    tenant: { type: 'string' },
    trace_id: { type: 'string', description: 'W3C trace id (32 hex)' },
    user: { type: 'object', properties: { id: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } } } },
    context: { type: 'object', additionalProperties: true },
  },
} as const;

/** Credentials from headers: `Authorization: Bearer wk_…`, or the X-Warden-Signature set. */
function credentialsOf(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Credentials {
  const one = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);
  const signature = one('x-warden-signature');
  if (signature) {
    return {
      kind: 'hmac',
      keyId: one('x-warden-key-id') ?? '',
      timestamp: one('x-warden-timestamp') ?? '',
      signature,
      bodySha256: bodySha256(rawBody),
    };
  }
  const auth = one('authorization');
  if (auth && /^Bearer\s+/i.test(auth)) {
    const token = auth.replace(/^Bearer\s+/i, '').trim();
    return looksLikeJwt(token) ? { kind: 'jwt', token } : { kind: 'api_key', key: token };
  }
  return { kind: 'none' };
}

export function answer(reply: FastifyReply, result: CallResult): FastifyReply {
  if (result.retryAfterMs !== undefined) reply.header('retry-after', Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
  return reply.code(result.httpStatus).send({
    success: result.success,
    status: result.status,
    ...(result.result !== undefined ? { result: result.result } : {}),
    decision: result.decision,
    ...(result.approvalId ? { approval_id: result.approvalId } : {}),
    audit_id: result.auditId,
  });
}

export function registerToolRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const tracer = trace.getTracer('warden');
  app.post(
    '/v1/tools/call',
    {
      schema: {
        summary: 'Call a tool through the full pipeline',
        description: 'Authenticated with an agent API key (Authorization: Bearer wk_…), an agent JWT (authentication.agent_jwt), or a signed envelope (X-Warden-Key-Id, X-Warden-Timestamp, X-Warden-Signature).',
        tags: ['tools'],
        body: envelopeJsonSchema,
      },
      // The zod envelope check below gives better messages than the generated validator.
      validatorCompiler: () => () => true,
    },
    async (req, reply) => {
      const parsed = envelopeSchema.safeParse(req.body);
      if (!parsed.success) {
        const errors = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.code === 'unrecognized_keys' ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.join(', ')}` : i.message}`);
        return sendProblem(reply, 400, `invalid tool-call envelope: ${errors.join('; ')}`, { errors }, 'invalid-envelope');
      }
      const e = parsed.data;
      const started = process.hrtime.bigint();
      const result = await tracer.startActiveSpan('warden.tool_call', async (span) => {
        span.setAttributes({ 'warden.agent': e.agent_id, 'warden.tool': e.tool, 'warden.request_id': e.request_id });
        try {
          const r = await ctx.warden.call(
            {
              agentId: e.agent_id,
              agentVersion: e.agent_version,
              requestId: e.request_id,
              tool: e.tool,
              args: e.arguments ?? {},
              sessionId: e.session_id,
              tenant: e.tenant,
              traceId: e.trace_id ?? req.traceId,
              user: e.user,
              context: e.context as never,
            },
            credentialsOf(req.headers, req.rawBody ?? Buffer.alloc(0)),
          );
          span.setAttributes({ 'warden.effect': r.decision.effect, 'warden.status': r.status });
          if (r.status === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: r.decision.reason });
          return r;
        } finally {
          span.end();
        }
      });
      ctx.metrics.latency.observe({ route: 'tools.call' }, Number(process.hrtime.bigint() - started) / 1e9);
      ctx.metrics.decisions.inc({ effect: result.decision.effect, tool: ctx.metrics.toolLabel(ctx.warden, e.tool), stage: result.decision.stage ?? 'policy', status: result.status });
      req.log.info({ agent: e.agent_id, tool: e.tool, status: result.status, effect: result.decision.effect, audit: result.auditId }, 'tool call');
      return answer(reply, result);
    },
  );
}
