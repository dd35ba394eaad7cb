import { randomUUID } from 'node:crypto';
import type { Human, Principal } from '../auth/principal.js';
import type { DecisionRecorder } from '../enforcement/decision-recorder.js';
import { durationMs, parseDuration } from '../lib/duration.js';
import type { JsonObject } from '../model/json.js';
import type { AgentStore, GrantStore } from '../store/ports.js';
import type { BreakGlassGrant } from '../store/records.js';
import { requireHuman, seesTenant, visibleAgent } from './access.js';
import { ServiceError } from './errors.js';

export interface BreakGlassDeps {
  grants: GrantStore;
  agents: Pick<AgentStore, 'getAgent'>;
  recorder: DecisionRecorder;
  /** `break_glass.max_duration`, as written. */
  maxDuration: string;
  clock: () => number;
}

export type GrantState = 'active' | 'expired' | 'revoked' | 'scheduled';

/** A grant as people see it: with whether it is in force now. */
export type GrantView = BreakGlassGrant & { state: GrantState };

/** What granting takes: why, for how long (`15m`), and which calls it unlocks. */
export interface GrantRequest {
  reason: string;
  duration: string;
  scope: BreakGlassGrant['scope'];
}

/** How long an ended grant stays in `listFor`: long enough to review an incident. */
export const RECENT_GRANTS_MS = 7 * 86_400_000;

export function grantState(g: BreakGlassGrant, now: number): GrantState {
  if (g.revokedAt !== undefined) return 'revoked';
  if (g.expiresAt <= now) return 'expired';
  if (g.createdAt > now) return 'scheduled';
  return 'active';
}

/**
 * Break-glass grants: time-boxed overrides of policy denies, each granted and revoked on the record.
 * People act through `grantFor` / `listFor` / `revokeFor` (admins grant and revoke, within their
 * tenant unless they are operators of every tenant); `grant` and `revoke` are for callers that are
 * already trusted (an embedding application).
 */
export class BreakGlassService {
  constructor(private readonly d: BreakGlassDeps) {}

  /**
   * An admin's grant. A tenant-scoped admin's grant is always confined to their tenant (naming
   * another is refused); a grant for one agent is confined to that agent's tenant.
   */
  async grantFor(principal: Principal, input: GrantRequest): Promise<BreakGlassGrant> {
    const human = requireHuman(principal, 'admin', 'granting break-glass');
    const scope = await this.confinedScope(human, input.scope);
    return this.grant({ grantedBy: human.id, reason: input.reason, scope, duration: input.duration });
  }

  /** The grants in force now and those that ended in the last week, newest first, that the person may see. */
  async listFor(principal: Principal, filter: { active?: boolean } = {}): Promise<GrantView[]> {
    const human = requireHuman(principal, 'viewer', 'listing break-glass grants');
    const now = this.d.clock();
    const grants = await this.d.grants.listGrants(filter.active ? { activeAt: now } : {});
    return grants
      .filter((g) => visibleGrant(human, g) && (g.revokedAt ?? g.expiresAt) > now - RECENT_GRANTS_MS)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((g) => ({ ...g, state: grantState(g, now) }));
  }

  /** An admin ends a grant now. A grant for every tenant can only be ended by an operator of every tenant. */
  async revokeFor(principal: Principal, id: string, reason = ''): Promise<BreakGlassGrant> {
    const human = requireHuman(principal, 'admin', 'revoking break-glass grants');
    const grant = (await this.d.grants.listGrants({})).find((g) => g.id === id);
    if (!grant || !visibleGrant(human, grant)) throw new ServiceError('not_found', `no break-glass grant "${id}"`);
    if (human.tenant !== '*' && grant.scope.tenant !== human.tenant) {
      throw new ServiceError('forbidden', `grant ${id} applies to every tenant; only an admin of every tenant may revoke it`, { problem: 'other-tenant' });
    }
    if (grant.revokedAt !== undefined) {
      throw new ServiceError('conflict', `grant ${id} was already revoked by ${grant.revokedBy ?? 'unknown'} at ${new Date(grant.revokedAt).toISOString()}`, {
        problem: 'already-revoked',
        data: { grant },
      });
    }
    return (await this.revoke(id, human.id, reason))!;
  }

  async grant(input: { grantedBy: string; reason: string; scope: BreakGlassGrant['scope']; duration: string }): Promise<BreakGlassGrant> {
    const ms = parseDuration(input.duration);
    if (ms === undefined || ms <= 0) throw new ServiceError('invalid', `the duration must be such as 15m or 1h, not "${input.duration}"`);
    if (ms > durationMs(this.d.maxDuration)) throw new ServiceError('invalid', `a break-glass grant may last at most ${this.d.maxDuration}`);
    if (!input.reason.trim()) throw new ServiceError('invalid', 'a break-glass grant needs a reason');
    const now = this.d.clock();
    const grant: BreakGlassGrant = { id: `bg_${randomUUID()}`, grantedBy: input.grantedBy, reason: input.reason, scope: input.scope, createdAt: now, expiresAt: now + ms };
    await this.d.grants.createGrant(grant);
    await this.d.recorder.admin(
      'break_glass.grant',
      input.grantedBy,
      `break-glass grant ${grant.id} for ${input.duration}: ${input.reason}`,
      { grant: grant.id, scope: grant.scope as JsonObject, expiresAt: new Date(grant.expiresAt).toISOString() },
      grant.scope.tenant ?? '',
    );
    return grant;
  }

  async revoke(id: string, by: string, reason = ''): Promise<BreakGlassGrant | undefined> {
    const grant = await this.d.grants.revokeGrant(id, by, this.d.clock());
    if (grant) await this.d.recorder.admin('break_glass.revoke', by, `break-glass grant ${id} revoked${reason ? `: ${reason}` : ''}`, { grant: id }, grant.scope.tenant ?? '');
    return grant;
  }

  /**
   * The scope a person may grant: their own tenant unless they act for every tenant, and for one
   * agent, that agent's tenant (so the grant never reaches beyond what it names).
   */
  private async confinedScope(human: Human, scope: BreakGlassGrant['scope']): Promise<BreakGlassGrant['scope']> {
    const confined = { ...scope };
    if (human.tenant !== '*') {
      if (scope.tenant !== undefined && scope.tenant !== human.tenant) {
        throw new ServiceError('forbidden', `${human.id} may only grant break-glass within tenant ${human.tenant}, not ${scope.tenant}`, { problem: 'other-tenant' });
      }
      confined.tenant = human.tenant;
    }
    if (scope.agentId !== undefined) {
      const agent = visibleAgent(human, await this.d.agents.getAgent(scope.agentId), scope.agentId);
      if (agent.tenant !== undefined) {
        if (confined.tenant !== undefined && confined.tenant !== agent.tenant) {
          throw new ServiceError('invalid', `agent ${agent.id} belongs to tenant ${agent.tenant}, not ${confined.tenant}`);
        }
        confined.tenant = agent.tenant;
      }
    }
    return confined;
  }
}

/**
 * Whether a person sees a grant: operators of every tenant see all; others see their tenant's
 * grants and those for every tenant (which override denials of their agents too).
 */
function visibleGrant(human: Human, grant: BreakGlassGrant): boolean {
  return grant.scope.tenant === undefined || seesTenant(human, grant.scope.tenant);
}
