import { parseDuration } from '../../../lib/duration.js';
import type { BreakGlassGrant } from '../../../store/records.js';
import { grantState } from '../../../services/break-glass.js';
import { ServiceError } from '../../../services/errors.js';
import { problemName } from '../gateway-client.js';
import { operatorMode, noteIgnored, type OperatorOptions } from '../operator-mode.js';
// state.js and local-admin.js load all of Warden: imported where used, so a command that calls the
// gateway starts as fast as one that prints help.
import type { StoreSource } from '../state.js';
import { formatTable, humanDuration, iso, nonBlank, oneLine } from '../text-output.js';
import { EXIT, UsageError } from '../usage-error.js';

export interface GrantOptions extends OperatorOptions {
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

const GRANT_NEEDS = 'break-glass needs a token with the admin role (a tenant-scoped admin grants and revokes only within their tenant)';

/**
 * `warden break-glass grant`: a time-boxed override, recorded in the store and the decision log,
 * by an admin (through the gateway) or the local admin. Exit 1 when Warden refuses it (not an
 * admin, another tenant, longer than break_glass.max_duration, no reason).
 */
export async function breakGlassGrantCommand(options: GrantOptions): Promise<number> {
  const duration = (options.for ?? '').trim();
  const ms = parseDuration(duration);
  if (ms === undefined || ms <= 0) throw new UsageError(`--for must be a duration such as 15m or 1h, not "${options.for ?? ''}"`);
  const reason = nonBlank('--reason', options.reason);
  const scope: BreakGlassGrant['scope'] = {};
  if (options.agent !== undefined) scope.agentId = nonBlank('--agent', options.agent);
  if (options.tool !== undefined) scope.tool = nonBlank('--tool', options.tool);
  if (options.tenant !== undefined) scope.tenant = nonBlank('--tenant', options.tenant);
  const mode = operatorMode(options, 'break-glass grant');
  noteIgnored([[mode.kind === 'api' && options.as !== undefined, '--as is ignored over the API: the grant is recorded as the person your token stands for']]);

  let grant: BreakGlassGrant;
  if (mode.kind === 'api') {
    const body = { reason, duration, scope: { ...(scope.agentId ? { agent_id: scope.agentId } : {}), ...(scope.tool ? { tool: scope.tool } : {}), ...(scope.tenant ? { tenant: scope.tenant } : {}) } };
    const answer = await mode.gateway.send<BreakGlassGrant>('POST', '/v1/break-glass', body);
    if (!answer.ok) return mode.gateway.refused(answer.problem, GRANT_NEEDS);
    grant = answer.body;
  } else {
    const { withLocalAdmin } = await import('../local-admin.js');
    const granted = await withLocalAdmin(mode, 'break-glass grant', async (warden, admin) => {
      try {
        return await warden.breakGlass.grantFor(admin, { reason, scope, duration });
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
        console.error(`error: refused: ${error.message}`);
        return undefined;
      }
    }, { upstreams: false });
    if (!granted) return EXIT.problems;
    grant = granted;
  }
  console.log(`granted: ${grant.id}`);
  console.log(`expires: ${iso(grant.expiresAt)} (in ${humanDuration(grant.expiresAt - grant.createdAt)})`);
  console.log(`scope:   ${describeScope(grant.scope)}`);
  return EXIT.ok;
}

export interface RevokeOptions extends OperatorOptions {
  reason?: string;
}

/** `warden break-glass revoke <id>`: ends a grant now. Exit 1 when there is no such grant (or it is not the caller's to end). */
export async function breakGlassRevokeCommand(id: string, options: RevokeOptions): Promise<number> {
  const reason = options.reason?.trim() ?? '';
  const mode = operatorMode(options, `break-glass revoke ${id}`);
  noteIgnored([[mode.kind === 'api' && options.as !== undefined, '--as is ignored over the API: the revocation is recorded as the person your token stands for']]);
  if (mode.kind === 'api') {
    const answer = await mode.gateway.send<BreakGlassGrant>('POST', `/v1/break-glass/${encodeURIComponent(id)}/revoke`, reason ? { reason } : {});
    if (!answer.ok && problemName(answer.problem) === 'already-revoked') {
      console.log(`already revoked: ${answer.problem.detail}`);
      return EXIT.ok;
    }
    if (!answer.ok) return mode.gateway.refused(answer.problem, GRANT_NEEDS);
    console.log(revoked(answer.body));
    return EXIT.ok;
  }
  const { withLocalAdmin } = await import('../local-admin.js');
  return withLocalAdmin(mode, 'break-glass revoke', async (warden, admin) => {
    try {
      console.log(revoked(await warden.breakGlass.revokeFor(admin, id, reason)));
      return EXIT.ok;
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      if (error.problem === 'already-revoked') {
        console.log(`already revoked: ${error.message}`);
        return EXIT.ok;
      }
      console.error(`error: ${error.message}`);
      return EXIT.problems;
    }
  }, { upstreams: false });
}

const revoked = (g: BreakGlassGrant) => `revoked: ${g.id} by ${g.revokedBy ?? 'unknown'}${g.revokedAt !== undefined ? ` at ${iso(g.revokedAt)}` : ''}`;

export interface GrantListOptions extends StoreSource {
  active?: boolean;
  json?: boolean;
}

/** `warden break-glass list [--active]`: every grant (or those in force now), oldest first. */
export async function breakGlassListCommand(options: GrantListOptions): Promise<number> {
  return (await import('../state.js')).withStore(options, async (store) => {
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
