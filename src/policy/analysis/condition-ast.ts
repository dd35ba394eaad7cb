import type { ASTNode } from '@marcbachmann/cel-js';
import { serialize } from '@marcbachmann/cel-js/serialize';
import { celEnvironment } from '../cel-environment.js';

/**
 * Reading a condition's parse tree: its top-level conjuncts, the argument paths it reads, and
 * which reads a `has()` test guards. Conditions reach here compiled, so they parse.
 */
export function parseCondition(source: string): ASTNode {
  return celEnvironment.parse(source).ast;
}

function isNode(value: unknown): value is ASTNode {
  return typeof value === 'object' && value !== null && 'op' in value && 'range' in value;
}

/** The direct sub-expressions of a node, whatever its operator's argument layout. */
export function children(node: ASTNode): ASTNode[] {
  const args: unknown = node.args;
  if (isNode(args)) return [args];
  if (!Array.isArray(args)) return [];
  return (args as unknown[]).flat(2).filter(isNode);
}

export function* walk(node: ASTNode): Generator<ASTNode> {
  yield node;
  for (const child of children(node)) yield* walk(child);
}

/** `a && b && c` → [a, b, c]; anything else is its own single conjunct. */
export function conjuncts(node: ASTNode): ASTNode[] {
  return node.op === '&&' ? [...conjuncts(node.args[0]), ...conjuncts(node.args[1])] : [node];
}

/** A canonical text for comparing expressions: formatting and quoting do not matter. */
export function canonical(node: ASTNode): string {
  return serialize(node);
}

/**
 * `args.a.b` or `args['a']['b']` → ['a', 'b']; undefined when the node is not a path of literal
 * keys rooted at the variable `args` (comprehension variables never are: they shadow nothing here).
 */
export function argumentPath(node: ASTNode): string[] | undefined {
  const keys: string[] = [];
  let current: ASTNode = node;
  for (;;) {
    if (current.op === 'id') return current.args === 'args' && keys.length > 0 ? keys.reverse() : undefined;
    if (current.op === '.') {
      keys.push(current.args[1]);
      current = current.args[0];
    } else if (current.op === '[]' && current.args[1].op === 'value' && typeof current.args[1].args === 'string') {
      keys.push(current.args[1].args);
      current = current.args[0];
    } else return undefined;
  }
}

/** The argument path `has(args.x)` (or `'x' in args`) tests, if the node is such a test. */
export function presenceTest(node: ASTNode): string[] | undefined {
  if (node.op === 'call' && node.args[0] === 'has' && node.args[1].length === 1) return argumentPath(node.args[1][0]!);
  if (node.op === 'in' && node.args[0].op === 'value' && typeof node.args[0].args === 'string' && node.args[1].op === 'id' && node.args[1].args === 'args') {
    return [node.args[0].args];
  }
  return undefined;
}

const key = (path: readonly string[]) => path.join('\u0000');

/** The argument paths known present (when `positive`) or absent when `node` is true. */
function presence(node: ASTNode, positive: boolean): string[] {
  const tested = presenceTest(node);
  if (tested) return positive ? [key(tested)] : [];
  if (node.op === '!_') return presence(node.args, !positive);
  if (node.op === '&&' && positive) return [...presence(node.args[0], true), ...presence(node.args[1], true)];
  if (node.op === '||' && !positive) return [...presence(node.args[0], false), ...presence(node.args[1], false)];
  return [];
}

/**
 * For every node, the argument paths a `has()` test around it guarantees present. CEL's `&&` and
 * `||` are commutative even for errors (`false && error` is false), so a test on either side
 * guards the other; a ternary guards its branches.
 */
export function guardsOf(root: ASTNode): Map<ASTNode, ReadonlySet<string>> {
  const out = new Map<ASTNode, ReadonlySet<string>>();
  const visit = (node: ASTNode, guards: ReadonlySet<string>) => {
    out.set(node, guards);
    const extended = (extra: string[]) => (extra.length ? new Set([...guards, ...extra]) : guards);
    if (node.op === '&&') {
      visit(node.args[0], extended(presence(node.args[1], true)));
      visit(node.args[1], extended(presence(node.args[0], true)));
    } else if (node.op === '||') {
      visit(node.args[0], extended(presence(node.args[1], false)));
      visit(node.args[1], extended(presence(node.args[0], false)));
    } else if (node.op === '?:') {
      visit(node.args[0], guards);
      visit(node.args[1], extended(presence(node.args[0], true)));
      visit(node.args[2], extended(presence(node.args[0], false)));
    } else for (const child of children(node)) visit(child, guards);
  };
  visit(root, new Set());
  return out;
}

export function isGuarded(guards: Map<ASTNode, ReadonlySet<string>>, node: ASTNode, path: readonly string[]): boolean {
  return guards.get(node)?.has(key(path)) ?? false;
}

/** True when the expression reads no variable: its value is the same for every request. */
export function isConstant(node: ASTNode): boolean {
  for (const n of walk(node)) if (n.op === 'id' || n.op === 'call' || n.op === 'rcall') return false;
  return true;
}
