import { ChainVerifier, type ChainBreak } from '../audit/hash-chain.js';
import type { DecisionLog } from '../audit/decision-log.js';
import type { Principal } from '../auth/principal.js';
import { parseInstant } from '../lib/duration.js';
import type { Effect } from '../model/effect.js';
import type { DecisionLogStore, SessionStore } from '../store/ports.js';
import type { DecisionQuery, DecisionRecord, SessionRecord } from '../store/records.js';
import { requireHuman, seesTenant, tenantScope } from './access.js';
import { ServiceError } from './errors.js';

/** The whole chain is re-verified at most this often (it reads the whole log); new records every time. */
const FULL_VERIFICATION_MS = 30_000;

/** A filter on the decision log as callers write it: instants as ISO 8601 or a duration back from now. */
export interface AuditFilter {
  agent?: string;
  tool?: string;
  effect?: Effect;
  tenant?: string;
  session?: string;
  since?: string;
  until?: string;
  limit?: number;
}

export interface ChainStatus {
  ok: boolean;
  checked: number;
  broken?: ChainBreak;
  head?: { seq: number; hash: string };
  fullVerificationAt: string;
}

export interface AuditServiceDeps {
  decisions: DecisionLogStore;
  sessions: Pick<SessionStore, 'getSession'>;
  log: DecisionLog;
  clock: () => number;
}

/**
 * Reading the decision log: people read their tenant's records (operators of every tenant all,
 * or one they name); an agent reads its own, never operator records. Also the live stream of
 * new records, one session's timeline, and the chain's status.
 */
export class AuditService {
  private chain?: { verifier: ChainVerifier; afterSeq: number; head?: { seq: number; hash: string }; fullAt: number; broken?: ChainBreak };
  private verifying: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: AuditServiceDeps) {}

  /** Makes every record appended so far readable. */
  flush(): Promise<void> {
    return this.d.log.flush();
  }

  /** Records matching `filter`, newest first. */
  async query(principal: Principal, filter: AuditFilter): Promise<DecisionRecord[]> {
    const limit = filter.limit ?? 100;
    if (principal.kind === 'agent') {
      if (filter.agent !== undefined && filter.agent !== principal.agentId) throw new ServiceError('forbidden', `an agent may only read its own records (connected as "${principal.agentId}")`, { problem: 'not-your-agent' });
      if (filter.tenant !== undefined) throw new ServiceError('forbidden', 'tenant is for people of every tenant; an agent reads its own records');
      const query = { ...this.toQuery({ ...filter, agent: principal.agentId }, undefined), order: 'desc' as const };
      await this.flush();
      // Operator records (resource type "warden") are never an agent's own, whatever its id.
      return (await this.d.decisions.queryDecisions({ ...query, limit: limit * 2 })).filter((r) => r.resourceType !== 'warden').slice(0, limit);
    }
    const human = requireHuman(principal, 'viewer', 'reading the decision log');
    const query = this.toQuery(filter, human.tenant);
    await this.flush();
    return this.d.decisions.queryDecisions({ ...query, limit, order: 'desc' });
  }

  /** Records matching `filter` as JSON Lines, oldest first, paged by seq so a large log streams. */
  async export(principal: Principal, filter: AuditFilter): Promise<AsyncIterable<string>> {
    const human = requireHuman(principal, 'viewer', 'exporting the decision log');
    const query = this.toQuery(filter, human.tenant);
    const limit = filter.limit ?? Number.MAX_SAFE_INTEGER;
    const decisions = this.d.decisions;
    await this.flush();
    return (async function* lines() {
      let after = 0;
      let sent = 0;
      while (sent < limit) {
        const page = await decisions.queryDecisions({ ...query, afterSeq: after, order: 'asc', limit: Math.min(5000, limit - sent) });
        if (page.length === 0) return;
        for (const record of page) yield `${JSON.stringify(record)}\n`;
        sent += page.length;
        after = page[page.length - 1]!.seq;
      }
    })();
  }

  /** One session: its state (when the viewer may see it) and its records, oldest first. */
  async session(principal: Principal, id: string, limit = 1000): Promise<{ id: string; session?: SessionRecord; records: DecisionRecord[] }> {
    const human = requireHuman(principal, 'viewer', 'reading sessions');
    await this.flush();
    const tenant = tenantScope(human);
    const session = await this.d.sessions.getSession(id);
    const records = await this.d.decisions.queryDecisions({ sessionId: id, tenant, order: 'asc', limit });
    const visible = session && seesTenant(human, session.tenant) ? session : undefined;
    if (!visible && records.length === 0) throw new ServiceError('not_found', `no session "${id}"`);
    return { id, session: visible, records };
  }

  /**
   * Follows the log for a human: `listener` gets new records as they are written (all of them:
   * filter with `visible`, which says which the human may see). Returns how to stop.
   */
  follow(principal: Principal, listener: (records: readonly DecisionRecord[]) => void): { visible: (r: DecisionRecord) => boolean; unsubscribe: () => void } {
    const human = requireHuman(principal, 'viewer', 'the live decision stream');
    return { visible: (r) => seesTenant(human, r.tenant), unsubscribe: this.d.log.onRecords(listener) };
  }

  /** What a follower missed: the records after `afterSeq` that the human may see, oldest first. */
  async backlog(principal: Principal, afterSeq: number | undefined, limit: number): Promise<DecisionRecord[]> {
    const human = requireHuman(principal, 'viewer', 'the live decision stream');
    await this.flush();
    return this.d.decisions.queryDecisions({ afterSeq, tenant: tenantScope(human), order: 'asc', limit });
  }

  /**
   * The hash chain's status. Verified in full at most every 30 s; in between only the records
   * written since are checked, continuing from the last verified one, so the answer is current
   * and cheap. Concurrent callers share one verification.
   */
  async verify(principal: Principal): Promise<ChainStatus> {
    requireHuman(principal, 'viewer', 'the chain status');
    const run = this.verifying.catch(() => undefined).then(() => this.verifyNow());
    this.verifying = run;
    const c = await run;
    return { ok: !c.broken, checked: c.verifier.checked, ...(c.broken ? { broken: c.broken } : {}), ...(c.head ? { head: c.head } : {}), fullVerificationAt: new Date(c.fullAt).toISOString() };
  }

  private async verifyNow(): Promise<NonNullable<AuditService['chain']>> {
    await this.flush();
    const now = Date.now();
    if (!this.chain || now - this.chain.fullAt > FULL_VERIFICATION_MS) this.chain = { verifier: new ChainVerifier(), afterSeq: 0, fullAt: now };
    const c = this.chain;
    while (!c.broken) {
      const page = await this.d.decisions.scanDecisions(c.afterSeq, 5_000);
      if (page.length === 0) break;
      c.broken = c.verifier.check(page);
      const last = page[page.length - 1]!;
      c.afterSeq = last.seq;
      if (!c.broken) c.head = { seq: last.seq, hash: last.hash };
    }
    return c;
  }

  /** A filter as a store query for a human of `tenant` (undefined: an agent, already narrowed to itself). */
  private toQuery(filter: AuditFilter, tenant: string | undefined): DecisionQuery {
    const now = this.d.clock();
    const since = instant(filter.since, now, 'since', '24h');
    const until = instant(filter.until, now, 'until', '1h');
    if (tenant !== undefined && tenant !== '*' && filter.tenant !== undefined && filter.tenant !== tenant) throw new ServiceError('forbidden', `you may only read tenant ${tenant}`);
    return {
      agentId: filter.agent,
      tool: filter.tool,
      effect: filter.effect,
      tenant: tenant === undefined ? undefined : tenant === '*' ? filter.tenant : tenant,
      sessionId: filter.session,
      since,
      until,
    };
  }
}

function instant(text: string | undefined, now: number, name: string, example: string): number | undefined {
  if (text === undefined) return undefined;
  const at = parseInstant(text, now);
  if (at === undefined) throw new ServiceError('invalid', `${name} must be an ISO 8601 date-time or a duration such as ${example}`);
  return at;
}
