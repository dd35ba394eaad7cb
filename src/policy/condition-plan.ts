import { firstLine } from '../lib/diagnostic.js';
import type { CompiledExpression } from './cel-environment.js';
import { chain, COMPARE, isNode, isPlainObject, isStringList, MIRROR, numberLiteral, plainValue, stringList, stringLiteral, type Node } from './condition-ast.js';
import { shapeTest, type Test } from './condition-checks.js';

/**
 * A top-level conjunct of a condition that pins a request value to string literals:
 * `args.x == "lit"`, `"lit" == tenant`, `args.x in ["a", "b"]` (kind `eq`: the value must be one
 * of the literals) or `"role" in agent.roles` (kind `has`: the list must hold the literal).
 */
export interface KeyTerm {
  kind: 'eq' | 'has';
  path: readonly string[];
  literals: readonly string[];
}

/** `resource.tenant == tenant` (equal) or `!=`: two request strings compared with each other. */
export interface SameTerm {
  kind: 'same';
  /** In a fixed order, so `a == b` and `b == a` are one term. */
  paths: readonly [readonly string[], readonly string[]];
  equal: boolean;
}

/** `args.amount > 100`, `100 >= args.amount`…: a request number against a finite number literal. */
export interface RangeTerm {
  kind: 'range';
  path: readonly string[];
  /** With the path on the left (`100 < args.amount` is `args.amount > 100`). */
  op: '<' | '<=' | '>' | '>=';
  limit: number;
}

/**
 * A top-level conjunct the condition index can file a rule under (condition-index.ts). Each is
 * false exactly when its check (below) says false, so leaving the rule out is what judge() does.
 */
export type IndexTerm = KeyTerm | SameTerm | RangeTerm;

/** A test and its result for the request being decided (`round`): each is run once per request. */
interface Check {
  test: Test;
  round: number;
  result: boolean | undefined;
  /** For a conjunct comparing one access chain with literals: the chain (termCheck), which missingKeyError names. */
  path?: readonly string[];
}

/** What the evaluator and the index know of a rule's condition, found once per rule. */
export interface ConditionPlan {
  terms: readonly IndexTerm[];
  /** termId() of each term, found once. */
  termIds: readonly string[];
  checks: readonly Check[];
  /** Every conjunct has a check: when all say true, the condition is true without CEL. */
  complete: boolean;
  /**
   * Every conjunct is an index term, each on its own path or pair of paths: when the index has
   * found every term true, the condition is true (condition-index.ts then skips judge()).
   */
  exact: boolean;
}

function conjuncts(node: Node, out: Node[]): void {
  if (node.op === '&&' && Array.isArray(node.args)) {
    for (const a of node.args) if (isNode(a)) conjuncts(a, out);
  } else out.push(node);
}

function keyTerm(node: Node): KeyTerm | undefined {
  if (!Array.isArray(node.args) || node.args.length !== 2) return undefined;
  const [left, right] = node.args as [unknown, unknown];
  if (node.op === '==') {
    const path = chain(left) ?? chain(right);
    const literal = chain(left) ? stringLiteral(right) : stringLiteral(left);
    return path && literal !== undefined ? { kind: 'eq', path, literals: [literal] } : undefined;
  }
  if (node.op === 'in') {
    const literal = stringLiteral(left);
    const listPath = chain(right);
    if (literal !== undefined && listPath) return { kind: 'has', path: listPath, literals: [literal] };
    const path = chain(left);
    const list = stringList(right);
    if (path && list) return { kind: 'eq', path, literals: [...new Set(list)] };
  }
  return undefined;
}

/** The index term of a conjunct, when it has one (its check is `test(node)`, same shapes). */
function indexTerm(node: Node): IndexTerm | undefined {
  const key = keyTerm(node);
  if (key) return key;
  if (!Array.isArray(node.args) || node.args.length !== 2) return undefined;
  const [left, right] = node.args as [unknown, unknown];
  if (node.op === '==' || node.op === '!=') {
    const [p, q] = [chain(left), chain(right)];
    if (!p || !q) return undefined;
    const paths = p.join('\u0000') <= q.join('\u0000') ? ([p, q] as const) : ([q, p] as const);
    return { kind: 'same', paths, equal: node.op === '==' };
  }
  if (COMPARE[node.op]) {
    const mirrored = chain(left) === undefined;
    const path = mirrored ? chain(right) : chain(left);
    const limit = numberLiteral(mirrored ? left : right);
    if (!path || limit === undefined) return undefined;
    return { kind: 'range', path, op: (mirrored ? MIRROR[node.op]! : node.op) as RangeTerm['op'], limit };
  }
  return undefined;
}

/**
 * The check of a conjunct (or of a part of one): an index term's shape here, the other shapes
 * (has(), bool literals, size(), trust_at_least, in_time_window, !, && and ||) in condition-checks.ts.
 */
function test(node: Node): Test | undefined {
  return termCheck(node)?.test ?? shapeTest(node, test);
}

/**
 * The check of an index term's shape, and, when it compares one access chain with literals
 * (`x == 'a'`, `'a' == x`, `x != 'a'`, `x in ['a']`, `'a' in x`, `x > 1`, `1 < x`), that chain: the
 * only part of it that can fail, which missingKeyError names. No chain for two chains compared
 * (`same`), whose failure depends on which side CEL reads first.
 */
function termCheck(node: Node): { test: Test; path?: readonly string[] } | undefined {
  const key = keyTerm(node);
  if (key) {
    const { path, literals } = key;
    if (key.kind === 'has') {
      const literal = literals[0]!;
      return {
        path,
        test: (a) => {
          const v = plainValue(a, path);
          return isStringList(v) ? v.includes(literal) : undefined;
        },
      };
    }
    return {
      path,
      test: (a) => {
        const v = plainValue(a, path);
        return typeof v === 'string' ? literals.includes(v) : undefined;
      },
    };
  }
  if (!Array.isArray(node.args) || node.args.length !== 2) return undefined;
  const [left, right] = node.args as [unknown, unknown];
  if (node.op === '==' || node.op === '!=') {
    // Two request strings (`resource.tenant == tenant`); a string against a literal is a key term.
    const [p, q] = [chain(left), chain(right)];
    const literal = p ? stringLiteral(right) : undefined;
    const equal = node.op === '==';
    if (p && literal !== undefined) {
      return {
        path: p,
        test: (a) => {
          const v = plainValue(a, p);
          return typeof v === 'string' ? (v === literal) === equal : undefined;
        },
      };
    }
    if (!p || !q) return undefined;
    return {
      test: (a) => {
        const v = plainValue(a, p);
        const w = plainValue(a, q);
        return typeof v === 'string' && typeof w === 'string' ? (v === w) === equal : undefined;
      },
    };
  }
  const compare = COMPARE[node.op];
  if (compare) {
    // `args.amount > 100` or `100 < args.amount`; JSON numbers are doubles, finite.
    const mirrored = chain(left) === undefined;
    const path = mirrored ? chain(right) : chain(left);
    const limit = numberLiteral(mirrored ? left : right);
    if (!path || limit === undefined) return undefined;
    const test = mirrored ? COMPARE[MIRROR[node.op]!]! : compare;
    return {
      path,
      test: (a) => {
        const v = plainValue(a, path);
        return typeof v === 'number' && Number.isFinite(v) ? test(v, limit) : undefined;
      },
    };
  }
  return undefined;
}

/** One check per distinct conjunct text: large sets repeat the same terms across many rules. */
const checksByText = new Map<string, Check | null>();

function sharedCheck(node: Node, source: string | undefined): Check | undefined {
  const { start, end } = node as { start?: unknown; end?: unknown };
  const make = (): Check | null => {
    const term = termCheck(node);
    const t = term?.test ?? shapeTest(node, test);
    if (!t) return null;
    return term?.path ? { test: t, round: 0, result: undefined, path: term.path } : { test: t, round: 0, result: undefined };
  };
  if (source === undefined || typeof start !== 'number' || typeof end !== 'number') return make() ?? undefined;
  const text = source.slice(start, end);
  let found = checksByText.get(text);
  if (found === undefined) {
    if (checksByText.size >= 100_000) checksByText.clear();
    found = make();
    checksByText.set(text, found);
  }
  return found ?? undefined;
}

let current: Record<string, unknown> | undefined;
let round = 0;

/** The plan of a compiled condition (none for a rule without one: it always matches). */
export function planCondition(when: CompiledExpression | undefined, whenSource: string | undefined): ConditionPlan {
  const ast = (when as unknown as { ast?: unknown } | undefined)?.ast;
  if (!isNode(ast)) return NO_PLAN;
  const parts: Node[] = [];
  conjuncts(ast, parts);
  const checks = parts.map((part) => sharedCheck(part, whenSource));
  const terms = parts.map(indexTerm);
  const found = terms.filter((t): t is IndexTerm => t !== undefined);
  return {
    terms: found,
    termIds: found.map(termId),
    checks: checks.filter((c): c is Check => c !== undefined),
    complete: checks.every((c) => c !== undefined),
    exact: found.length === parts.length && new Set(found.map(termId)).size === found.length,
  };
}

const NO_PLAN: ConditionPlan = Object.freeze({ terms: [], termIds: [], checks: [], complete: false, exact: false });

/** What the index groups terms by: the kind and the path (for `same`, both paths). */
export function termId(t: IndexTerm): string {
  return JSON.stringify(t.kind === 'same' ? [t.kind, t.paths] : [t.kind, t.path]);
}

/**
 * A rule's condition judged by its checks: false as soon as one conjunct is false (in CEL `false
 * && x` is false whatever `x` does, errors included, and cel-js follows the spec), true when every
 * conjunct has a check and all are true, undefined when CEL must evaluate the whole condition.
 */
export function judge(plan: ConditionPlan, activation: Record<string, unknown>): boolean | undefined {
  // A new activation is a new request: results of the last one no longer hold. Evaluation is
  // synchronous and an activation is not changed while its rules are evaluated.
  if (activation !== current) {
    current = activation;
    round++;
  }
  let certain = plan.complete;
  for (const c of plan.checks) {
    if (c.round !== round) {
      c.result = c.test(activation);
      c.round = round;
    }
    const v = c.result;
    if (v === false) return false;
    if (v === undefined) certain = false;
  }
  return certain ? true : undefined;
}

/**
 * After judge() left a condition to CEL: the error CEL fails it with, when that is certain, else
 * undefined (then CEL evaluates it). Certain in one case, the common one of a policy reading a
 * field a request does not carry (`context.environment == 'production'` with no environment): every
 * conjunct has a check, all but one are true, and that one compares a chain with literals whose
 * map (plain data) lacks the key. cel-js then throws "No such key: <key>" (with a code frame on the
 * next lines), and `x && true` is the error of `x`; the rule's result is that error's first line,
 * as evaluateRule (decide.ts) makes it. cel-js's error path (an Error with a code frame) made the
 * decision of such a request ~5x dearer (bench/pipeline's policies: 9.9 against 2.0 CPU µs). With
 * two failing conjuncts cel-js reports one of them by its own order: left to CEL.
 * test/policy/missing-key.property.test.ts compares this with cel-js.
 */
export function missingKeyError(plan: ConditionPlan, activation: Record<string, unknown>): string | undefined {
  if (!plan.complete || activation !== current) return undefined;
  let error: string | undefined;
  for (const c of plan.checks) {
    // judge() ran every check for this activation (it stops early only on a false).
    if (c.round !== round) return undefined;
    if (c.result === true) continue;
    if (c.result === false || error !== undefined || !c.path) return undefined;
    const key = missingKey(activation, c.path);
    if (key === undefined) return undefined;
    error = firstLine(`No such key: ${key}`);
  }
  return error;
}

/**
 * The first key of `path` its map lacks, when that map is plain data (not a Map or class instance,
 * and the key not one it inherits: those are left to CEL), else undefined.
 */
function missingKey(activation: Record<string, unknown>, path: readonly string[]): string | undefined {
  let value: unknown = activation[path[0]!];
  for (let i = 1; i < path.length; i++) {
    if (!isPlainObject(value)) return undefined;
    const key = path[i]!;
    if (!Object.hasOwn(value, key)) return key in value ? undefined : key;
    value = value[key];
  }
  return undefined;
}
