import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { CallResult, Credentials } from '../../../enforcement/exchange.js';
import type { Warden } from '../../../services/warden.js';
import { sendProblem } from '../problem.js';
import { looksLikeJwt } from '../../../auth/agent-jwt.js';
import { bearerToken } from '../../../auth/bearer.js';
import { bodySha256 } from '../../../auth/credentials.js';

/** The tool-call envelope. Strict: an unknown field is a 400, not silently ignored. */
export const envelopeSchema = z.strictObject({
  agent_id: z.string().min(1).max(256),
  agent_version: z.string().max(128).optional(),
  request_id: z.string().min(1).max(256).describe('unique per agent; a replay is refused'),
  tool: z.string().min(1).max(256),
  arguments: z.unknown().optional(),
  session_id: z.string().min(1).max(256).optional(),
  tenant: z.string().min(1).max(256).optional(),
  trace_id: z.string().regex(/^[0-9a-f]{32}$/).optional().describe('W3C trace id (32 hex)'),
  user: z.strictObject({ id: z.string().min(1).max(256), roles: z.array(z.string()).max(64).optional() }).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
});

/** The same envelope as JSON Schema, for the OpenAPI document (the zod schema is what checks it). */
const { $schema: _dialect, ...envelopeJsonSchema } = z.toJSONSchema(envelopeSchema, { io: 'input', unrepresentable: 'any' });

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
  const token = bearerToken(headers.authorization);
  if (token) return looksLikeJwt(token) ? { kind: 'jwt', token } : { kind: 'api_key', key: token };
  return { kind: 'none' };
}

export function answer(reply: FastifyReply, result: CallResult): FastifyReply {
  if (result.retryAfterMs !== undefined) reply.header('retry-after', Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
  return reply.code(result.httpStatus).send({
    success: result.success,
    status: result.status,
    ...(result.result !== undefined ? { result: result.result } : {}),
    // The result guard's flag and warning, beside the result it concerns (results under policy).
    ...(result.resultNote ? { result_warning: result.resultNote } : {}),
    decision: result.decision,
    ...(result.approvalId ? { approval_id: result.approvalId } : {}),
    audit_id: result.auditId,
  });
}

export function registerToolRoutes(app: FastifyInstance, warden: Warden): void {
  app.post(
    '/v1/tools/call',
    {
      config: { auth: 'pipeline' },
      schema: {
        summary: 'Call a tool through the full pipeline',
        description:
          'Authenticated with an agent API key (Authorization: Bearer wk_…), an agent JWT (authentication.agent_jwt), or a signed envelope (X-Warden-Key-Id, X-Warden-Timestamp, X-Warden-Signature). ' +
          'A `user` the envelope names is unverified and has no roles, unless X-Warden-User-Token carries an on-behalf-of token from the configured identity provider (authentication.user_jwt).',
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
      const result = await warden.call(
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
          ...(typeof req.headers['x-warden-user-token'] === 'string' ? { userToken: req.headers['x-warden-user-token'] } : {}),
          context: e.context as never,
          via: 'http',
        },
        credentialsOf(req.headers, req.rawBody ?? Buffer.alloc(0)),
      );
      if (warden.config.server.access_log) req.log.info({ agent: e.agent_id, tool: e.tool, status: result.status, effect: result.decision.effect, audit: result.auditId }, 'tool call');
      return answer(reply, result);
    },
  );
}
