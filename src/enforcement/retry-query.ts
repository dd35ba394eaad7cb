import { sha256 } from '../auth/credentials.js';
import { canonicalJson } from '../model/canonical-json.js';
import type { JsonObject } from '../model/json.js';
import type { ApprovalRetryQuery } from '../store/ports.js';

/**
 * What the pipeline asks the approval store on every tool call (pipeline.ts `approvalForRetry`):
 * the call's agent, tenant, user, tool and arguments. The arguments' hash is computed when a store
 * reads it, once: the SQLite store answers most calls (no approval for this agent and tool)
 * without it. A class, not an object literal with a getter: V8 defines a literal's accessor
 * through the runtime on every evaluation (~0.75 µs per call, measured), where a getter on the
 * prototype costs nothing to set up. A store must read the fields, not spread the query (a
 * spread would not copy the hash).
 */
export class RetryQuery implements ApprovalRetryQuery {
  readonly since = 0;
  private hash: string | undefined;

  constructor(
    readonly agentId: string,
    readonly tenant: string,
    readonly tool: string,
    private readonly args: JsonObject,
    /** undefined: the call names no user (the stores read it as `userId ?? null`). */
    readonly userId: string | undefined,
  ) {}

  get argsHash(): string {
    return (this.hash ??= sha256(canonicalJson(this.args)));
  }
}
