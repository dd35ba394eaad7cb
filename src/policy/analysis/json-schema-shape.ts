/**
 * What a tool's JSON Schema says about its arguments, in the terms CEL checking needs: each
 * declared property's CEL type, and whether properties beyond those are allowed. JSON numbers
 * reach conditions as doubles (integers too), so both map to `double`. Anything this reading does
 * not model (unions, $ref, anyOf…) is `dyn`: unchecked rather than guessed.
 */
export interface ObjectShape {
  /** additionalProperties: false — a property not listed can never be present. */
  closed: boolean;
  properties: Map<string, Shape>;
}

export type Shape = string | ObjectShape;

const MAX_DEPTH = 6;

function scalar(type: unknown): string | undefined {
  switch (type) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'double';
    case 'boolean':
      return 'bool';
    default:
      return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shapeOf(schema: unknown, depth: number): Shape {
  if (!isRecord(schema) || depth > MAX_DEPTH) return 'dyn';
  if (schema.anyOf || schema.oneOf || schema.allOf || schema.$ref || schema.not) return 'dyn';
  const type = schema.type;
  if (type === 'object') return objectShape(schema, depth) ?? 'map<string, dyn>';
  if (type === 'array') {
    const item = isRecord(schema.items) && !Array.isArray(schema.items) ? scalar(schema.items.type) : undefined;
    return `list<${item ?? 'dyn'}>`;
  }
  if (type === undefined && Array.isArray(schema.enum) && schema.enum.length > 0 && schema.enum.every((v) => typeof v === 'string')) return 'string';
  return scalar(type) ?? 'dyn';
}

function objectShape(schema: Record<string, unknown>, depth: number): ObjectShape | undefined {
  const closed = schema.additionalProperties === false;
  if (!isRecord(schema.properties) && !closed) return undefined;
  const properties = new Map<string, Shape>();
  for (const [name, property] of Object.entries(isRecord(schema.properties) ? schema.properties : {})) properties.set(name, shapeOf(property, depth + 1));
  return { closed, properties };
}

/** The shape of a tool's arguments; undefined when the schema says nothing about them. */
export function argumentShape(inputSchema: Record<string, unknown> | undefined): ObjectShape | undefined {
  if (!inputSchema) return undefined;
  if (inputSchema.type !== undefined && inputSchema.type !== 'object') return undefined;
  return objectShape(inputSchema, 0);
}

/** The object shape at `path` (an argument path), or undefined when it is not an object of known shape. */
export function shapeAt(shape: ObjectShape, path: readonly string[]): ObjectShape | undefined {
  let current: Shape = shape;
  for (const key of path) {
    if (typeof current === 'string') return undefined;
    const next: Shape | undefined = current.properties.get(key);
    if (next === undefined) return undefined;
    current = next;
  }
  return typeof current === 'string' ? undefined : current;
}

/** A deep copy, so unknown keys can be added as `dyn` while checking one condition. */
export function cloneShape(shape: ObjectShape): ObjectShape {
  const properties = new Map<string, Shape>();
  for (const [k, v] of shape.properties) properties.set(k, typeof v === 'string' ? v : cloneShape(v));
  return { closed: shape.closed, properties };
}

export type CelSchema = { [field: string]: string | CelSchema };

/** The `schema` option of cel-js's registerVariable. */
export function celSchema(shape: ObjectShape): CelSchema {
  const out: CelSchema = {};
  for (const [k, v] of shape.properties) out[k] = typeof v === 'string' ? v : celSchema(v);
  return out;
}
