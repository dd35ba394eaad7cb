import type { JsonObject } from '../model/json.js';

export type CallStatus = 'executed' | 'denied' | 'pending_approval' | 'error';

/** The HTTP statuses an ending maps to (the MCP and SDK surfaces read `status` instead). */
export type EndingHttpStatus = 200 | 202 | 400 | 401 | 403 | 404 | 409 | 429 | 502 | 503;

export interface EnforcementErrorOptions {
  /** What an HTTP surface should answer. */
  httpStatus: EndingHttpStatus;
  /** Extra facts for the decision record (`details`). */
  details?: JsonObject;
  /** When a limit lifts (rate limits). */
  retryAfterMs?: number;
  /** `denied` (the default) for a refusal; `error` when Warden or the tool could not do its part. */
  status?: 'denied' | 'error';
}

/**
 * Why an exchange ended before (or instead of) executing: thrown by a stage, caught by the
 * pipeline, which turns it into a deny decision from that stage and logs it like any other.
 * `code` is the stage that ended it (authenticate, agent, arguments, registry, tenant, limits,
 * obligations, approval, execute, audit, internal, request).
 */
export class EnforcementError extends Error {
  readonly httpStatus: EndingHttpStatus;
  readonly details: JsonObject;
  readonly retryAfterMs?: number;
  readonly status: 'denied' | 'error';

  constructor(
    readonly code: string,
    message: string,
    options: EnforcementErrorOptions,
  ) {
    super(message);
    this.name = 'EnforcementError';
    this.httpStatus = options.httpStatus;
    this.details = options.details ?? {};
    this.status = options.status ?? 'denied';
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  /** The stage that ended the exchange, as decision records name it. */
  get stage(): string {
    return this.code;
  }
}
