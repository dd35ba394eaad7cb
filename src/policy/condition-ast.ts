import { CEL_VARIABLES } from './cel-environment.js';

/**
 * Reading cel-js's parse tree (`{op, args}` nodes) and the request values a condition names: what
 * the condition plan (condition-plan.ts) and the conjunct checks (condition-checks.ts) share.
 */

export interface Node {
  op: string;
  args: unknown;
}

export const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && typeof (value as Node).op === 'string';

/** The variable path an access chain names (`agent.roles`, `args['a b']`), or undefined. */
export function chain(node: unknown): string[] | undefined {
  if (!isNode(node)) return undefined;
  if (node.op === 'id') return typeof node.args === 'string' && node.args in CEL_VARIABLES ? [node.args] : undefined;
  if (node.op === '.' || node.op === '[]') {
    const [target, field] = node.args as [unknown, unknown];
    const base = chain(target);
    if (!base) return undefined;
    if (node.op === '.') return typeof field === 'string' ? [...base, field] : undefined;
    return isNode(field) && field.op === 'value' && typeof field.args === 'string' ? [...base, field.args] : undefined;
  }
  return undefined;
}

export const stringLiteral = (node: unknown): string | undefined => (isNode(node) && node.op === 'value' && typeof node.args === 'string' ? node.args : undefined);

/** A number literal that converts to a double exactly (CEL compares int and double by value). */
export function numberLiteral(node: unknown): number | undefined {
  if (!isNode(node) || node.op !== 'value') return undefined;
  const v = node.args;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint' && v <= 2n ** 53n && v >= -(2n ** 53n)) return Number(v);
  return undefined;
}

export function stringList(node: unknown): string[] | undefined {
  if (!isNode(node) || node.op !== 'list' || !Array.isArray(node.args)) return undefined;
  const out: string[] = [];
  for (const item of node.args) {
    const s = stringLiteral(item);
    if (s === undefined) return undefined;
    out.push(s);
  }
  return out;
}

/**
 * The value at `path` when it is plain data whose CEL value is certain, else undefined (missing,
 * inherited, a class instance): the conjunct is then left to CEL.
 */
export function plainValue(activation: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = activation[path[0]!];
  for (let i = 1; i < path.length; i++) {
    if (!isPlainObject(value) || !Object.hasOwn(value, path[i]!)) return undefined;
    value = value[path[i]!];
  }
  return value;
}

export function isStringList(value: unknown): value is readonly string[] {
  if (!Array.isArray(value)) return false;
  for (const v of value) if (typeof v !== 'string') return false;
  return true;
}

/** A plain object (a JSON map): the only kind of map whose keys a check reads itself. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The numeric comparisons a check judges, and each one mirrored (`100 < x` is `x > 100`). */
export const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};
export const MIRROR: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
