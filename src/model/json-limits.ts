import { isJsonObject } from './json.js';

/**
 * Structural limits checked before any input reaches the schema or the PDP, so a hostile payload
 * (a 10 MB string, 10,000 levels of nesting, a `__proto__` key) is rejected with a clear error
 * instead of exhausting the stack, the heap or an object's prototype.
 */
export interface JsonLimits {
  maxDepth: number;
  maxStringLength: number;
  maxNodes: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = {
  maxDepth: 32,
  maxStringLength: 1_048_576,
  maxNodes: 100_000,
};

/** Keys that reach an object's prototype when copied with spread or assignment. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Returns a description of the first violation, or undefined when the value is within limits. */
export function findLimitViolation(
  value: unknown,
  limits: JsonLimits = DEFAULT_JSON_LIMITS,
): string | undefined {
  let nodes = 0;
  // Iterative walk: a recursive one would overflow the stack on the inputs it is meant to reject.
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '$' }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (++nodes > limits.maxNodes) return `more than ${limits.maxNodes} values in the document`;
    if (item.depth > limits.maxDepth) {
      return `${item.path} is nested deeper than ${limits.maxDepth} levels`;
    }
    const v = item.value;
    if (typeof v === 'string') {
      if (v.length > limits.maxStringLength) {
        return `${item.path} is a string of ${v.length} characters; the limit is ${limits.maxStringLength}`;
      }
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `${item.path} is not a finite number`;
    } else if (Array.isArray(v)) {
      v.forEach((child, i) => stack.push({ value: child, depth: item.depth + 1, path: `${item.path}[${i}]` }));
    } else if (isJsonObject(v)) {
      for (const key of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(key)) return `${item.path} has the forbidden key "${key}"`;
        if (key.length > limits.maxStringLength) return `${item.path} has a key longer than ${limits.maxStringLength} characters`;
        stack.push({ value: v[key], depth: item.depth + 1, path: `${item.path}.${key}` });
      }
    } else if (v !== null && v !== undefined && typeof v !== 'boolean') {
      // undefined is an absent value (JSON cannot carry it); anything else is not JSON.
      return `${item.path} is not a JSON value (${typeof v})`;
    }
  }
  return undefined;
}
