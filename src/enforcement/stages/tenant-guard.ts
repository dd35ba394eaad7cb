import { EnforcementError } from '../errors.js';
import type { Exchange } from '../exchange.js';

/** Argument names that carry a tenant. */
const TENANT_ARGS = ['tenant', 'tenant_id', 'tenantId'];

/**
 * Stage 4: one tenant per exchange. An agent bound to a tenant cannot act for another; a tenant
 * named in the arguments must be the request's; a tenant argument the tool declares but the call
 * left out is filled in.
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
  for (const key of TENANT_ARGS) {
    const value = args[key];
    if (value === undefined) {
      if (x.tool!.declaredArgs.has(key)) args[key] = tenant;
      continue;
    }
    if (value !== tenant) {
      throw new EnforcementError('tenant', `cross-tenant access: request tenant ${tenant} does not match ${typeof value === 'string' ? value : JSON.stringify(value)}`, { httpStatus: 403, details: {
        argument: key,
      } });
    }
  }
  return tenant;
}
