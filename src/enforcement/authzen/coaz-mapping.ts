import { Environment, Optional } from '@marcbachmann/cel-js';
import { isJsonObject, type JsonObject, type JsonValue } from '../../model/json.js';
import { CoazMappingError } from './coaz-errors.js';

/**
 * COAZ mappings (openid/authzen profiles/authzen-coaz-framework-1_0.md, -coaz-mcp-binding-1_0.md):
 * a JSON template of an AuthZEN request under one envelope key, whose leaf values are literals or
 * CEL expressions (a leading `$`; `$$` escapes a literal `$`) over the binding's two inputs,
 * `params` (the JSON-RPC params) and `token` (the trusted identity). Compiled once per mapping.
 */

/** The binding's input variables. */
export interface CoazInputs {
  params: JsonObject;
  token: JsonObject;
}

/** The envelopes COAZ-MCP permits: one decision, or several. */
export type Envelope = 'evaluation' | 'evaluations';

/** A resolved AuthZEN request body, before the PEP's trust anchors are applied. */
export interface ResolvedMapping {
  envelope: Envelope;
  body: JsonObject;
}

/** A leaf as compiled: a literal, or an expression and the input variables it reads. */
export type Leaf = { kind: 'literal'; value: JsonValue } | { kind: 'expression'; source: string; reads: ReadonlySet<string>; run: (inputs: CoazInputs) => unknown };

/** A compiled template: objects of templates, or a leaf. Arrays are literals except `evaluations`. */
export type Template = { kind: 'object'; fields: ReadonlyMap<string, Template> } | { kind: 'list'; items: readonly Template[] } | Leaf;

export interface CompiledMapping {
  envelope: Envelope;
  template: Template & { kind: 'object' };
}

const ENTITY_KEYS = new Set(['subject', 'action', 'resource', 'context']);

/**
 * Bounds on what an upstream may declare: a mapping is run on every call, and its author is the
 * server being authorized. cel-js has no evaluation budget, so the text is bounded instead.
 */
export const MAPPING_LIMITS = { maxMappingBytes: 16_384, maxExpressionChars: 1_024 };

/** A key that would reach an object's prototype instead of becoming a field. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Sets a field of a JSON object being built, refusing prototype keys (a mapping error). */
function setField(out: JsonObject, key: string, value: JsonValue, where: string): void {
  if (UNSAFE_KEYS.has(key)) throw new CoazMappingError('malformed', `${where} has the key "${key}", which a mapping may not use`);
  out[key] = value;
}

const environment = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false });
environment.registerVariable('params', 'map');
environment.registerVariable('token', 'map');

/** The identifiers an expression's syntax tree names (variables, and comprehension variables). */
function identifiers(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const n of node) identifiers(n, into);
  else if (node && typeof node === 'object') {
    const { op, args } = node as { op?: unknown; args?: unknown };
    if (op === 'id' && typeof args === 'string') into.add(args);
    else identifiers(args, into);
  }
  return into;
}

function compileLeaf(value: JsonValue, path: string): Leaf {
  if (typeof value !== 'string' || !value.startsWith('$')) return { kind: 'literal', value };
  if (value.startsWith('$$')) return { kind: 'literal', value: value.slice(1) };
  const source = value.slice(1);
  if (source.length > MAPPING_LIMITS.maxExpressionChars) throw new CoazMappingError('malformed', `the expression at ${path} is longer than ${MAPPING_LIMITS.maxExpressionChars} characters`);
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = environment.parse(source);
  } catch (error) {
    throw new CoazMappingError('malformed', `expression '${value}' at ${path} does not parse: ${firstLine(error)}`);
  }
  const reads = identifiers((parsed as unknown as { ast: unknown }).ast, new Set());
  return { kind: 'expression', source: value, reads, run: (inputs) => parsed(inputs as unknown as Record<string, unknown>) };
}

function compileTemplate(value: JsonValue, path: string): Template {
  if (isJsonObject(value)) {
    const fields = new Map<string, Template>();
    for (const [key, child] of Object.entries(value)) {
      if (UNSAFE_KEYS.has(key)) throw new CoazMappingError('malformed', `${path} has the key "${key}", which a mapping may not use`);
      fields.set(key, compileTemplate(child, `${path}.${key}`));
    }
    return { kind: 'object', fields };
  }
  return compileLeaf(value, path);
}

/** An entity (`subject`, `action`, `resource`, `context`) must be an object template, never one expression. */
function entityObject(body: JsonObject, key: string, path: string): void {
  const value = body[key];
  if (value !== undefined && !isJsonObject(value)) {
    throw new CoazMappingError('malformed', `${path}.${key} must be an object (its fields may be expressions, the object itself may not)`);
  }
}

function checkBody(body: JsonValue, envelope: Envelope): JsonObject {
  if (!isJsonObject(body)) throw new CoazMappingError('malformed', `the "${envelope}" envelope must hold an object`);
  const allowed = envelope === 'evaluation' ? ENTITY_KEYS : new Set([...ENTITY_KEYS, 'evaluations']);
  for (const key of Object.keys(body)) {
    if (!allowed.has(key)) throw new CoazMappingError('malformed', `"${envelope}.${key}" is not a field of an Access ${envelope === 'evaluation' ? 'Evaluation' : 'Evaluations'} request`);
  }
  for (const key of ENTITY_KEYS) entityObject(body, key, envelope);
  if (envelope === 'evaluations') {
    const entries = body.evaluations;
    if (!Array.isArray(entries) || entries.length === 0) throw new CoazMappingError('malformed', 'an "evaluations" envelope needs a non-empty "evaluations" array');
    entries.forEach((entry, i) => {
      const where = `evaluations.evaluations[${i}]`;
      if (!isJsonObject(entry)) throw new CoazMappingError('malformed', `${where} must be an object`);
      // COAZ-MCP: a per-entry subject would let a mapping smuggle a second identity past the anchor.
      if (entry.subject !== undefined) throw new CoazMappingError('trust_anchor', `${where}.subject is not allowed: the single top-level subject applies to every evaluation`);
      for (const key of Object.keys(entry)) if (!ENTITY_KEYS.has(key)) throw new CoazMappingError('malformed', `${where}.${key} is not a field of an evaluation`);
      for (const key of ENTITY_KEYS) entityObject(entry, key, where);
    });
  }
  return body;
}

/**
 * Compiles a mapping: exactly one envelope key (`evaluation` or `evaluations`), entity fields as
 * objects, every `$` expression parsed. Throws CoazMappingError for anything else; a PEP never
 * ignores an envelope it does not know.
 */
export function compileMapping(mapping: unknown): CompiledMapping {
  if (!isJsonObject(mapping)) throw new CoazMappingError('malformed', 'x-authzen-mapping must be an object with one envelope key (evaluation or evaluations)');
  if (JSON.stringify(mapping).length > MAPPING_LIMITS.maxMappingBytes) throw new CoazMappingError('malformed', `the mapping is larger than ${MAPPING_LIMITS.maxMappingBytes} bytes`);
  const keys = Object.keys(mapping);
  if (keys.length !== 1) throw new CoazMappingError('malformed', `a mapping has exactly one envelope key (evaluation or evaluations), not ${keys.length ? keys.map((k) => `"${k}"`).join(', ') : 'none'}`);
  const envelope = keys[0]!;
  if (envelope !== 'evaluation' && envelope !== 'evaluations') throw new CoazMappingError('malformed', `unsupported envelope "${envelope}" (evaluation or evaluations)`);
  const body = checkBody(mapping[envelope]!, envelope);
  const fields = new Map<string, Template>();
  for (const [key, value] of Object.entries(body)) {
    fields.set(key, key === 'evaluations' ? { kind: 'list', items: (value as JsonValue[]).map((e, i) => compileTemplate(e, `${envelope}.evaluations[${i}]`)) } : compileTemplate(value, `${envelope}.${key}`));
  }
  return { envelope, template: { kind: 'object', fields } };
}

/** Marks a field an optional expression left out: it is omitted from the request. */
const ABSENT = Symbol('absent');

/** A CEL value as JSON: ints and uints as numbers, maps as objects; anything else is an error. */
function toJson(value: unknown, where: string): JsonValue | typeof ABSENT {
  if (value instanceof Optional) return value.hasValue() ? toJson(value.value(), where) : ABSENT;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CoazMappingError('expression', `${where} resolved to ${value}, which JSON cannot carry`);
    return value;
  }
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new CoazMappingError('expression', `${where} resolved to an integer too large for JSON`);
    return Number(value);
  }
  if (Array.isArray(value)) return value.map((v, i) => orNull(toJson(v, `${where}[${i}]`)));
  if (value instanceof Map) {
    const out: JsonObject = {};
    for (const [k, v] of value) {
      const json = toJson(v, `${where}.${String(k)}`);
      if (json !== ABSENT) setField(out, String(k), json, where);
    }
    return out;
  }
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      const json = toJson(v, `${where}.${k}`);
      if (json !== ABSENT) setField(out, k, json, where);
    }
    return out;
  }
  throw new CoazMappingError('expression', `${where} resolved to a ${value?.constructor?.name ?? typeof value}, which is not a JSON value`);
}

const orNull = (v: JsonValue | typeof ABSENT): JsonValue => (v === ABSENT ? null : v);

function resolveTemplate(template: Template, inputs: CoazInputs, path: string): JsonValue | typeof ABSENT {
  switch (template.kind) {
    case 'literal':
      return template.value;
    case 'expression': {
      let value: unknown;
      try {
        value = template.run(inputs);
      } catch (error) {
        throw new CoazMappingError('expression', `expression '${template.source}' failed: ${firstLine(error)}`);
      }
      return toJson(value, path);
    }
    case 'list':
      return template.items.map((item, i) => orNull(resolveTemplate(item, inputs, `${path}[${i}]`)));
    case 'object': {
      const out: JsonObject = {};
      for (const [key, child] of template.fields) {
        const value = resolveTemplate(child, inputs, `${path}.${key}`);
        if (value !== ABSENT) setField(out, key, value, path);
      }
      return out;
    }
  }
}

/** Resolves every leaf of a compiled mapping against the call's inputs. */
export function resolveMapping(mapping: CompiledMapping, inputs: CoazInputs): ResolvedMapping {
  return { envelope: mapping.envelope, body: resolveTemplate(mapping.template, inputs, mapping.envelope) as JsonObject };
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0]!.trim();
}
