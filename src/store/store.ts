import type {
  AgentStore,
  ApprovalStore,
  CheckpointStore,
  DecisionLogStore,
  GrantStore,
  IncidentStore,
  PolicyBundleStore,
  RelationshipStore,
  ReplayStore,
  SessionStore,
  SinkCursorStore,
  ToolPinStore,
} from './ports.js';

export type { ChainLink } from './ports.js';

/**
 * Where Warden keeps state. One interface; SQLite (embedded, the default) implements it now, and
 * Postgres will for several replicas. Methods are async so that either can sit behind it.
 * Every multi-step change (a vote, a claim to execute) is atomic inside the store.
 * The methods are declared per aggregate in ports.ts.
 */
export interface Store
  extends AgentStore,
    ReplayStore,
    ApprovalStore,
    DecisionLogStore,
    CheckpointStore,
    SessionStore,
    IncidentStore,
    GrantStore,
    RelationshipStore,
    PolicyBundleStore,
    ToolPinStore,
    SinkCursorStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Answers when the store can serve (used by readiness checks). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
