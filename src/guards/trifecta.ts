import type { GuardsConfig } from '../config/config-schema.js';
import type { ToolEntry } from '../model/action-request.js';
import { hasExternalEffect } from './taint.js';

/**
 * The "lethal trifecta" (Simon Willison): an agent that has read private data, has been exposed to
 * untrusted content, and can act outside can be instructed by that content to send the data away.
 * Each leg alone is ordinary; the three together in one session are the exfiltration path.
 */
export interface TrifectaInput {
  /** A tool tagged as reading private data has run in the session. */
  privateData: boolean;
  /** The session has seen untrusted content (session.tainted). */
  untrustedContent: boolean;
  /** The tool being called. */
  tool: ToolEntry | undefined;
  /**
   * The call names counterparties (IBANs, accounts, phones, e-mail addresses, hosts) and every one
   * of them comes from trusted data (the user's trusted prompt, a trusted tool's result): whatever
   * it carries goes where the user said, not to whoever wrote the untrusted content. Paying the
   * landlord the user named after reading the account history is not exfiltration.
   */
  destinationTrusted?: boolean;
}

export function lethalTrifecta(input: TrifectaInput, config: GuardsConfig): boolean {
  return input.privateData && input.untrustedContent && !input.destinationTrusted && hasExternalEffect(input.tool, config);
}
