export { loadConfig, parseConfig, resolveFrom, type ConfigResult, type WardenConfig } from './load-config.js';
export type { AgentConfig, GuardsConfig, ToolConfig, RateLimitConfig } from './config-schema.js';
export { sqlitePath, storageUrl } from './storage.js';
