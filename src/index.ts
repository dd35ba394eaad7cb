/**
 * Warden's library surface, what `import … from 'warden'` gives: `createWarden` (the gateway in
 * process: decide, call, guard, approvals), its errors and types, and the pure parts — the model
 * (ActionRequest, Decision, …) and the policy engine (compilePolicies / loadPolicyFolder + decide).
 */
export * from './model/index.js';
export * from './policy/index.js';
export { createWarden, WardenConfigError, WardenDeniedError } from './services/warden.js';
export type { CreateWardenOptions, GuardedToolSpec, GuardOptions, Warden, WardenLog, WardenLogLevel } from './services/warden.js';
export type { CallResult, ToolCall } from './enforcement/exchange.js';
export type { DecideOnly } from './enforcement/pipeline.js';
export type { Credentials } from './auth/agent-credentials.js';
export type { WardenConfig } from './config/load-config.js';
export type { ApprovalRecord } from './store/records.js';
