import { z } from 'zod';
import { TRUST_LEVELS } from './trust.js';
import type { JsonObject, JsonValue } from './json.js';
import { DEFAULT_JSON_LIMITS, findLimitViolation, type JsonLimits } from './json-limits.js';
import { parseCommonActionRequest } from './action-request-fast-path.js';

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);
const jsonObject = z.record(z.string(), jsonValue) as z.ZodType<JsonObject>;
const id = z.string().min(1).max(512);

const agentSchema = z.strictObject({
  id,
  roles: z.array(z.string()).default([]),
  trust: z.enum(TRUST_LEVELS).default('low'),
  tenant: z.string().optional(),
  attributes: jsonObject.optional(),
});
/**
 * The person an agent acts for. `verified`: their identity (and roles) came from a verified token
 * or from an in-process host application that vouches for them; a user an agent merely names is
 * unverified and has no roles.
 */
const userSchema = z.strictObject({
  id,
  roles: z.array(z.string()).default([]),
  tenant: z.string().optional(),
  verified: z.boolean().optional(),
  attributes: jsonObject.optional(),
});

/** The registry entry of the tool being called, put into the request by the pipeline. */
const toolSchema = z.strictObject({
  name: id,
  risk: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  effect: z.enum(['read', 'write', 'external', 'destructive']).optional(),
  tags: z.array(z.string()).default([]),
  server: z.string().optional(),
});

/** Per-session state the pipeline keeps; the PDP only reads it. */
const sessionSchema = z.strictObject({
  callsUsed: z.number().int().nonnegative().default(0),
  spend: z.number().nonnegative().default(0),
  tainted: z.boolean().default(false),
  recent: z
    .array(z.strictObject({ tool: z.string(), effect: z.string().optional(), risk: z.string().optional(), at: z.string().optional() }))
    .default([]),
  /** Every distinct tool executed in the session (what `called_before` looks at). */
  tools: z.array(z.string()).optional(),
  /** When the session's last denials happened, ISO 8601 (what `denials_within` counts). */
  denials: z.array(z.string()).optional(),
  /** A tool that reads private data has run in the session. */
  privateData: z.boolean().optional(),
});

const relationshipSchema = z.strictObject({ subject: z.string(), relation: z.string(), object: z.string() });

export const actionRequestSchema = z.strictObject({
  requestId: id.optional(),
  traceId: z.string().max(64).optional(),
  tenant: id,
  sessionId: id.optional(),
  actor: z.strictObject({
    agent: agentSchema,
    user: userSchema.optional(),
    service: z.strictObject({ id, attributes: jsonObject.optional() }).optional(),
  }),
  action: z.string().min(1).max(128),
  resource: z.strictObject({
    type: z.string().min(1).max(128),
    id,
    tenant: z.string().optional(),
    attributes: jsonObject.default({}),
  }),
  args: jsonObject.default({}),
  context: jsonObject.default({}),
  tool: toolSchema.optional(),
  session: sessionSchema.optional(),
  signals: jsonObject.optional(),
  relationships: z.array(relationshipSchema).optional(),
});

export type ActionRequest = z.output<typeof actionRequestSchema>;
export type ActionRequestInput = z.input<typeof actionRequestSchema>;
export type Relationship = z.output<typeof relationshipSchema>;
export type ToolEntry = z.output<typeof toolSchema>;
export type SessionState = z.output<typeof sessionSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/**
 * Validates untrusted input as an ActionRequest: structural limits first (cheap, and they protect
 * the schema walk), then the schema: checked by hand for the common shape, by zod for the rest
 * and for every error. Errors name the offending path.
 */
export function parseActionRequest(
  input: unknown,
  limits: JsonLimits = DEFAULT_JSON_LIMITS,
): ParseResult<ActionRequest> {
  const violation = findLimitViolation(input, limits);
  if (violation) return { ok: false, errors: [violation] };
  const common = parseCommonActionRequest(input);
  if (common) return { ok: true, value: common };
  const result = actionRequestSchema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) =>
      issue.code === 'invalid_type' && issue.message.endsWith('received undefined')
        ? `${formatPath(issue.path)} is required`
        : `${formatPath(issue.path)}: ${issue.message}`,
    ),
  };
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return 'request';
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}
