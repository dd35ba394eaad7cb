import { CEL_VARIABLES } from './cel-environment.js';
import { compileExpression } from './cel-environment.js';

/**
 * A path a condition reads, in the terms of its variables: `["args", "card", "number"]`, `["agent",
 * "trust"]`, `["session"]` (the whole session, as `recent_count(session, …)` reads it). Reading a
 * path reads everything under it. `["relationships"]` stands for the tuples `related(…)` looks at.
 */
export type ReadPath = readonly string[];

/** Everything: what a condition whose shape is not understood is taken to read. */
export const READS_EVERYTHING: ReadPath = ['*'];

/** Functions that read request data besides their arguments (cel-environment.ts `scope`). */
const IMPLICIT_READS: Record<string, ReadPath> = {
  trust_at_least: ['agent', 'trust'],
  related: ['relationships'],
};

interface Node {
  op: string;
  args: unknown;
}

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && typeof (value as Node).op === 'string';

const cache = new Map<string, readonly ReadPath[]>();

/**
 * Every path a condition may read, found in its syntax tree: `args.card.number`, `args['a b']`,
 * `has(args.card)` read those paths; `args[k]` (a computed key) reads all of `args`; a variable
 * passed whole (`recent_count(session, 'high')`, `size(args)`) reads all of it. Over-approximate by
 * design — a path listed that is not read only makes replay more careful, a path missed would make
 * it wrong. Comprehension variables (`i` in `args.items.exists(i, …)`) read under their range,
 * which is listed itself.
 */
export function conditionReads(source: string): readonly ReadPath[] {
  let reads = cache.get(source);
  if (reads) return reads;
  let ast: unknown;
  try {
    ast = (compileExpression(source) as unknown as { ast?: unknown }).ast;
  } catch {
    ast = undefined;
  }
  const found: ReadPath[] = [];
  if (!isNode(ast) || !walk(ast, found)) found.splice(0, found.length, READS_EVERYTHING);
  reads = dedupe(found);
  if (cache.size >= 10_000) cache.clear();
  cache.set(source, reads);
  return reads;
}

/** Whether reading `read` may see the value at `path` (one is a prefix of the other). */
export function overlaps(read: ReadPath, path: readonly string[]): boolean {
  if (read[0] === '*') return true;
  const n = Math.min(read.length, path.length);
  for (let i = 0; i < n; i++) if (read[i] !== path[i]) return false;
  return true;
}

/** The variable path an access chain names (`args.card['x']`), or undefined when it is not one. */
function chain(node: Node): string[] | undefined {
  if (node.op === 'id') return typeof node.args === 'string' && node.args in CEL_VARIABLES ? [node.args] : undefined;
  if (node.op === '.' || node.op === '.?') {
    const [target, field] = node.args as [unknown, unknown];
    const base = isNode(target) ? chain(target) : undefined;
    return base && typeof field === 'string' ? [...base, field] : undefined;
  }
  if (node.op === '[]' || node.op === '[?]') {
    const [target, index] = node.args as [unknown, unknown];
    const base = isNode(target) ? chain(target) : undefined;
    if (!base || !isNode(index) || index.op !== 'value') return undefined;
    const key = index.args;
    return typeof key === 'string' || typeof key === 'bigint' || typeof key === 'number' ? [...base, String(key)] : undefined;
  }
  return undefined;
}

/** Collects reads under `node`; false when a node of an unknown shape was met. */
function walk(node: Node, out: ReadPath[]): boolean {
  const path = chain(node);
  if (path) {
    out.push(path);
    return true;
  }
  const args = node.args;
  switch (node.op) {
    case 'value':
      return true;
    case 'id':
      // Not a variable: a comprehension's own variable, read under a range listed elsewhere.
      return true;
    case 'call': {
      const [name, list] = args as [unknown, unknown];
      if (typeof name !== 'string' || !Array.isArray(list)) return false;
      const implicit = IMPLICIT_READS[name];
      if (implicit) out.push(implicit);
      return list.every((a) => isNode(a) && walk(a, out));
    }
    case 'rcall': {
      const [name, target, list] = args as [unknown, unknown, unknown];
      if (typeof name !== 'string' || !isNode(target) || !Array.isArray(list)) return false;
      const implicit = IMPLICIT_READS[name];
      if (implicit) out.push(implicit);
      return walk(target, out) && list.every((a) => isNode(a) && walk(a, out));
    }
    case 'list':
      return Array.isArray(args) && args.every((a) => isNode(a) && walk(a, out));
    case 'map':
      return Array.isArray(args) && args.every((entry) => Array.isArray(entry) && entry.every((a) => isNode(a) && walk(a, out)));
    case '!_':
    case '-_':
      return isNode(args) && walk(args, out);
    default:
      // Binary operators, `?:`, `.`/`[]` on something that is not a variable path: every operand.
      return Array.isArray(args) && args.every((a) => typeof a === 'string' || (isNode(a) && walk(a, out)));
  }
}

function dedupe(paths: readonly ReadPath[]): readonly ReadPath[] {
  const seen = new Set<string>();
  const out: ReadPath[] = [];
  for (const p of paths) {
    const key = JSON.stringify(p);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  }
  return Object.freeze(out);
}
