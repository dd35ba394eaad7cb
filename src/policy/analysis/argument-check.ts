import type { ASTNode, Environment } from '@marcbachmann/cel-js';
import { closest } from '../../lib/diagnostic.js';
import { createEnvironment } from '../cel-environment.js';
import { argumentPath, guardsOf, isGuarded, parseCondition, walk } from './condition-ast.js';
import { celSchema, cloneShape, shapeAt, type ObjectShape } from './json-schema-shape.js';

/** A condition reads `args.<path>`, which the tool's schema does not declare. */
export interface UnknownArgument {
  kind: 'unknown';
  path: string[];
  /** Where in the condition (character index). */
  start: number;
  /** A `has()` test around the read keeps it from running when the argument is absent. */
  guarded: boolean;
  /** The schema allows no other properties there: the argument can never be present. */
  closed: boolean;
  /** A declared name close to the unknown one. */
  suggestion?: string;
}

/** A comparison of an argument with a value of another type. */
export interface ArgumentTypeMismatch {
  kind: 'type';
  path: string[];
  start: number;
  operator: string;
  /** The argument's type and the other operand's, as CEL names them (`string`, `double`…). */
  argumentType: string;
  otherType: string;
}

export type ArgumentProblem = UnknownArgument | ArgumentTypeMismatch;

/** At most this many unknown keys are looked for in one condition (each needs one more check). */
const MAX_ROUNDS = 20;

let base: Environment | undefined;

/**
 * The condition language with `args` left to be declared per tool. JSON numbers and CEL int
 * literals compare at run time (`args.amount == 100` works), so the checker is told they may.
 */
function typedBase(): Environment {
  if (!base) {
    base = createEnvironment(['args']);
    base.registerOperator('double == int', (a: number, b: bigint) => a === Number(b));
    base.registerOperator('double in list<int>', (a: number, b: bigint[]) => b.some((x) => Number(x) === a));
  }
  return base;
}

/** The condition language with `args` typed by `shape` (reuse it: building one costs more than a check). */
export function checkerFor(shape: ObjectShape): Environment {
  return typedBase().clone().registerVariable({ name: 'args', schema: celSchema(shape) });
}

const NUMBER = new Set(['int', 'uint', 'double']);
const SCALARS = new Set(['string', 'bool', 'bytes', 'int', 'uint', 'double']);
const family = (type: string) => (NUMBER.has(type) ? 'number' : type);
const COMPARISON = /no such overload: (\S+) (==|!=|<|<=|>|>=|in) (\S+(?:<[^>]*>)?)$/;

function addDyn(shape: ObjectShape, path: readonly string[]): boolean {
  const parent = shapeAt(shape, path.slice(0, -1));
  if (!parent || parent.properties.has(path.at(-1)!)) return false;
  parent.properties.set(path.at(-1)!, 'dyn');
  return true;
}

/** The node the checker's error points at: a field read ending where the error ends, or the whole node. */
function nodeAt(root: ASTNode, range: { start: number; end: number }): ASTNode | undefined {
  let best: ASTNode | undefined;
  for (const n of walk(root)) {
    if (n.range.end !== range.end) continue;
    if (n.range.start === range.start || n.op === '.') {
      if (!best || n.range.start <= best.range.start) best = n;
    }
  }
  return best;
}

/**
 * Type-checks a condition with `args` declared from one tool's input schema, using cel-js's own
 * checker. An unknown key is recorded and declared `dyn` so the next round finds the next one; a
 * comparison between types that never compare ends the check (the checker stops at its first
 * error). Any other checker complaint is an artefact of typing `args` as a struct where the
 * gateway has a map (`size(args)`, `'x' in args`): it ends the check with nothing reported.
 */
export function checkArguments(condition: string, argumentShape: ObjectShape, checker: Environment = checkerFor(argumentShape)): ArgumentProblem[] {
  let result;
  try {
    result = checker.check(condition);
  } catch {
    return [];
  }
  if (result.valid) return [];
  const root = parseCondition(condition);
  const guards = guardsOf(root);
  const shape = cloneShape(argumentShape);
  const problems: ArgumentProblem[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (round > 0) {
      try {
        result = checkerFor(shape).check(condition);
      } catch {
        return problems;
      }
    }
    if (result.valid || !result.error?.range) return problems;
    const message = result.error.message.split('\n')[0]!;
    const node = nodeAt(root, result.error.range);
    const path = node ? argumentPath(node) : undefined;
    if (/^No such key: /.test(message) && node && path) {
      const parent = shapeAt(shape, path.slice(0, -1));
      const original = shapeAt(argumentShape, path.slice(0, -1));
      const name = path.at(-1)!;
      const suggestion = original ? closest(name, [...original.properties.keys()]) : undefined;
      problems.push({
        kind: 'unknown',
        path,
        start: node.range.start,
        guarded: isGuarded(guards, node, path),
        closed: parent?.closed ?? false,
        ...(suggestion ? { suggestion } : {}),
      });
      if (!addDyn(shape, path)) return problems;
      continue;
    }
    const comparison = COMPARISON.exec(message);
    if (comparison && node && (node.op as string) === comparison[2]) {
      const [, left, operator, rightType] = comparison as unknown as [string, string, string, string];
      const right = operator === 'in' ? /^list<(.+)>$/.exec(rightType)?.[1] : rightType;
      const sides = node.args as [ASTNode, ASTNode];
      const onLeft = argumentPath(sides[0]);
      const argument = onLeft ?? argumentPath(sides[1]);
      if (right && argument && SCALARS.has(left) && SCALARS.has(right) && family(left) !== family(right)) {
        const [argumentType, otherType] = onLeft ? [left, right] : [right, left];
        problems.push({ kind: 'type', path: argument, start: node.range.start, operator, argumentType, otherType });
      }
    }
    return problems;
  }
  return problems;
}
