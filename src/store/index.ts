export type * from './records.js';
export type { Store } from './store.js';
export type {
  AgentStore,
  ApprovalStore,
  ChainLink,
  CheckpointStore,
  DecisionFeedStore,
  DecisionLogStore,
  GrantStore,
  IncidentStore,
  LeaseStore,
  LimitVerdict,
  PolicyBundleStore,
  RateLimitStore,
  RelationshipStore,
  ReplayStore,
  ReplicaBus,
  ReplicaState,
  SessionStore,
  SharedSessionStore,
  ToolPinStore,
} from './ports.js';
export { openStore, postgresOptions, type OpenStoreOptions, type PostgresSettings } from './open-store.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { MIGRATIONS, LATEST_SCHEMA_VERSION, SchemaVersionError, type Migration } from './sqlite/migrations.js';
export { PostgresStore } from './postgres/postgres-store.js';
export type { PostgresStoreOptions } from './postgres/connection.js';
export {
  POSTGRES_MIGRATIONS,
  LATEST_POSTGRES_VERSION,
  SchemaBehindError,
  type MigrationResult,
  type PostgresMigration,
} from './postgres/migrations.js';
