import { parseDuration } from '../../../lib/duration.js';
import type { BreakGlassGrant } from '../../../store/records.js';
import { ServiceError } from '../../../services/errors.js';
import { withStore, withWarden, type StoreSource } from '../state.js';
import { formatTable, humanDuration, iso, nonBlank, oneLine } from '../text-output.js';
import { EXIT, UsageError } from '../usage-error.js';

export interface GrantOptions {
  config?: string;
  as?: string;
  reason?: string;
  agent?: string;
  tool?: string;
  tenant?: string;
  for?: string;
}

function describeScope(scope: BreakGlassGrant['scope']): string {
  return [
    scope.agentId ? `agent ${scope.agentId}` : 'any agent',
    scope.tool ? `tool ${scope.tool}` : 'any tool',
    scope.tenant ? `tenant ${scope.tenant}` : 'any tenant',
  ].join(', ');
}

/**
 * `warden break-glass grant`: a time-boxed override, recorded in the store and the decision log.
 * Exit 1 when Warden refuses it (longer than break_glass.max_duration, no reason).
 */
export async function breakGlassGrantCommand(options: GrantOptions): Promise<number> {
  const grantedBy = nonBlank('--as', options.as);
  const duration = (options.for ?? '').trim();
  const ms = parseDuration(duration);
  if (ms === undefined || ms <= 0) throw new UsageError(`--for must be a duration such as 15m or 1h, not "${options.for ?? ''}"`);
  const scope: BreakGlassGrant['scope'] = {};
  if (options.agent !== undefined) scope.agentId = nonBlank('--agent', options.agent);
  if (options.tool !== undefined) scope.tool = nonBlank('--tool', options.tool);
  if (options.tenant !== undefined) scope.tenant = nonBlank('--tenant', options.tenant);
  return withWarden(options.config, async (warden) => {
    let grant: BreakGlassGrant;
    try {
      grant = await warden.breakGlass.grant({ grantedBy, reason: options.reason ?? '', scope, duration });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      console.error(`error: refused: ${error.message}`);
      return EXIT.problems;
    }
    console.log(`granted: ${grant.id}`);
    console.log(`expires: ${iso(grant.expiresAt)} (in ${humanDuration(grant.expiresAt - grant.createdAt)})`);
    console.log(`scope:   ${describeScope(grant.scope)}`);
    return EXIT.ok;
  });
}

export interface RevokeOptions {
  config?: string;
  as?: string;
}

/** `warden break-glass revoke <id>`: ends a grant now. Exit 1 when there is no such grant. */
export async function breakGlassRevokeCommand(id: string, options: RevokeOptions): Promise<number> {
  const by = nonBlank('--as', options.as);
  return withWarden(options.config, async (warden) => {
    const existing = (await warden.store.listGrants({})).find((g) => g.id === id);
    if (!existing) {
      console.error(`error: no break-glass grant "${id}"`);
      return EXIT.problems;
    }
    if (existing.revokedAt !== undefined) {
      console.log(`already revoked: ${id} by ${existing.revokedBy ?? 'unknown'} at ${iso(existing.revokedAt)}`);
      return EXIT.ok;
    }
    const grant = await warden.breakGlass.revoke(id, by);
    console.log(`revoked: ${id} by ${grant?.revokedBy ?? by}${grant?.revokedAt !== undefined ? ` at ${iso(grant.revokedAt)}` : ''}`);
    return EXIT.ok;
  });
}

export interface GrantListOptions extends StoreSource {
  active?: boolean;
  json?: boolean;
}

function grantState(g: BreakGlassGrant, now: number): string {
  if (g.revokedAt !== undefined) return 'revoked';
  if (g.expiresAt <= now) return 'expired';
  if (g.createdAt > now) return 'scheduled';
  return 'active';
}

/** `warden break-glass list [--active]`: every grant (or those in force now), oldest first. */
export async function breakGlassListCommand(options: GrantListOptions): Promise<number> {
  return withStore(options, async (store) => {
    const now = Date.now();
    const grants = await store.listGrants(options.active ? { activeAt: now } : {});
    if (options.json) {
      console.log(JSON.stringify(grants.map((g) => ({ ...g, state: grantState(g, now) })), null, 2));
      return EXIT.ok;
    }
    if (grants.length === 0) {
      console.log(options.active ? 'no active break-glass grants' : 'no break-glass grants');
      return EXIT.ok;
    }
    const rows = grants.map((g) => [
      g.id,
      grantState(g, now),
      g.grantedBy,
      describeScope(g.scope),
      g.expiresAt > now && g.revokedAt === undefined ? `in ${humanDuration(g.expiresAt - now)}` : `at ${iso(g.expiresAt)}`,
      oneLine(g.reason),
    ]);
    console.log(formatTable(['ID', 'STATE', 'GRANTED BY', 'SCOPE', 'EXPIRES', 'REASON'], rows));
    return EXIT.ok;
  });
}
