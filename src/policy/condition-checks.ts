import { trustRank } from '../model/trust.js';
import { inTimeWindow, minutesOfDay, scope } from './cel-environment.js';
import { chain, COMPARE, isNode, isPlainObject, MIRROR, numberLiteral, plainValue, stringLiteral, type Node } from './condition-ast.js';

/**
 * A condition, or a part of one, judged in plain JavaScript: true or false when that is what CEL
 * (cel-js) evaluates it to, undefined when the check cannot be sure (then CEL decides).
 */
export type Test = (activation: Record<string, unknown>) => boolean | undefined;

/**
 * Checks for the shapes that are no index term but common in policies, the built-in guard
 * policies above all (every one of their rules is a candidate for every call): `has(x.y)`,
 * `x.y == true`, `size(x.y) > 0`, `trust_at_least('high')`, `in_time_window(now, …)`, and `!`,
 * `&&`, `||` over parts that have checks. Each returns a bool only where cel-js gives that bool
 * (test/policy/condition-checks.property.test.ts compares them on generated requests); `part`
 * finds the check of a sub-expression (condition-plan.ts's, which tries the index terms first).
 */
export function shapeTest(node: Node, part: (node: Node) => Test | undefined): Test | undefined {
  switch (node.op) {
    case '!_':
      return negation(node, part);
    case '&&':
    case '||':
      return junction(node, part);
    case 'call':
      return call(node);
    case '==':
    case '!=':
      return boolEquality(node);
    default:
      return COMPARE[node.op] ? sizeBound(node) : undefined;
  }
}

function negation(node: Node, part: (node: Node) => Test | undefined): Test | undefined {
  const inner = isNode(node.args) ? part(node.args) : undefined;
  if (!inner) return undefined;
  return (a) => {
    const v = inner(a);
    return v === undefined ? undefined : !v;
  };
}

/**
 * CEL's `&&` and `||` are commutative over errors: `x && false` is false and `x || true` true
 * whatever `x` does (an error, a non-bool), so one decisive part settles it even where the others
 * have no check. Otherwise the result is certain only when every part's is.
 */
function junction(node: Node, part: (node: Node) => Test | undefined): Test | undefined {
  if (!Array.isArray(node.args) || node.args.length < 2) return undefined;
  const parts = (node.args as unknown[]).map((n) => (isNode(n) ? part(n) : undefined));
  const known = parts.filter((t): t is Test => t !== undefined);
  if (known.length === 0) return undefined;
  const decisive = node.op === '||';
  const allKnown = known.length === parts.length;
  return (a) => {
    let certain = allKnown;
    for (let i = 0; i < known.length; i++) {
      const v = known[i]!(a);
      if (v === decisive) return decisive;
      if (v === undefined) certain = false;
    }
    return certain ? !decisive : undefined;
  };
}

function call(node: Node): Test | undefined {
  if (!Array.isArray(node.args) || node.args.length !== 2) return undefined;
  const [name, args] = node.args as [unknown, unknown];
  if (!Array.isArray(args)) return undefined;
  if (name === 'has' && args.length === 1) return presence(args[0]);
  if (name === 'trust_at_least' && args.length === 1) return trust(args[0]);
  if (name === 'in_time_window' && (args.length === 3 || args.length === 4)) return timeWindow(args);
  return undefined;
}

/**
 * `has(x.y)`: false when the map `x` (plain data) has no own key `y`, true when it has one with a
 * value. A key holding `undefined`, `__proto__`, and a map that is not a plain object (a Map, a
 * class instance, a string: cel-js has its own answers there) are left to CEL.
 */
function presence(arg: unknown): Test | undefined {
  if (!isNode(arg) || arg.op !== '.') return undefined;
  const path = chain(arg);
  if (!path || path.length < 2) return undefined;
  const field = path[path.length - 1]!;
  if (field === '__proto__') return undefined;
  const parentPath = path.slice(0, -1);
  return (a) => {
    const parent = plainValue(a, parentPath);
    if (!isPlainObject(parent)) return undefined;
    if (!Object.hasOwn(parent, field)) return false;
    return parent[field] === undefined ? undefined : true;
  };
}

/** `trust_at_least('high')`: the agent's trust, which decide() puts in the scope before judging. */
function trust(arg: unknown): Test | undefined {
  const level = stringLiteral(arg);
  const wanted = level === undefined ? -1 : trustRank(level);
  // An unknown level is an error in CEL: no check, so CEL reports it.
  if (wanted < 0) return undefined;
  return () => trustRank(scope.agentTrust) >= wanted;
}

/** `in_time_window(now, '07:00', '20:00'[, 'Europe/Berlin'])` with literals that are valid. */
function timeWindow(args: unknown[]): Test | undefined {
  const at = args[0];
  if (!isNode(at) || at.op !== 'id' || at.args !== 'now') return undefined;
  const [from, to, zone] = args.slice(1).map(stringLiteral);
  if (from === undefined || to === undefined || (args.length === 4 && zone === undefined)) return undefined;
  try {
    minutesOfDay(from);
    minutesOfDay(to);
    if (zone !== undefined) new Intl.DateTimeFormat('en-GB', { timeZone: zone });
  } catch {
    return undefined; // an error in CEL on every request: CEL reports it
  }
  return (a) => {
    const now = a.now;
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) return undefined;
    return inTimeWindow(now, from, to, zone);
  };
}

const boolLiteral = (node: unknown): boolean | undefined => (isNode(node) && node.op === 'value' && typeof node.args === 'boolean' ? node.args : undefined);

/** `signals.trifecta == true`, `false != x.y`: a request bool against a bool literal. */
function boolEquality(node: Node): Test | undefined {
  if (!Array.isArray(node.args) || node.args.length !== 2) return undefined;
  const [left, right] = node.args as [unknown, unknown];
  const onLeft = chain(left);
  const path = onLeft ?? chain(right);
  const literal = onLeft ? boolLiteral(right) : boolLiteral(left);
  if (!path || literal === undefined) return undefined;
  const equal = node.op === '==';
  return (a) => {
    const v = plainValue(a, path);
    return typeof v === 'boolean' ? (v === literal) === equal : undefined;
  };
}

/** The path of `size(x.y)` when `node` is one. */
function sizeOf(node: unknown): string[] | undefined {
  if (!isNode(node) || node.op !== 'call' || !Array.isArray(node.args)) return undefined;
  const [name, args] = node.args as [unknown, unknown];
  return name === 'size' && Array.isArray(args) && args.length === 1 ? chain(args[0]) : undefined;
}

/** `size(signals.taint.injected) > 0` (either way round) on a list; strings and maps go to CEL. */
function sizeBound(node: Node): Test | undefined {
  if (!Array.isArray(node.args) || node.args.length !== 2) return undefined;
  const [left, right] = node.args as [unknown, unknown];
  const onLeft = sizeOf(left);
  const path = onLeft ?? sizeOf(right);
  const limit = numberLiteral(onLeft ? right : left);
  if (!path || limit === undefined) return undefined;
  const compare = onLeft ? COMPARE[node.op]! : COMPARE[MIRROR[node.op]!]!;
  return (a) => {
    const v = plainValue(a, path);
    return Array.isArray(v) ? compare(v.length, limit) : undefined;
  };
}
