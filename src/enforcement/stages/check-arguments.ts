import { isJsonObject, type JsonObject } from '../../model/json.js';
import { findLimitViolation } from '../../model/json-limits.js';
import type { WardenConfig } from '../../config/index.js';
import type { ToolRegistry } from '../../upstream/tool-registry.js';
import { EnforcementError } from '../errors.js';
import type { Exchange } from '../exchange.js';

const normalise = (key: string) => key.toLowerCase().replace(/[-_]/g, '');

const forbiddenSets = new WeakMap<readonly string[], ReadonlySet<string>>();
/** The normalised forbidden keys, built once per config rather than per call. */
function forbiddenKeys(keys: readonly string[]): ReadonlySet<string> {
  let set = forbiddenSets.get(keys);
  if (!set) forbiddenSets.set(keys, (set = new Set(keys.map(normalise))));
  return set;
}

/** The first argument path whose key is forbidden, at any depth. */
function findForbiddenKey(value: unknown, forbidden: ReadonlySet<string>, path = 'args'): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findForbiddenKey(value[i], forbidden, `${path}[${i}]`);
      if (found) return found;
    }
  } else if (isJsonObject(value)) {
    for (const key of Object.keys(value)) {
      if (forbidden.has(normalise(key))) return `${path}.${key}`;
      const found = findForbiddenKey(value[key], forbidden, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Stage 3: the tool must be in the registry (deny by default), and its arguments a JSON object
 * within the size and depth limits, free of credential-like keys, and valid for its schema.
 */
export function checkArguments(x: Exchange, tools: ToolRegistry, limits: WardenConfig['arguments']): void {
  const tool = tools.get(x.call.tool);
  if (!tool) throw new EnforcementError('arguments', `unknown tool "${x.call.tool}": only registered tools can be called (deny by default)`, { httpStatus: 403 });
  x.tool = tool;
  if (tool.blocked) throw new EnforcementError('registry', tool.blocked, { httpStatus: 403, details: { blocked: true } });
  const args = x.call.args ?? {};
  if (!isJsonObject(args)) throw new EnforcementError('arguments', 'arguments must be a JSON object', { httpStatus: 400 });
  const violation = findLimitViolation(args, { maxDepth: limits.max_depth, maxStringLength: limits.max_bytes, maxNodes: 100_000 });
  if (violation) throw new EnforcementError('arguments', `arguments rejected: ${violation.replace(/^\$/, 'args')}`, { httpStatus: 400 });
  const size = Buffer.byteLength(JSON.stringify(args));
  if (size > limits.max_bytes) throw new EnforcementError('arguments', `arguments are ${size} bytes; the limit is ${limits.max_bytes}`, { httpStatus: 400 });
  const forbidden = findForbiddenKey(args, forbiddenKeys(limits.forbidden_keys));
  if (forbidden) {
    throw new EnforcementError('arguments', `argument ${forbidden} is forbidden: credentials are injected by Warden at execution, never passed by agents`, { httpStatus: 400 });
  }
  const errors = tool.validate(args);
  if (errors.length > 0) throw new EnforcementError('arguments', `arguments do not match the schema of "${x.call.tool}": ${errors.join('; ')}`, { httpStatus: 400, details: { schemaErrors: errors } });
  x.args = structuredClone(args) as JsonObject;
}
