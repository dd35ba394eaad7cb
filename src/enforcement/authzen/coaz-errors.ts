/**
 * The COAZ framework's three ways a PEP refuses an operation that are not a plain policy deny.
 * Typed so the pipeline can end the exchange from the right stage and a surface can answer with
 * the binding's code (COAZ-MCP: -32602 for a mapping error, -32603 for the PDP).
 */

/** What kind of mapping error: the mapping itself, an expression, a missing field, or a trust anchor. */
export type MappingErrorKind = 'malformed' | 'expression' | 'missing' | 'trust_anchor';

/** The PEP cannot construct a valid AuthZEN request from the mapping and the call's inputs. */
export class CoazMappingError extends Error {
  override readonly name = 'CoazMappingError';
  constructor(
    readonly kind: MappingErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The AuthZEN PDP could not be reached, or answered something that is not a decision. */
export class PdpCommunicationError extends Error {
  override readonly name = 'PdpCommunicationError';
}
