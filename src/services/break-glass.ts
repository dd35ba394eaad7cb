import { randomUUID } from 'node:crypto';
import type { DecisionRecorder } from '../enforcement/decision-recorder.js';
import { durationMs } from '../lib/duration.js';
import type { JsonObject } from '../model/json.js';
import type { GrantStore } from '../store/ports.js';
import type { BreakGlassGrant } from '../store/records.js';
import { ServiceError } from './errors.js';

export interface BreakGlassDeps {
  grants: GrantStore;
  recorder: DecisionRecorder;
  /** `break_glass.max_duration`, as written. */
  maxDuration: string;
  clock: () => number;
}

/** Break-glass grants: time-boxed overrides of policy denies, each granted and revoked on the record. */
export class BreakGlassService {
  constructor(private readonly d: BreakGlassDeps) {}

  async grant(input: { grantedBy: string; reason: string; scope: BreakGlassGrant['scope']; duration: string }): Promise<BreakGlassGrant> {
    const ms = durationMs(input.duration);
    if (ms > durationMs(this.d.maxDuration)) throw new ServiceError('invalid', `a break-glass grant may last at most ${this.d.maxDuration}`);
    if (!input.reason.trim()) throw new ServiceError('invalid', 'a break-glass grant needs a reason');
    const now = this.d.clock();
    const grant: BreakGlassGrant = { id: `bg_${randomUUID()}`, grantedBy: input.grantedBy, reason: input.reason, scope: input.scope, createdAt: now, expiresAt: now + ms };
    await this.d.grants.createGrant(grant);
    await this.d.recorder.admin('break_glass.grant', input.grantedBy, `break-glass grant ${grant.id} for ${input.duration}: ${input.reason}`, {
      grant: grant.id,
      scope: grant.scope as JsonObject,
      expiresAt: new Date(grant.expiresAt).toISOString(),
    });
    return grant;
  }

  async revoke(id: string, by: string): Promise<BreakGlassGrant | undefined> {
    const grant = await this.d.grants.revokeGrant(id, by, this.d.clock());
    if (grant) await this.d.recorder.admin('break_glass.revoke', by, `break-glass grant ${id} revoked`, { grant: id });
    return grant;
  }
}
