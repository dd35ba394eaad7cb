import { OBLIGATION_TYPES, type Obligation } from '../model/obligation.js';

export type ObligationParse = { ok: true; obligation: Obligation } | { ok: false; message: string; hint?: string };

const PATH = /^(args|result)(\.[A-Za-z0-9_-]+|\[\*\]|\[\d+\])+$/;

/**
 * Turns one authored obligation (a single-key map such as `redact: [...]` or
 * `cap: {arg: limit, max: 1000}`) into its normalised form.
 */
export function parseObligation(item: Record<string, unknown>): ObligationParse {
  const keys = Object.keys(item);
  if (keys.length !== 1) {
    return {
      ok: false,
      message: `an obligation is a map with exactly one key (its type); found ${keys.length}: ${keys.join(', ') || 'none'}`,
    };
  }
  const type = keys[0]!;
  const value = item[type];
  switch (type) {
    case 'redact': {
      const paths = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string')) {
        return { ok: false, message: 'redact takes a path or a list of paths' };
      }
      const bad = paths.find((p) => !PATH.test(p));
      if (bad !== undefined) {
        return {
          ok: false,
          message: `redact path "${bad}" is not valid`,
          hint: 'paths start with args. or result. and use .field, [*] or [n], e.g. result.orders[*].customer_email',
        };
      }
      return { ok: true, obligation: { type: 'redact', paths: [...new Set(paths as string[])].sort() } };
    }
    case 'cap': {
      const v = value as { arg?: unknown; max?: unknown } | null;
      if (!v || typeof v !== 'object' || typeof v.arg !== 'string' || typeof v.max !== 'number' || !Number.isFinite(v.max)) {
        return { ok: false, message: 'cap takes {arg: <argument name>, max: <number>}' };
      }
      const extra = Object.keys(v).filter((k) => k !== 'arg' && k !== 'max');
      if (extra.length) return { ok: false, message: `cap has unknown field(s): ${extra.join(', ')}` };
      return { ok: true, obligation: { type: 'cap', arg: v.arg, max: v.max } };
    }
    case 'require_idempotency_key': {
      if (value === true) return { ok: true, obligation: { type: 'require_idempotency_key', arg: 'idempotency_key' } };
      const v = value as { arg?: unknown } | null;
      if (v && typeof v === 'object' && typeof v.arg === 'string' && Object.keys(v).length === 1) {
        return { ok: true, obligation: { type: 'require_idempotency_key', arg: v.arg } };
      }
      return { ok: false, message: 'require_idempotency_key takes true or {arg: <argument name>}' };
    }
    case 'filter_tenant': {
      if (typeof value === 'string' && PATH.test(value) && value.startsWith('result')) {
        return { ok: true, obligation: { type: 'filter_tenant', path: value, field: 'tenant' } };
      }
      const v = value as { path?: unknown; field?: unknown } | null;
      if (v && typeof v === 'object' && typeof v.path === 'string' && v.path.startsWith('result') && PATH.test(v.path)) {
        const field = v.field === undefined ? 'tenant' : v.field;
        if (typeof field === 'string' && Object.keys(v).every((k) => k === 'path' || k === 'field')) {
          return { ok: true, obligation: { type: 'filter_tenant', path: v.path, field } };
        }
      }
      return {
        ok: false,
        message: 'filter_tenant takes a result path or {path: <result path>, field: <tenant field, default "tenant">}',
        hint: 'e.g. filter_tenant: {path: result.orders, field: tenant_id}',
      };
    }
    default:
      return {
        ok: false,
        message: `unknown obligation type "${type}"`,
        hint: `known obligation types: ${OBLIGATION_TYPES.join(', ')}`,
      };
  }
}

/** Merges obligations from several matched rules into one deterministic, duplicate-free list. */
export function mergeObligations(lists: ReadonlyArray<readonly Obligation[]>): Obligation[] {
  if (lists.every((list) => list.length === 0)) return [];
  const redact = new Set<string>();
  const caps = new Map<string, number>();
  const others = new Map<string, Obligation>();
  for (const list of lists) {
    for (const o of list) {
      if (o.type === 'redact') o.paths.forEach((p) => redact.add(p));
      else if (o.type === 'cap') caps.set(o.arg, Math.min(o.max, caps.get(o.arg) ?? Infinity));
      else others.set(JSON.stringify(o), o);
    }
  }
  const merged: Obligation[] = [];
  if (redact.size) merged.push({ type: 'redact', paths: [...redact].sort() });
  for (const [arg, max] of [...caps].sort(([a], [b]) => (a < b ? -1 : 1))) merged.push({ type: 'cap', arg, max });
  for (const key of [...others.keys()].sort()) merged.push(others.get(key)!);
  return merged;
}
