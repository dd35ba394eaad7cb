import { z } from 'zod';
import { TRUST_LEVELS } from '../model/trust.js';
import { parseDuration } from '../policy/duration.js';

/**
 * `warden.yaml` as written. snake_case keys, strict objects (a typo is an error, never ignored),
 * durations as `30s` / `15m` / `1h`. Defaults are the safe choice.
 */
const duration = z.string().refine((s) => parseDuration(s) !== undefined, 'must be a duration such as 500ms, 30s, 15m, 1h');
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'use letters, digits and . _ : / -');

const apiKeyCredential = z.strictObject({
  /** `sha256:<hex>` of the key; generate keys with `warden agents create-key`. */
  api_key_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:<64 hex digits>"'),
  key_id: z.string().regex(/^[A-Za-z0-9]{4,64}$/, 'must be 4-64 letters or digits'),
});
const hmacCredential = z.strictObject({
  /** A secret reference such as `${secret:support_hmac}`; the shared secret is never in this file. */
  hmac_secret: z.string().regex(/^\$\{secret:[A-Za-z0-9._-]+\}$/, 'must be a secret reference like ${secret:name}'),
  key_id: z.string().regex(/^[A-Za-z0-9]{4,64}$/, 'must be 4-64 letters or digits'),
});

export const agentSchema = z.strictObject({
  id: name,
  roles: z.array(z.string().min(1)).default([]),
  tenant: z.string().min(1).optional(),
  trust: z.enum(TRUST_LEVELS).default('low'),
  status: z.enum(['active', 'suspended']).default('active'),
  credentials: z.array(z.union([apiKeyCredential, hmacCredential])).default([]),
});

const httpExecution = z.strictObject({
  url: z.string().min(1),
  method: z.enum(['POST', 'PUT', 'PATCH', 'GET', 'DELETE']).default('POST'),
  /** Values may hold `${secret:name}`, resolved only when the call is made. */
  headers: z.record(z.string(), z.string()).default({}),
  timeout: duration.default('10s'),
  max_response_bytes: z.number().int().positive().default(1_048_576),
});

export const toolSchema = z.strictObject({
  name,
  description: z.string().default(''),
  risk: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
  effect: z.enum(['read', 'write', 'external', 'destructive']).default('write'),
  tags: z.array(z.string()).default([]),
  /** JSON Schema for the arguments (draft 2020-12 or 07); absent means "an object". */
  input_schema: z.record(z.string(), z.unknown()).optional(),
  /** Safe to retry and to replay from an idempotency key. */
  idempotent: z.boolean().default(false),
  /** Only for low-risk reads: when the store or PDP cannot answer, allow (and log it). */
  fail_open: z.boolean().default(false),
  /** Arguments whose value is money spent, counted against the session's spend budget. */
  spend_arg: z.string().optional(),
  http: httpExecution.optional(),
});

const rateLimit = z.strictObject({
  scope: z.enum(['agent', 'agent_tool', 'tenant']),
  /** For agent_tool: which tool(s) (exact or glob); default every tool. */
  tool: z.string().optional(),
  limit: z.number().int().positive(),
  window: duration,
  algorithm: z.enum(['sliding_window', 'token_bucket']).default('sliding_window'),
});

const humanToken = z.strictObject({
  /** Who this token is: shown in the log as the approver or operator. */
  id: name,
  /** `sha256:<hex>` of the bearer token; create one with `warden humans create-token`. */
  token_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:<64 hex digits>"'),
  /** viewer, approver, admin, plus any business roles approval rules name (finance_manager…). */
  roles: z.array(z.string().min(1)).min(1),
  /** The tenant this person acts for; `*` for operators of every tenant. */
  tenant: z.string().min(1).default('*'),
});

const oidc = z.strictObject({
  issuer: z.string().url(),
  audience: z.string().min(1),
  /** Where the signing keys are; default `<issuer>/.well-known/jwks.json`. */
  jwks_uri: z.string().url().optional(),
  /** Claim holding the roles (a list, or a space-separated string). */
  roles_claim: z.string().default('roles'),
  tenant_claim: z.string().default('tenant'),
  subject_claim: z.string().default('sub'),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** Largest request body accepted, in bytes. */
      body_limit: z.number().int().positive().default(1_048_576),
      /** Watch the policy folder and hot-reload valid changes. */
      watch_policies: z.boolean().default(true),
    })
    .prefault({}),
  humans: z.strictObject({ tokens: z.array(humanToken).default([]), oidc: oidc.optional() }).prefault({}),
  incidents: z
    .strictObject({
      /** A critical incident suspends the agent it names. */
      suspend_on_critical: z.boolean().default(true),
    })
    .prefault({}),
  compliance: z
    .strictObject({
      /** Denial rate (0–1) over the window at which the status turns warning / critical. */
      warning_denial_rate: z.number().min(0).max(1).default(0.1),
      critical_denial_rate: z.number().min(0).max(1).default(0.25),
      window: duration.default('1h'),
    })
    .prefault({}),
  storage: z.string().default('sqlite:./warden.db'),
  /** Folder of policy files, relative to this file. */
  policies: z.string().default('./policies'),
  agents: z.array(agentSchema).default([]),
  tools: z.array(toolSchema).default([]),
  registration: z
    .strictObject({
      /** Unknown agents are registered at trust `low` instead of being denied. */
      auto_register_unknown: z.boolean().default(false),
      auto_register_roles: z.array(z.string()).default([]),
    })
    .prefault({}),
  authentication: z
    .strictObject({
      /** Signed envelopes older or newer than this are refused. */
      clock_skew: duration.default('5m'),
      /** How long a request id is remembered for replay rejection (at least the clock skew). */
      replay_window: duration.default('10m'),
    })
    .prefault({}),
  arguments: z
    .strictObject({
      forbidden_keys: z.array(z.string()).default(['password', 'api_key', 'apikey', 'token', 'secret', 'private_key']),
      max_bytes: z.number().int().positive().default(262_144),
      max_depth: z.number().int().positive().max(64).default(16),
    })
    .prefault({}),
  limits: z
    .strictObject({
      rate: z.array(rateLimit).default([]),
      session: z
        .strictObject({
          max_calls: z.number().int().positive().optional(),
          max_spend: z.number().positive().optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  approvals: z
    .strictObject({
      /** How often expired approvals are swept. */
      sweep_interval: duration.default('30s'),
    })
    .prefault({}),
  break_glass: z.strictObject({ max_duration: duration.default('1h') }).prefault({}),
  /**
   * Off by default: measured in bench/pipeline, building the cache key (the canonical request)
   * costs more than deciding (~10 µs vs ~2-3 µs). Worth it only for very large policy sets.
   */
  decision_cache: z
    .strictObject({ ttl: duration.default('0s'), max_entries: z.number().int().nonnegative().default(10_000) })
    .prefault({}),
  audit: z
    .strictObject({
      /** Also wait for read decisions to be durable before answering (side effects always wait). */
      durable_reads: z.boolean().default(false),
      max_batch: z.number().int().positive().default(1024),
    })
    .prefault({}),
  redaction: z
    .strictObject({
      keys: z.array(z.string()).default([]),
      patterns: z.array(z.strictObject({ name: z.string(), regex: z.string() })).default([]),
      disable: z.array(z.string()).default([]),
    })
    .prefault({}),
  secrets: z
    .strictObject({
      providers: z
        .array(
          z.union([
            z.strictObject({ type: z.literal('env'), prefix: z.string().default('WARDEN_SECRET_') }),
            z.strictObject({ type: z.literal('file'), dir: z.string() }),
          ]),
        )
        .default([{ type: 'env', prefix: 'WARDEN_SECRET_' }]),
    })
    .prefault({}),
});

export type ConfigDocument = z.output<typeof configSchema>;
export type AgentConfig = z.output<typeof agentSchema>;
export type ToolConfig = z.output<typeof toolSchema>;
export type RateLimitConfig = z.output<typeof rateLimit>;
export type HumanTokenConfig = z.output<typeof humanToken>;
export type OidcConfig = z.output<typeof oidc>;
