import { z } from 'zod';
import { duration } from './schema-parts.js';

/*
 * `audit.sinks` and `approvals.notify`: where the decision log and approval notices are sent.
 * Both send data out of Warden, so both are empty (off) by default.
 */

const secretOrText = z.string().min(1);

/**
 * An http(s) URL in which `${secret:name}` may stand for any part (a Slack webhook's URL is itself
 * the credential): resolved at each request, never logged.
 */
const SECRET_REF = /\$\{secret:[A-Za-z0-9._-]+\}/g;
const urlWithSecrets = z.string().refine((text) => {
  if (/^\$\{secret:[A-Za-z0-9._-]+\}$/.test(text)) return true;
  try {
    return ['http:', 'https:'].includes(new URL(text.replace(SECRET_REF, 'x')).protocol);
  } catch {
    return false;
  }
}, 'must be an http(s) URL; ${secret:name} may stand for a part of it or all of it');

/** Capped exponential backoff with jitter between attempts of a failed delivery. */
const retry = z
  .strictObject({
    /** The first wait after a failure. */
    initial: duration.default('500ms'),
    /** The longest wait; each failure doubles the wait up to this. */
    max: duration.default('30s'),
  })
  .prefault({});

/** What every sink has: a name (its cursor, metrics label and lease), batching, retries and when it counts as behind. */
const common = {
  /** Names the sink: its cursor in the database, its metrics label and its line in /readyz. Renaming it starts it again from `start`. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use 1-64 letters, digits and . _ -'),
  /** Where a sink with no cursor yet begins: the first record of the log (the whole history), or the head (new records only). */
  start: z.enum(['first', 'head']).default('first'),
  batch: z
    .strictObject({
      /** Records per delivery at most. */
      max_records: z.number().int().min(1).max(10_000).default(500),
      /** How long a delivery that is not full may wait for more records (0s: send at once). */
      max_wait: duration.default('0s'),
    })
    .prefault({}),
  retry,
  /** Behind by more records than this: /readyz says `degraded` (the sink also is while its deliveries fail). */
  max_lag: z.number().int().min(1).default(10_000),
  /** How often the log is read even without news of new records (records written by another process, a missed wake-up). */
  poll_interval: duration.default('2s'),
};

const fileSink = z.strictObject({
  type: z.literal('file'),
  ...common,
  /** The JSON-lines file, relative to warden.yaml. Rotated files get `.1`, `.2`, … (`.1` the newest). */
  path: z.string().min(1),
  rotate: z
    .strictObject({
      /** Rotate before a write would take the file past this size. */
      max_bytes: z.number().int().min(1024).default(104_857_600),
      /** Rotated files kept besides the current one; older ones are deleted. */
      max_files: z.number().int().min(1).max(1000).default(10),
    })
    .prefault({}),
});

const httpSink = z.strictObject({
  type: z.literal('http'),
  ...common,
  /** Each batch is POSTed here as JSON lines (`application/x-ndjson`); any 2xx acknowledges it. May hold `${secret:name}`. */
  url: urlWithSecrets,
  /** Request headers; values may hold `${secret:name}`. */
  headers: z.record(z.string(), secretOrText).default({}),
  /** A request not answered within this has failed (and is retried). */
  timeout: duration.default('10s'),
});

const natsSink = z.strictObject({
  type: z.literal('nats'),
  ...common,
  servers: z.array(z.string().min(1)).min(1).default(['nats://127.0.0.1:4222']),
  /** Each record is one message on this subject. */
  subject: z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a NATS subject without wildcards, such as warden.decisions'),
  /**
   * true (the default): publish to JetStream and wait for each PubAck; a stream must capture the
   * subject. false: core NATS, acknowledged when the server has received it (not stored: records
   * sent while no subscriber listens are gone).
   */
  jetstream: z.boolean().default(true),
  /** Credentials: a `.creds` file, a user and password, or a token; values may hold `${secret:name}`. */
  credentials: z
    .union([
      z.strictObject({ creds_file: z.string().min(1) }),
      z.strictObject({ user: z.string().min(1), password: secretOrText }),
      z.strictObject({ token: secretOrText }),
    ])
    .optional(),
  /** A publish not acknowledged within this has failed (and is retried). */
  timeout: duration.default('5s'),
});

export const sinkSchema = z.discriminatedUnion('type', [fileSink, httpSink, natsSink]);

/** `audit.sinks`: names must be unique (each is a cursor). */
export const sinksSchema = z
  .array(sinkSchema)
  .default([])
  .superRefine((sinks, ctx) => {
    const seen = new Set<string>();
    sinks.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `sink name "${s.name}" is used twice; each sink needs its own` });
      seen.add(s.name);
    });
  });

/** One webhook told about approvals (`approvals.notify`). */
export const approvalNotifySchema = z.strictObject({
  /** Names the webhook: its cursor, metrics label and lease. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use 1-64 letters, digits and . _ -'),
  /** Where to POST; may hold `${secret:name}` (a Slack incoming webhook's URL is a secret: `${secret:slack_webhook}`). */
  url: urlWithSecrets,
  /** Request headers; values may hold `${secret:name}`. */
  headers: z.record(z.string(), secretOrText).default({}),
  /** `slack`: a Slack-compatible message (`text` and `blocks`, for an incoming webhook); `json`: Warden's own fields. */
  format: z.enum(['slack', 'json']).default('slack'),
  /** `pending`: a new approval waits; `decided`: it was approved or denied; `expired`: nobody decided in time. */
  events: z.array(z.enum(['pending', 'decided', 'expired'])).min(1).default(['pending', 'decided', 'expired']),
  /** Add the (redacted) arguments to the message. Off by default: a chat channel is not the audit log. */
  include_arguments: z.boolean().default(false),
  timeout: duration.default('10s'),
  retry: z
    .strictObject({
      initial: duration.default('1s'),
      max: duration.default('5m'),
      /** After this many failed attempts a notification is given up (logged, counted as dropped) and the next one sent. */
      max_attempts: z.number().int().min(1).default(12),
    })
    .prefault({}),
});

export const approvalNotifiesSchema = z
  .array(approvalNotifySchema)
  .default([])
  .superRefine((hooks, ctx) => {
    const seen = new Set<string>();
    hooks.forEach((h, i) => {
      if (seen.has(h.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `webhook name "${h.name}" is used twice; each needs its own` });
      seen.add(h.name);
    });
  });

export type SinkConfig = z.output<typeof sinkSchema>;
export type FileSinkConfig = z.output<typeof fileSink>;
export type HttpSinkConfig = z.output<typeof httpSink>;
export type NatsSinkConfig = z.output<typeof natsSink>;
export type ApprovalNotifyConfig = z.output<typeof approvalNotifySchema>;
