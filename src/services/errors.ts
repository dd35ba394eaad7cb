/**
 * Why a service refused: each surface turns the code into its own answer (HTTP status and
 * problem type, an MCP tool error, a CLI exit code). The message is for the caller to read.
 */
export type ServiceErrorCode =
  /** The caller is not allowed to do this (a role, a tenant, an agent acting for another). */
  | 'forbidden'
  /** No such thing, or one the caller may not see (the two look the same on purpose). */
  | 'not_found'
  /** The state does not allow it now (already exists, already voted, not pending). */
  | 'conflict'
  /** The input is wrong in a way a schema could not tell. */
  | 'invalid';

export class ServiceError extends Error {
  /** A short name for the problem (an HTTP problem type), e.g. `not-your-agent`. */
  readonly problem?: string;
  /** Structured facts for the caller (diagnostics of a refused policy…). */
  readonly data?: Record<string, unknown>;

  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    options: { data?: Record<string, unknown>; problem?: string } = {},
  ) {
    super(message);
    this.name = 'ServiceError';
    if (options.problem) this.problem = options.problem;
    if (options.data) this.data = options.data;
  }
}
