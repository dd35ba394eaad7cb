import { z } from 'zod';
import { TRUST_LEVELS } from '../model/trust.js';
import { approvalNotifiesSchema, sinksSchema } from './sinks-schema.js';
import { telemetrySchema } from './telemetry-schema.js';
import { pdpSchema } from './pdp-schema.js';
import { duration, secretReference, secureUrl } from './schema-parts.js';

/**
 * `warden.yaml` as written. snake_case keys, strict objects (a typo is an error, never ignored),
 * durations as `30s` / `15m` / `1h`. Defaults are the safe choice.
 */
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'use letters, digits and . _ : / -');

const apiKeyCredential = z.strictObject({
  /** `sha256:<hex>` of the key; generate keys with `warden agents create-key`. */
  api_key_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:<64 hex digits>"'),
  key_id: z.string().regex(/^[A-Za-z0-9]{4,64}$/, 'must be 4-64 letters or digits'),
});
const hmacCredential = z.strictObject({
  /** A secret reference such as `${secret:support_hmac}`; the shared secret is never in this file. */
  hmac_secret: secretReference,
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
  /**
   * Arguments that must not carry a value from an untrusted source (the user prompt, untrusted
   * tool output) without a human's approval. Absent: guards.taint.sensitive_args by name.
   */
  sensitive_args: z.array(z.string().min(1)).optional(),
  http: httpExecution.optional(),
});

/** How Warden reaches an MCP server: a process it starts (stdio) or a Streamable HTTP endpoint. */
const upstreamSchema = z
  .strictObject({
    /** Names the upstream in logs, `/readyz`, `tool.server` and, on collisions, exposed names. */
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'use letters, digits, _ and -'),
    stdio: z
      .strictObject({
        command: z.string().min(1),
        args: z.array(z.string()).default([]),
        /** Values may hold `${secret:name}`, resolved when the process starts. */
        env: z.record(z.string(), z.string()).default({}),
        /** Relative to warden.yaml. */
        cwd: z.string().optional(),
      })
      .optional(),
    http: z
      .strictObject({
        url: z.string().url(),
        /** Values may hold `${secret:name}`, resolved when the connection opens. */
        headers: z.record(z.string(), z.string()).default({}),
      })
      .optional(),
    /** `boot`: connect when Warden starts; `lazy`: on the first request that needs this upstream. */
    start: z.enum(['boot', 'lazy']).default('boot'),
    /** Longest wait for one upstream request (tools/call, resources/read…). */
    timeout: duration.default('60s'),
    /** Prefix every exposed name with `<name>.`, not only the ones that collide. */
    prefix: z.boolean().default(false),
    /**
     * Per-tool overrides of what the upstream's annotations imply (by the upstream's tool name).
     * Any field of a tool entry except its name and execution.
     */
    tools: z
      .record(
        z.string(),
        z.strictObject({
          risk: z.enum(['low', 'medium', 'high', 'critical']).optional(),
          effect: z.enum(['read', 'write', 'external', 'destructive']).optional(),
          tags: z.array(z.string()).optional(),
          idempotent: z.boolean().optional(),
          spend_arg: z.string().optional(),
          /** Hide the tool from agents altogether. */
          hidden: z.boolean().optional(),
        }),
      )
      .default({}),
    /** Tags added to every tool of this upstream (e.g. `untrusted_output` for a web fetcher). */
    tags: z.array(z.string()).default([]),
  })
  .refine((u) => (u.stdio === undefined) !== (u.http === undefined), { message: 'give exactly one of stdio: or http:' });

const mcpGateway = z
  .strictObject({
    /** The agent a `warden mcp` stdio session acts as, unless `--agent` names another. */
    stdio_agent: z.string().optional(),
    /** The user it acts for (whom elicitation asks to approve), unless `--user` names another. */
    stdio_user: z.string().optional(),
    /** How long a call that needs approval is held open (with progress notifications) before it answers "pending". */
    approval_wait: duration.default('30s'),
    /** Ask the requesting user through MCP elicitation when the client supports it and the rule allows them. */
    elicitation: z.boolean().default(true),
    /**
     * `first_use`: a tool definition seen for the first time is pinned as it is; `approve`: it
     * stays blocked until an admin approves it (`warden tools approve`).
     */
    pin_new_tools: z.enum(['first_use', 'approve']).default('first_use'),
    /** Largest JSON-RPC message accepted on `/mcp`, in bytes (default: server.body_limit). */
    max_message_bytes: z.number().int().positive().optional(),
    /**
     * The secret every replica shares to sign MCP session ids (`/mcp`, `/mcp/governance`), as
     * `${secret:name}` (at least 32 characters): a session opened on one replica then goes on on
     * any other. Unset: each process signs with a key of its own, and a session only works on the
     * replica that opened it.
     */
    session_secret: secretReference.optional(),
    /** An MCP session id older than this is refused on every replica; the client opens a new session. */
    session_max_age: duration.default('24h'),
    /**
     * A session with no request for this long is ended (its memory freed; the client opens a new
     * one). SDK clients send no DELETE when they close, so abandoned sessions are common: at the
     * per-agent cap the least recently used idle session is ended first in any case.
     */
    session_idle_timeout: duration.default('5m'),
    /**
     * DNS-rebinding protection of /mcp and /mcp/governance: host names besides localhost,
     * 127.0.0.1 and [::1] that requests arriving on a loopback address may name…
     */
    allowed_hosts: z.array(z.string().min(1)).default([]),
    /** …and browser origins, besides the endpoint's own, that may call them. */
    allowed_origins: z.array(z.string().url()).default([]),
    /**
     * COAZ-MCP: build an AuthZEN request for every tools/call, resources/read and prompts/get — the
     * tool's declared `x-authzen-mapping`, else the binding's default — which policies see as
     * `context.authzen`. A broken mapping or one that sets a trust-anchored field is a mapping
     * error (denied). Always on when `pdp.authzen` is set.
     */
    authzen_mapping: z.boolean().default(true),
  })
  .prefault({});

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

const pepCredential = z.strictObject({
  id: name,
  /** The tenants it enforces for. */
  tenants: z.array(z.string().min(1)).min(1),
  /** `sha256:<hex>` of its bearer token. */
  token_hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>'),
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
  /** Longest a token may live (`exp - iat`, or `exp - now` without `iat`); a token without `exp` is refused. */
  max_lifetime: duration.default('12h'),
});

/** On-behalf-of user tokens: who the user is (and their roles) when an agent acts for someone. */
const userJwt = z.strictObject({
  issuer: z.string().url(),
  audience: z.string().min(1),
  /** Where the signing keys are; default `<issuer>/.well-known/jwks.json`. */
  jwks_uri: z.string().url().optional(),
  subject_claim: z.string().default('sub'),
  /** Claim holding the user's roles (a list, or a space-separated string). */
  roles_claim: z.string().default('roles'),
  tenant_claim: z.string().default('tenant'),
  /**
   * A claim naming the agent the token was issued to (a dotted path: `azp`, `client_id`,
   * `act.sub`); when set, a token issued to another agent is refused.
   */
  agent_claim: z.string().optional(),
  /** The longest a user token may live (`exp - iat`); one without `exp` is refused. */
  max_lifetime: duration.default('1h'),
});

/** The threat guards (src/guards): what they look for. They only add signals; policies decide. */
/** What a tool result with findings becomes before the agent reads it (guards.injection.results). */
const resultTreatment = z.enum(['deny', 'strip', 'annotate', 'allow']);
const resultTreatments = z.strictObject({
  /** Exfiltration links (images and links carrying data to hosts not allowed): critical findings. */
  exfiltration: resultTreatment.default('strip'),
  /** Every other suspicious finding: injected instructions, hidden text, forged role headers… */
  injection: resultTreatment.default('annotate'),
  /** Per tool (a glob on the exposed name, e.g. `web.*`); the first match wins, what it leaves out is the default. */
  tools: z.array(z.strictObject({ tool: z.string().min(1), exfiltration: resultTreatment.optional(), injection: resultTreatment.optional() })).default([]),
});

const guardsSchema = z
  .strictObject({
    /** Load the built-in guard policies (src/guards/default-policies.ts) beside the policy folder. */
    default_policies: z.boolean().default(true),
    /** Hosts links and images may point to without counting as exfiltration. */
    allowed_hosts: z.array(z.string().min(1)).default([]),
    injection: z
      .strictObject({
        /** Score (0-1) from which a scan is suspicious; absent: the detector's own default. */
        threshold: z.number().min(0).max(1).optional(),
        /** Scan every tool result for indirect injection (a finding taints the session). */
        scan_results: z.boolean().default(true),
        /**
         * What a scanned result with suspicious findings becomes: `deny` withholds it, `strip`
         * removes the exfiltration links / hidden text and annotates, `annotate` adds a `_meta`
         * flag and a visible warning, `allow` passes it unchanged (the finding is still recorded).
         */
        results: resultTreatments.prefault({}),
        /**
         * An injection classifier outside Warden, asked beside the built-in detector
         * (guards/external-classifier.ts; the built-in guard-classifier policy acts on its
         * answer and on its failures). Off when absent.
         */
        external: z
          .strictObject({
            url: secureUrl,
            /** Sent as `Authorization: Bearer …`. */
            credentials: secretReference.optional(),
            /** A classifier that has not answered within this has failed (`status: error`). */
            timeout: duration.default('500ms'),
            /** Score (0-1) from which a text is flagged. */
            threshold: z.number().min(0).max(1).default(0.5),
            /** What it is asked about: the user prompt, the arguments, tool results (when scan_results). */
            scan: z.array(z.enum(['prompt', 'args', 'results'])).min(1).default(['prompt', 'args', 'results']),
            /** Texts per request at most (the longest first) and characters per text (the rest is cut). */
            max_texts: z.number().int().positive().max(256).default(32),
            max_chars: z.number().int().positive().max(100_000).default(8_192),
          })
          .optional(),
      })
      .prefault({}),
    taint: z
      .strictObject({
        /** How many tainted values (hashed) a session remembers; the oldest are forgotten first. */
        max_values: z.number().int().positive().max(10_000).default(512),
        /**
         * Who writes the user prompt. `untrusted` (default): a customer or another party — its
         * values taint sensitive arguments. `trusted`: the authenticated user — its values (their
         * own payee, their own amount) are trusted data, and its counterparties are not new.
         */
        user_prompt: z.enum(['untrusted', 'trusted']).default('untrusted'),
        /** Argument names that are sensitive for tools that do not list their own sensitive_args. */
        sensitive_args: z
          .array(z.string().min(1))
          .default(['amount', 'price', 'total', 'recipient', 'recipients', 'to', 'cc', 'bcc', 'email', 'account', 'iban', 'destination', 'url', 'webhook', 'endpoint', 'path', 'sql', 'command']),
        /** Tool tags whose results are untrusted content (as are results of tools with effect external). */
        untrusted_tags: z.array(z.string()).default(['untrusted_output', 'untrusted', 'web', 'external_content']),
        /** Tool tags that mark a tool as reading private data. */
        private_tags: z.array(z.string()).default(['private_data', 'pii', 'secrets', 'confidential']),
        /** Tool tags that mark a tool as acting outside (besides effect external), for the trifecta. */
        external_tags: z.array(z.string()).default(['send', 'export', 'http', 'email', 'external', 'upload']),
      })
      .prefault({}),
  })
  .prefault({});

const agentJwt = z.strictObject({
  issuer: z.string().url(),
  audience: z.string().min(1),
  /** Where the signing keys are; default `<issuer>/.well-known/jwks.json`. */
  jwks_uri: z.string().url().optional(),
  /** The claim naming the agent (a registered agent id). */
  agent_claim: z.string().min(1).default('sub'),
  /** Longest a token may live (`exp - iat`, or `exp - now` without `iat`); a token without `exp` is refused. */
  max_lifetime: duration.default('1h'),
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
      /** Longest a client may take to send the request headers (slow-loris connections are closed). */
      headers_timeout: duration.default('10s'),
      /**
       * Longest a client may take to send a whole request, headers and body. Responses are not
       * limited: event streams and MCP streams stay open as long as they are used.
       */
      request_timeout: duration.default('30s'),
      /** How long an idle keep-alive connection is kept for the next request. */
      keep_alive_timeout: duration.default('72s'),
      /** At shutdown, how long requests in flight may take to finish before their connections are closed. */
      shutdown_grace: duration.default('10s'),
      /** The address people reach Warden at (`https://warden.example.com`): links in approval notifications point into its dashboard. */
      public_url: z.string().url().optional(),
      /**
       * One log line per request received and per response sent (fastify's request logging, at
       * level info), and one per tool call. Off by default: the decision log is the record of
       * every decision, and a log line per request costs more than deciding it.
       */
      access_log: z.boolean().default(false),
    })
    .prefault({}),
  humans: z.strictObject({ tokens: z.array(humanToken).default([]), oidc: oidc.optional() }).prefault({}),
  /**
   * PEP credentials: services that enforce Warden's decisions for their own (already
   * authenticated) users, within some tenants. They may ask the decision API about agents of
   * those tenants and say who the user is and what roles they hold; records say so.
   */
  peps: z.array(pepCredential).default([]),
  /**
   * Warden as an OpenID AuthZEN PDP (POST /access/v1/evaluation(s), GET
   * /.well-known/authzen-configuration): PEP credentials (and admins) ask about their tenants.
   */
  authzen: z
    .strictObject({
      /** Most evaluations one /access/v1/evaluations request may carry (a larger batch is a 400). */
      max_evaluations: z.number().int().positive().max(10_000).default(100),
      /**
       * Put Warden's reason, deciding policy and rule, bundle and record id in each decision's
       * `context`. Off: a bare `{"decision": …}` (the interop suite compares batches exactly);
       * a require_approval still carries its approval requirement.
       */
      reasons: z.boolean().default(true),
      /** The PDP identifier published in the metadata (`policy_decision_point`); default: the request's own origin. */
      issuer: z.string().url().optional(),
    })
    .prefault({}),
  incidents: z
    .strictObject({
      /** A critical incident suspends the agent it names. */
      suspend_on_critical: z.boolean().default(true),
      /** This many incidents of one agent within the window suspend it (absent: never). */
      suspend_after: z.strictObject({ violations: z.number().int().positive(), window: duration }).optional(),
      /** Every policy deny (and every deny by a guard rule) creates an incident. */
      on_policy_deny: z.boolean().default(true),
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
  /**
   * Where state lives: `sqlite:./warden.db` (embedded, the default: one process) or
   * `postgres://user@host:5432/db` (several replicas; add `?schema=name` to keep Warden's tables
   * in a schema of their own). Postgres needs `redis` too: limits, request ids and sessions are
   * shared there.
   */
  storage: z.string().default('sqlite:./warden.db'),
  /** Options of a `postgres://` storage. */
  postgres: z
    .strictObject({
      /** Connections per process. */
      pool_size: z.number().int().min(1).max(200).default(10),
      /** A statement that runs longer is cancelled (and the call it served denied). */
      statement_timeout: duration.default('5s'),
      /** How long to wait for a connection (from the pool or to the server). */
      connect_timeout: duration.default('5s'),
      /** Apply pending migrations at start (under a lock, so replicas do not race). Off: `warden migrate` does. */
      migrate_on_start: z.boolean().default(true),
    })
    .prefault({}),
  /**
   * Redis, for what replicas share and is hot: rate limits, the replay guard, session state,
   * policy reloads and the list of replicas. When it is unreachable, calls are denied (fail
   * closed) until it answers again.
   */
  redis: z
    .strictObject({
      url: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'),
      /** Prefix of every key (several Warden deployments on one Redis). */
      prefix: z.string().default('warden:'),
      /** A command not answered within this is failed (and the call denied), never queued. */
      command_timeout: duration.default('1s'),
    })
    .optional(),
  /** Folder of policy files, relative to this file. */
  policies: z.string().default('./policies'),
  agents: z.array(agentSchema).default([]),
  tools: z.array(toolSchema).default([]),
  /** MCP servers Warden stands in front of; their tools join the registry. */
  upstreams: z.array(upstreamSchema).default([]),
  mcp: mcpGateway,
  guards: guardsSchema,
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
      /** Agents may also present a JWT from this issuer (workload identity) instead of an API key. */
      agent_jwt: agentJwt.optional(),
      /**
       * The identity provider whose on-behalf-of tokens prove the user an agent acts for
       * (`X-Warden-User-Token`). Without one, a user an agent names is unverified and has no roles.
       */
      user_jwt: userJwt.optional(),
    })
    .prefault({}),
  arguments: z
    .strictObject({
      /**
       * Argument names refused whatever their value, at any depth (arrays included), compared after
       * NFKC, case folding and removal of invisible and separator characters: `Pass-Word`,
       * `pass\u200bword` and `ｐａｓｓｗｏｒｄ` are `password`.
       */
      forbidden_keys: z.array(z.string()).default(['password', 'passwd', 'api_key', 'apikey', 'token', 'secret', 'private_key', 'access_token', 'refresh_token', 'client_secret', 'authorization']),
      /**
       * Words that make any argument name a credential wherever they stand in it, as whole words
       * (`access_token`, `clientSecret`, `AWS_SECRET_ACCESS_KEY`; not `max_tokens`, `secretary`).
       * Not when a descriptor word follows (`token_count`, `secret_name`, `SecretId`) or the value
       * is a boolean or null (`has_password: true`).
       */
      forbidden_patterns: z
        .array(z.string().min(1))
        .default(['secret', 'secrets', 'token', 'password', 'passwords', 'passwd', 'passphrase', 'private_key', 'api_key', 'access_key', 'ssh_key', 'signing_key', 'credential', 'credentials', 'authorization']),
      /** Argument names a pattern never refuses (forbidden_keys still apply): pagination and idempotency tokens. */
      allowed_keys: z
        .array(z.string().min(1))
        .default(['next_token', 'page_token', 'next_page_token', 'prev_page_token', 'previous_page_token', 'continuation_token', 'pagination_token', 'sync_token', 'resume_token', 'client_token', 'idempotency_token']),
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
      /**
       * How long a settled approval (executed, denied) keeps answering retries of its call (the
       * same agent, tenant, user, tool and arguments), counted from when it was settled: an
       * executed one with its stored result (not run again), a denied one with the denial. After
       * it, the same call asks for a new approval. A pending approval answers until it expires.
       */
      retry_window: duration.default('24h'),
      /** Webhooks told about new (and decided) approvals: a Slack-compatible message with a link to the dashboard. None by default. */
      notify: approvalNotifiesSchema,
    })
    .prefault({}),
  break_glass: z.strictObject({ max_duration: duration.default('1h') }).prefault({}),
  cli: z
    .strictObject({
      /**
       * Whether `warden … --local-admin` may change state by opening the database directly
       * (recorded as local-admin with the OS user). false: every change goes through the API with
       * a person's token.
       */
      local_admin: z.boolean().default(true),
    })
    .prefault({}),
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
      /**
       * Signed checkpoints: the head of the log (seq, hash, time) signed with an Ed25519 key every
       * `every` records or `interval`, kept in the database and published to `anchor` outside it,
       * so that `warden audit verify --anchor` detects removed newest records, a rewritten chain
       * and an emptied log. Absent: no checkpoints (the hash chain alone).
       */
      checkpoints: z
        .strictObject({
          /** The private key (PEM, from `warden keys generate`): a path relative to this file, or `${secret:name}`. */
          key: z.string().min(1),
          /**
           * Public keys (PEM paths, or `${secret:name}`) of keys used before this one: their
           * checkpoints are still believed after a rotation. Nothing is signed with them.
           */
          previous_keys: z.array(z.string().min(1)).default([]),
          every: z.number().int().positive().default(1000),
          interval: duration.default('60s'),
          /** Where checkpoints are published; absent: the database only (truncation together with the checkpoints goes unseen). */
          anchor: z
            .discriminatedUnion('type', [
              /** One JSON line per checkpoint appended to a file (relative to this file); keep it where the database's writers cannot rewrite it. */
              z.strictObject({ type: z.literal('file'), path: z.string().min(1) }),
              /** One JSON line per checkpoint on standard output, for the log collector. */
              z.strictObject({ type: z.literal('stdout') }),
              /** Each checkpoint POSTed as JSON; header values may hold `${secret:name}`. */
              z.strictObject({ type: z.literal('http'), url: z.string().url(), headers: z.record(z.string(), z.string()).default({}) }),
            ])
            .optional(),
        })
        .optional(),
      /** Where the decision log is sent as it grows (files, HTTP, NATS): each sink follows the log with a durable cursor. None by default. */
      sinks: sinksSchema,
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
  /** OpenTelemetry traces and metrics over OTLP/HTTP (telemetry-schema.ts). Off by default. */
  telemetry: telemetrySchema,
  /** Decision points outside Warden (pdp-schema.ts): an AuthZEN PDP. Off by default. */
  pdp: pdpSchema,
});

export type ConfigDocument = z.output<typeof configSchema>;
export type AgentConfig = z.output<typeof agentSchema>;
export type ToolConfig = z.output<typeof toolSchema>;
export type RateLimitConfig = z.output<typeof rateLimit>;
export type HumanTokenConfig = z.output<typeof humanToken>;
export type OidcConfig = z.output<typeof oidc>;
export type AgentJwtConfig = z.output<typeof agentJwt>;
export type UserJwtConfig = z.output<typeof userJwt>;
export type GuardsConfig = z.output<typeof guardsSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type CheckpointsConfig = NonNullable<ConfigDocument['audit']['checkpoints']>;
