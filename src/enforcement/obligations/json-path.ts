import { isJsonObject, type JsonValue } from '../../model/json.js';

/** One step of an obligation path: a field, every element (`[*]`) or one element (`[n]`). */
export type PathStep = { field: string } | { each: true } | { index: number };

/** Parses `result.orders[*].customer_email` into its root (`result`) and steps. */
export function parsePath(path: string): { root: string; steps: PathStep[] } {
  const [root, ...rest] = path.split(/(?=\.|\[)/);
  const steps: PathStep[] = rest.map((part) => {
    if (part === '[*]') return { each: true };
    const index = /^\[(\d+)\]$/.exec(part);
    if (index) return { index: Number(index[1]) };
    return { field: part.slice(1) };
  });
  return { root: root!, steps };
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
  if (steps.length === 0) return 0;
  const [step, ...rest] = steps;
  let reached = 0;
  const descend = (container: Record<string, JsonValue> | JsonValue[], key: string | number) => {
    const child = (container as Record<string | number, JsonValue>)[key];
    if (child === undefined) return;
    if (rest.length === 0) {
      visit(container, key);
      reached++;
    } else reached += visitPath(child, rest, visit);
  };
  if ('field' in step!) {
    if (isJsonObject(value) && Object.hasOwn(value, step.field)) descend(value, step.field);
  } else if ('index' in step!) {
    if (Array.isArray(value) && step.index < value.length) descend(value, step.index);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) descend(value, i);
  }
  return reached;
}
