import { canonicalJson } from '../../model/canonical-json.js';
import type { JsonObject } from '../../model/json.js';
import { checkAnchorProvenance } from './coaz-anchors.js';
import { CoazMappingError } from './coaz-errors.js';
import { compileMapping, type CompiledMapping } from './coaz-mapping.js';

/**
 * Which mapping applies to a Warden action, COAZ-MCP §Default Mappings: a tool's declared
 * `x-authzen-mapping` for `tools/call`, otherwise the binding's default for the method. The MCP
 * methods Warden's gateway sends through the pipeline are tools/call, resources/read and
 * prompts/get; listings are list decisions and `ping`/notifications are pass-through.
 */

/** The MCP method each pipeline action stands for. */
export const METHOD_OF_ACTION: Readonly<Record<string, string>> = {
  'tool.call': 'tools/call',
  'resource.read': 'resources/read',
  'prompt.get': 'prompts/get',
};

const shared = { subject: { type: 'identity', id: '$token.sub' }, context: { agent: '$token.?client_id' } };
const DEFAULTS: Record<string, JsonObject> = {
  'tools/call': { evaluation: { ...shared, action: { name: 'tools/call' }, resource: { type: 'tool', id: '$params.name' } } },
  'resources/read': { evaluation: { ...shared, action: { name: 'resources/read' }, resource: { type: 'resource', id: '$params.uri' } } },
  'prompts/get': { evaluation: { ...shared, action: { name: 'prompts/get' }, resource: { type: 'prompt', id: '$params.name' } } },
};

const defaults = new Map(Object.entries(DEFAULTS).map(([method, mapping]) => [method, compileMapping(mapping)]));

export function defaultMapping(method: string): CompiledMapping | undefined {
  return defaults.get(method);
}

/** Compiled declared mappings by their canonical text: once per distinct definition, errors included. */
const declared = new Map<string, CompiledMapping | CoazMappingError>();
const MAX_DECLARED = 10_000;
/** The same by the mapping object of a registered tool, which lives until its upstream relists: no hashing per call. */
const byObject = new WeakMap<object, CompiledMapping | CoazMappingError>();

/**
 * A declared mapping compiled and checked (envelope, expressions, where its trust-anchored fields
 * come from). A broken one is remembered as its error, so every call to that tool is refused with
 * the same reason without compiling it again.
 */
export function declaredMapping(mapping: unknown): CompiledMapping {
  const held = typeof mapping === 'object' && mapping !== null ? byObject.get(mapping) : undefined;
  const compiled = held ?? compileOnce(mapping);
  if (!held && typeof mapping === 'object' && mapping !== null) byObject.set(mapping, compiled);
  if (compiled instanceof CoazMappingError) throw compiled;
  return compiled;
}

function compileOnce(mapping: unknown): CompiledMapping | CoazMappingError {
  const key = canonicalJson(mapping as JsonObject);
  let compiled = declared.get(key);
  if (!compiled) {
    try {
      compiled = compileMapping(mapping);
      checkAnchorProvenance(compiled);
    } catch (error) {
      if (!(error instanceof CoazMappingError)) throw error;
      compiled = error;
    }
    if (declared.size >= MAX_DECLARED) declared.clear();
    declared.set(key, compiled);
  }
  return compiled;
}
