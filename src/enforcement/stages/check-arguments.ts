import { copyJson, isJsonObject, type JsonObject } from '../../model/json.js';
import { findLimitViolation } from '../../model/json-limits.js';
import type { WardenConfig } from '../../config/index.js';
import { asksTheUser } from '../../guards/injection-guard.js';
import type { ToolRegistry } from '../../upstream/tool-registry.js';
import { EnforcementError } from '../errors.js';
import type { Exchange } from '../exchange.js';
import { ForbiddenKeys } from './forbidden-keys.js';

const matchers = new WeakMap<object, ForbiddenKeys>();
/** The compiled forbidden keys and patterns, built once per config rather than per call. */
function forbiddenKeys(limits: WardenConfig['arguments']): ForbiddenKeys {
  let matcher = matchers.get(limits);
  if (!matcher) matchers.set(limits, (matcher = new ForbiddenKeys(limits)));
  return matcher;
}

/**
 * Stage 3: the tool must be in the registry (deny by default), and its arguments a JSON object
 * within the size and depth limits, free of credential-like keys, and valid for its schema.
 */
export function checkArguments(x: Exchange, tools: ToolRegistry, limits: WardenConfig['arguments']): void {
  const tool = tools.get(x.call.tool);
  if (!tool) {
    // The tool of an upstream that is down is not unknown: say which upstream, and that it is a fault, not a policy.
    const unavailable = tools.explainAbsent?.(x.call.tool);
    if (unavailable) throw new EnforcementError('registry', unavailable, { httpStatus: 503, status: 'error', details: { upstreamUnavailable: true } });
    throw new EnforcementError('arguments', `unknown tool "${x.call.tool}": only registered tools can be called (deny by default)`, { httpStatus: 403 });
  }
  x.tool = tool;
  if (tool.blocked) throw new EnforcementError('registry', tool.blocked, { httpStatus: 403, details: { blocked: true } });
  const args = x.call.args ?? {};
  if (!isJsonObject(args)) throw new EnforcementError('arguments', 'arguments must be a JSON object', { httpStatus: 400 });
  const violation = findLimitViolation(args, { maxDepth: limits.max_depth, maxStringLength: limits.max_bytes, maxNodes: 100_000 });
  if (violation) throw new EnforcementError('arguments', `arguments rejected: ${violation.replace(/^\$/, 'args')}`, { httpStatus: 400 });
  const size = Buffer.byteLength(JSON.stringify(args));
  if (size > limits.max_bytes) throw new EnforcementError('arguments', `arguments are ${size} bytes; the limit is ${limits.max_bytes}`, { httpStatus: 400 });
  const matcher = forbiddenKeys(limits);
  const forbidden = matcher.find(args);
  if (forbidden) {
    // The record keeps the arguments, without the values of the keys that were refused.
    x.args = matcher.withheld(args) as JsonObject;
    // An upstream's elicitation is a form for the user, not an agent's call: say what is wrong with it.
    const why = asksTheUser(x.call.action, tool.entry)
      ? 'an MCP server may not ask the user for credentials or other sensitive information by form (MCP specification, elicitation)'
      : 'credentials are injected by Warden at execution, never passed by agents';
    throw new EnforcementError('arguments', `argument ${forbidden.path} is forbidden (${forbidden.why}): ${why}`, { httpStatus: 400 });
  }
  const errors = tool.validate(args);
  if (errors.length > 0) throw new EnforcementError('arguments', `arguments do not match the schema of "${x.call.tool}": ${errors.join('; ')}`, { httpStatus: 400, details: { schemaErrors: errors } });
  x.args = copyJson(args);
}
