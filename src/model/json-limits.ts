import { isJsonObject } from './json.js';
import { findIllFormedText, isWellFormedString } from './well-formed.js';

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

/** How large a JSON document is, as one walk found it: enough to check any limits against. */
interface JsonShape {
  /** Deepest value (the root is at depth 0). */
  depth: number;
  nodes: number;
  /** Longest string or object key. */
  longest: number;
}

/**
 * The shape of documents already walked whole (a request body, by checkJsonInput), so that the
 * layers after it (the ActionRequest parse) check their own limits against it instead of walking
 * again. Only documents with nothing but JSON in them, and no forbidden key, are kept; a document
 * is not changed between its parse and these checks (they run on the parsed body, first thing).
 */
const shapes = new WeakMap<object, JsonShape>();

const fits = (shape: JsonShape, limits: JsonLimits) => shape.depth <= limits.maxDepth && shape.nodes <= limits.maxNodes && shape.longest <= limits.maxStringLength;

/**
 * One walk without paths (nothing allocated per value but the stack): the shape when the document
 * is within `limits` and holds only JSON, else undefined (the walk stops at the first excess).
 * `wellFormed.ok` turns false when a string or key is not well-formed Unicode.
 */
function measure(value: unknown, limits: JsonLimits, wellFormed?: { ok: boolean }): JsonShape | undefined {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  const shape: JsonShape = { depth: 0, nodes: 0, longest: 0 };
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (++shape.nodes > limits.maxNodes || depth > limits.maxDepth) return undefined;
    if (depth > shape.depth) shape.depth = depth;
    if (typeof v === 'string') {
      if (v.length > shape.longest) {
        if (v.length > limits.maxStringLength) return undefined;
        shape.longest = v.length;
      }
      if (wellFormed && !isWellFormedString(v)) wellFormed.ok = false;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return undefined;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        values.push(v[i]);
        depths.push(depth + 1);
      }
    } else if (isJsonObject(v)) {
      for (const key of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(key)) return undefined;
        if (key.length > shape.longest) {
          if (key.length > limits.maxStringLength) return undefined;
          shape.longest = key.length;
        }
        if (wellFormed && !isWellFormedString(key)) wellFormed.ok = false;
        values.push(v[key]);
        depths.push(depth + 1);
      }
    } else if (v !== null && v !== undefined && typeof v !== 'boolean') {
      return undefined;
    }
  }
  return shape;
}

export type JsonInputCheck = { ok: true } | { ok: false; problem: 'limits' | 'ill-formed'; message: string };

/**
 * A parsed request body checked in one walk: the limits (the first violation described, with its
 * path, as findLimitViolation does), then well-formed Unicode in every string and key (as
 * findIllFormedText does, its paths under `root`). A body that passes is remembered by its shape,
 * so findLimitViolation on it later costs a lookup.
 */
export function checkJsonInput(value: unknown, limits: JsonLimits, root = '$'): JsonInputCheck {
  const wellFormed = { ok: true };
  const shape = measure(value, limits, wellFormed);
  if (!shape) return { ok: false, problem: 'limits', message: describeLimitViolation(value, limits) ?? 'the document is outside the limits' };
  if (!wellFormed.ok) return { ok: false, problem: 'ill-formed', message: findIllFormedText(value, root) ?? 'a string is not well-formed Unicode' };
  if (typeof value === 'object' && value !== null) shapes.set(value, shape);
  return { ok: true };
}

/** Returns a description of the first violation, or undefined when the value is within limits. */
export function findLimitViolation(
  value: unknown,
  limits: JsonLimits = DEFAULT_JSON_LIMITS,
): string | undefined {
  const known = typeof value === 'object' && value !== null ? shapes.get(value) : undefined;
  if (known ? fits(known, limits) : measure(value, limits) !== undefined) return undefined;
  return describeLimitViolation(value, limits);
}

/** The walk with paths, only for a document that is outside the limits: what to tell its sender. */
function describeLimitViolation(value: unknown, limits: JsonLimits): string | undefined {
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
