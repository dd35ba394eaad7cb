/** Warden's library surface. */
export * from './model/index.js';
export * from './policy/index.js';
