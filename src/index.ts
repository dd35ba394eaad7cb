/**
 * Warden's library surface, what `import … from 'warden'` gives: `createWarden` (the gateway in
 * process: decide, call, guard, approvals), its errors and types, and the pure parts — the model
 * (ActionRequest, Decision, …) and the policy engine (compilePolicies / loadPolicyFolder + decide).
 */
export * from './model/index.js';
export * from './policy/index.js';
export { createWarden, WardenConfigError, WardenDeniedError } from './services/warden.js';
export type { CreateWardenOptions, GuardedToolSpec, GuardOptions, Warden, WardenLog, WardenLogLevel } from './services/warden.js';
// Telemetry is the process's: an embedding application starts it when it wants Warden's SDK (it
// may instead register its own OpenTelemetry SDK; Warden's spans and metrics go to it either way).
export { startWardenTelemetry as startTelemetry } from './services/telemetry/warden-telemetry.js';
export type { TelemetryHandle } from './services/telemetry/start-telemetry.js';
export type { CallResult, ToolCall } from './enforcement/exchange.js';
export type { DecideOnly } from './enforcement/pipeline.js';
export type { Credentials } from './auth/agent-credentials.js';
export type { WardenConfig } from './config/load-config.js';
export type { ApprovalRecord } from './store/records.js';
