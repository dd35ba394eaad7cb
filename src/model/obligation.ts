/**
 * Obligations a decision attaches to an action. The PDP only names them; the pipeline enforces
 * them, and an obligation it cannot enforce turns the action into a deny.
 */
export type Obligation =
  | { type: 'redact'; paths: string[] }
  | { type: 'cap'; arg: string; max: number }
  | { type: 'require_idempotency_key'; arg: string }
  | { type: 'filter_tenant'; path: string; field: string };

export type ObligationType = Obligation['type'];
export const OBLIGATION_TYPES: readonly ObligationType[] = [
  'redact',
  'cap',
  'require_idempotency_key',
  'filter_tenant',
];
