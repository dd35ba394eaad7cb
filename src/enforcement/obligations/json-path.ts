import { isJsonObject, type JsonValue } from '../../model/json.js';

/** One step of an obligation path: a field, every element (`[*]`) or one element (`[n]`). */
export type PathStep = { field: string } | { each: true } | { index: number };

export interface ParsedPath {
  root: string;
  steps: readonly PathStep[];
}

/**
 * Paths parsed before, by text. Obligation paths come from the policies in force (and from the
 * decisions of held approvals): a few distinct texts, each applied on every call its rule allows.
 */
const parsed = new Map<string, ParsedPath>();
const MAX_PARSED = 1_000;

/** Parses `result.orders[*].customer_email` into its root (`result`) and steps; parsed once per text. */
export function parsePath(path: string): ParsedPath {
  let known = parsed.get(path);
  if (!known) {
    known = Object.freeze(parseOnce(path));
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(path, known);
  }
  return known;
}

function parseOnce(path: string): ParsedPath {
  const [root, ...rest] = path.split(/(?=\.|\[)/);
  const steps: PathStep[] = rest.map((part) => {
    if (part === '[*]') return Object.freeze({ each: true as const });
    const index = /^\[(\d+)\]$/.exec(part);
    if (index) return Object.freeze({ index: Number(index[1]) });
    return Object.freeze({ field: part.slice(1) });
  });
  return { root: root!, steps: Object.freeze(steps) };
}

/**
 * Calls `visit(container, key)` for every place the path reaches in `value`. Returns how many
 * places it reached, so a caller can tell a path that matched nothing.
 */
export function visitPath(
  value: JsonValue,
  steps: readonly PathStep[],
  visit: (container: Record<string, JsonValue> | JsonValue[], key: string | number) => void,
): number {
  return steps.length === 0 ? 0 : visitFrom(value, steps, 0, visit);
}

/** visitPath from `steps[at]` on (an index rather than a copy of the remaining steps at each level). */
function visitFrom(
  value: JsonValue,
  steps: readonly PathStep[],
  at: number,
  visit: (container: Record<string, JsonValue> | JsonValue[], key: string | number) => void,
): number {
  const step = steps[at]!;
  const last = at === steps.length - 1;
  let reached = 0;
  const descend = (container: Record<string, JsonValue> | JsonValue[], key: string | number) => {
    const child = (container as Record<string | number, JsonValue>)[key];
    if (child === undefined) return;
    if (last) {
      visit(container, key);
      reached++;
    } else reached += visitFrom(child, steps, at + 1, visit);
  };
  if ('field' in step) {
    if (isJsonObject(value) && Object.hasOwn(value, step.field)) descend(value, step.field);
  } else if ('index' in step) {
    if (Array.isArray(value) && step.index < value.length) descend(value, step.index);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) descend(value, i);
  }
  return reached;
}
