import { copyJson, isJsonObject, type JsonObject, type JsonValue } from '../../model/json.js';
import type { Obligation } from '../../model/obligation.js';
import { parsePath, visitPath } from './json-path.js';

export const REDACTED = '[REDACTED]';

/** An obligation that could not be applied: the action is denied (or its result withheld). */
export class ObligationError extends Error {}

export interface AppliedObligations {
  /** What was done, for the decision log: "capped limit 5000 → 100", "redacted 3 values". */
  applied: string[];
  idempotencyKey?: string;
}

/**
 * Before execution: caps, idempotency keys and argument redaction, applied to `args` in place.
 * Unknown obligation types are refused (fail closed), as DESIGN.md requires.
 */
export function applyToArguments(obligations: readonly Obligation[], args: JsonObject): AppliedObligations {
  const out: AppliedObligations = { applied: [] };
  for (const o of obligations) {
    switch (o.type) {
      case 'cap': {
        const value = args[o.arg];
        // A missing argument would let the tool choose its own default, perhaps unbounded: the
        // call gets the cap instead.
        if (value === undefined) {
          Object.defineProperty(args, o.arg, { value: o.max, enumerable: true, writable: true, configurable: true });
          out.applied.push(`set ${o.arg} to its cap ${o.max} (it was not given)`);
          break;
        }
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new ObligationError(`cannot cap argument "${o.arg}": it is not a number`);
        if (value > o.max) {
          Object.defineProperty(args, o.arg, { value: o.max, enumerable: true, writable: true, configurable: true });
          out.applied.push(`capped ${o.arg} ${value} → ${o.max}`);
        }
        break;
      }
      case 'require_idempotency_key': {
        const key = args[o.arg];
        if (typeof key !== 'string' || key.trim() === '') {
          throw new ObligationError(`an idempotency key is required in argument "${o.arg}"`);
        }
        out.idempotencyKey = key;
        out.applied.push(`idempotency key from ${o.arg}`);
        break;
      }
      case 'redact': {
        const n = redactPaths(o.paths, 'args', args);
        if (n > 0) out.applied.push(`redacted ${n} argument value${n === 1 ? '' : 's'}`);
        break;
      }
      case 'filter_tenant':
        break;
      default:
        throw new ObligationError(`unknown obligation type "${(o as { type: string }).type}"`);
    }
  }
  return out;
}

/** After execution: redaction and tenant filtering of the result. Returns the new result. */
export function applyToResult(obligations: readonly Obligation[], result: JsonValue, tenant: string, applied: string[]): JsonValue {
  // Most calls carry no result obligation: then the result is not copied at all.
  if (!obligations.some((o) => o.type === 'filter_tenant' || o.type === 'redact')) return result;
  let current = copyJson(result);
  // Rows of other tenants go first: nothing of theirs needs redacting once they are gone.
  const ordered = [...obligations].sort((a, b) => Number(b.type === 'filter_tenant') - Number(a.type === 'filter_tenant'));
  for (const o of ordered) {
    if (o.type === 'redact') {
      const n = redactPaths(o.paths, 'result', current);
      if (n > 0) applied.push(`redacted ${n} result value${n === 1 ? '' : 's'}`);
    } else if (o.type === 'filter_tenant') {
      current = filterTenant(o.path, o.field, current, tenant, applied);
    }
  }
  return current;
}

function redactPaths(paths: readonly string[], root: 'args' | 'result', value: JsonValue): number {
  let n = 0;
  for (const path of paths) {
    const parsed = parsePath(path);
    if (parsed.root !== root) continue;
    n += visitPath(value, parsed.steps, (container, key) => {
      (container as Record<string | number, JsonValue>)[key] = REDACTED;
    });
  }
  return n;
}

function filterTenant(path: string, field: string, result: JsonValue, tenant: string, applied: string[]): JsonValue {
  const { steps } = parsePath(path);
  const keep = (rows: JsonValue[]) => {
    const kept = rows.filter((row) => isJsonObject(row) && row[field] === tenant);
    if (kept.length < rows.length) applied.push(`removed ${rows.length - kept.length} row${rows.length - kept.length === 1 ? '' : 's'} of other tenants from ${path}`);
    return kept;
  };
  if (steps.length === 0) {
    if (!Array.isArray(result)) throw new ObligationError(`cannot filter ${path} by tenant: the result is not a list`);
    return keep(result);
  }
  let lists = 0;
  visitPath(result, steps, (container, key) => {
    const rows = (container as Record<string | number, JsonValue>)[key];
    if (!Array.isArray(rows)) throw new ObligationError(`cannot filter ${path} by tenant: it is not a list`);
    (container as Record<string | number, JsonValue>)[key] = keep(rows);
    lists++;
  });
  if (lists === 0) throw new ObligationError(`cannot filter ${path} by tenant: the result has no such list`);
  return result;
}
