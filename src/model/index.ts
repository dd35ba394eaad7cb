export * from './json.js';
export * from './json-limits.js';
export * from './trust.js';
export * from './effect.js';
export * from './obligation.js';
export * from './action-request.js';
export * from './decision.js';
export * from './canonical-json.js';
