import { squashKey } from '../../lib/key-words.js';
import { isJsonObject, type JsonValue } from '../../model/json.js';
import { EnforcementError } from '../errors.js';
import type { Exchange } from '../exchange.js';

/** Argument names a declared tenant argument may have; left out of a call, it is filled in. */
const TENANT_ARGS = ['tenant', 'tenant_id', 'tenantId'];
/**
 * An argument carries a tenant when its key, folded as forbidden keys are (lib/key-words.ts: case,
 * separators, invisible and look-alike characters), is one of these: `TenantID`, `tenant-id` and
 * `ｔｅｎａｎｔ` name the tenant as `tenant_id` does, and a tool may read any of them.
 */
const TENANT_KEYS: ReadonlySet<string> = new Set(['tenant', 'tenantid']);
/** Keys already folded (a call's keys repeat from call to call); cleared when full. */
const namesTenant = new Map<string, boolean>();
const CACHE_LIMIT = 4_096;

function isTenantKey(key: string): boolean {
  let known = namesTenant.get(key);
  if (known === undefined) {
    known = TENANT_KEYS.has(squashKey(key));
    if (namesTenant.size >= CACHE_LIMIT) namesTenant.clear();
    namesTenant.set(key, known);
  }
  return known;
}

/**
 * Stage 4: one tenant per exchange. An agent bound to a tenant cannot act for another; a tenant
 * named in the arguments, at any depth and however its key is spelt, must be the request's; a
 * tenant argument the tool declares but the call left out is filled in.
 */
export function guardTenant(x: Exchange): string {
  const agentTenant = x.agent!.tenant;
  const requested = x.call.tenant;
  if (agentTenant && requested && agentTenant !== requested) {
    throw new EnforcementError('tenant', `cross-tenant access: request tenant ${agentTenant} does not match ${requested}`, { httpStatus: 403 });
  }
  const tenant = agentTenant ?? requested;
  if (!tenant) throw new EnforcementError('tenant', 'no tenant: the agent is not bound to one and the request names none', { httpStatus: 400 });
  const args = x.args!;
  const other = otherTenant(args, tenant, 'args');
  if (other) {
    const { path, value } = other;
    throw new EnforcementError('tenant', `cross-tenant access: request tenant ${tenant} does not match ${typeof value === 'string' ? value : JSON.stringify(value)}`, {
      httpStatus: 403,
      details: { argument: path.slice('args.'.length) },
    });
  }
  for (const key of TENANT_ARGS) if (args[key] === undefined && x.tool!.declaredArgs.has(key)) args[key] = tenant;
  return tenant;
}

/** The first argument (a path from `args`, arrays included) that names a tenant other than `tenant`. */
function otherTenant(value: JsonValue | undefined, tenant: string, path: string): { path: string; value: JsonValue } | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = otherTenant(value[i], tenant, `${path}[${i}]`);
      if (found) return found;
    }
  } else if (isJsonObject(value)) {
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (v === undefined) continue;
      if (v !== tenant && isTenantKey(key)) return { path: `${path}.${key}`, value: v };
      const found = otherTenant(v, tenant, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}
