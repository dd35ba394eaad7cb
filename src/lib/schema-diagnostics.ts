import { z } from 'zod';
import { closest, type Diagnostic } from './diagnostic.js';
import type { YamlSource } from './source-map.js';

type Path = ReadonlyArray<PropertyKey>;

/** Looks through optional/default/prefault wrappers to the schema that describes the value. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodNullable) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else return current;
  }
}

/** The field names an object schema allows at `path`, for "did you mean" hints. */
export function allowedKeys(schema: z.ZodType, path: Path): string[] {
  let current = unwrap(schema);
  for (const key of path) {
    if (current instanceof z.ZodObject) current = unwrap(current.shape[key as string] as z.ZodType);
    else if (current instanceof z.ZodArray) current = unwrap(current.element as z.ZodType);
    else return [];
    if (!current) return [];
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

export function pathText(path: Path, root = 'the document'): string {
  if (path.length === 0) return root;
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function valueAt(value: unknown, path: Path): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Turns zod issues into located diagnostics: unknown fields point at the key with a suggestion,
 * missing fields say "is required", anything else carries zod's message.
 */
export function schemaDiagnostics(
  issues: readonly z.core.$ZodIssue[],
  options: { source: YamlSource; schema: z.ZodType; input: unknown; prefix?: Path; root?: string },
): Diagnostic[] {
  const { source, schema, input } = options;
  const prefix = options.prefix ?? [];
  const out: Diagnostic[] = [];
  const push = (at: { line: number; column: number }, code: Diagnostic['code'], message: string, hint?: string) =>
    out.push({ file: source.file, ...at, severity: 'error', code, message, ...(hint ? { hint } : {}) });
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(schema, issue.path);
      for (const key of issue.keys) {
        const guess = closest(key, allowed);
        push(
          source.locateKey(path, key),
          'unknown-field',
          `unknown field "${key}"${path.length ? ` in ${pathText(path)}` : ''}`,
          guess ? `did you mean "${guess}"?` : allowed.length ? `allowed fields: ${allowed.join(', ')}` : undefined,
        );
      }
      continue;
    }
    const missing = valueAt(input, issue.path) === undefined;
    const where = pathText(path, options.root);
    push(source.locate(path), 'schema', missing ? `${where} is required` : `${where}: ${issue.message}`);
  }
  return out;
}
