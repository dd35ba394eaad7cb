export type * from './records.js';
export type { Store } from './store.js';
export type {
  AgentStore,
  ApprovalStore,
  ChainLink,
  CheckpointStore,
  DecisionLogStore,
  GrantStore,
  IncidentStore,
  PolicyBundleStore,
  RelationshipStore,
  ReplayStore,
  SessionStore,
  ToolPinStore,
} from './ports.js';
export { openStore } from './open-store.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { MIGRATIONS, LATEST_SCHEMA_VERSION, SchemaVersionError, type Migration } from './sqlite/migrations.js';
