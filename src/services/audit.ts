import type { ChainMonitor } from '../audit/chain-monitor.js';
import type { CheckpointProblem } from '../audit/checkpoint-check.js';
import type { ChainBreak } from '../audit/hash-chain.js';
import type { DecisionLog } from '../audit/decision-log.js';
import type { Principal } from '../auth/principal.js';
import { parseInstant } from '../lib/duration.js';
import type { Effect } from '../model/effect.js';
import type { DecisionLogStore, SessionStore } from '../store/ports.js';
import { searchWords } from '../store/search-words.js';
import type { DecisionQuery, DecisionRecord, SessionRecord } from '../store/records.js';
import { requireHuman, seesTenant, tenantScope } from './access.js';
import { ServiceError } from './errors.js';

/** A filter on the decision log as callers write it: instants as ISO 8601 or a duration back from now. */
export interface AuditFilter {
  agent?: string;
  tool?: string;
  effect?: Effect;
  tenant?: string;
  session?: string;
  /** The request id the agent gave (every record of one request). */
  request?: string;
  policy?: string;
  rule?: string;
  /** Free text: every word must be in the reason, as a word or a word's beginning. */
  q?: string;
  since?: string;
  until?: string;
  limit?: number;
  /** Where the previous page ended (`next` of an AuditPage): records older than it. */
  cursor?: string;
}

/** A page of the decision log, newest first, and the cursor of the next (older) page, if any. */
export interface AuditPage {
  records: DecisionRecord[];
  next?: string;
}

export interface ChainStatus {
  ok: boolean;
  /** Records verified link by link by this gateway: those after `verifiedFrom`. */
  checked: number;
  /** Records up to this seq are vouched for by `checkpoint` (0: every record was read). */
  verifiedFrom: number;
  /** The first break (as `breaks[0]`). */
  broken?: ChainBreak;
  /** Every break seen, in seq order (at most 1,000; `breakCount` counts them all). */
  breaks: ChainBreak[];
  breakCount: number;
  /** Checkpoints the log contradicts: newest records removed, the chain rewritten, a forged signature. */
  checkpointProblems: Array<Omit<CheckpointProblem, 'time'> & { time: string }>;
  head?: { seq: number; hash: string };
  /** The last verified checkpoint: the newest signed head the log still holds. */
  checkpoint?: { seq: number; hash: string; time: string; keyId: string; anchored: boolean; signatureChecked: boolean };
  /** Whether this gateway signs checkpoints (audit.checkpoints). */
  signing: boolean;
  verifiedAt: string;
}

export interface AuditServiceDeps {
  decisions: DecisionLogStore;
  sessions: Pick<SessionStore, 'getSession'>;
  log: DecisionLog;
  /** Follows the chain from the last verified checkpoint (services/checkpoints.ts). */
  chain: ChainMonitor;
  /** Whether checkpoints are signed. */
  signing: boolean;
  clock: () => number;
}

/**
 * Reading the decision log: people read their tenant's records (operators of every tenant all,
 * or one they name); an agent reads its own, never operator records. Also the live stream of
 * new records, one session's timeline, and the chain's status.
 */
export class AuditService {
  private verifying: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: AuditServiceDeps) {}

  /** Makes every record appended so far readable. */
  flush(): Promise<void> {
    return this.d.log.flush();
  }

  /** Records matching `filter`, newest first. */
  async query(principal: Principal, filter: AuditFilter): Promise<DecisionRecord[]> {
    return (await this.search(principal, filter)).records;
  }

  /**
   * A page of the records matching `filter`, newest first, and the cursor of the next page. The
   * cursor is a seq (keyset paging): records written meanwhile are newer, so pages neither skip
   * nor repeat a record however much is written between them.
   */
  async search(principal: Principal, filter: AuditFilter): Promise<AuditPage> {
    const limit = filter.limit ?? 100;
    let query: DecisionQuery;
    if (principal.kind === 'agent') {
      if (filter.agent !== undefined && filter.agent !== principal.agentId) throw new ServiceError('forbidden', `an agent may only read its own records (connected as "${principal.agentId}")`, { problem: 'not-your-agent' });
      if (filter.tenant !== undefined) throw new ServiceError('forbidden', 'tenant is for people of every tenant; an agent reads its own records');
      // Operator records (resource type "warden") are never an agent's own, whatever its id.
      query = { ...this.toQuery({ ...filter, agent: principal.agentId }, undefined), notResourceType: 'warden' };
    } else {
      const human = requireHuman(principal, 'viewer', 'reading the decision log');
      query = this.toQuery(filter, human.tenant);
    }
    const before = filter.cursor === undefined ? undefined : cursorSeq(filter.cursor);
    await this.flush();
    // One more than asked: whether there is a next page, without an empty last page.
    const found = await this.d.decisions.queryDecisions({ ...query, beforeSeq: before, limit: limit + 1, order: 'desc' });
    const records = found.slice(0, limit);
    return found.length > limit ? { records, next: cursorOf(records[records.length - 1]!.seq) } : { records };
  }

  /** Records matching `filter` as JSON Lines, oldest first, paged by seq so a large log streams. */
  async export(principal: Principal, filter: AuditFilter): Promise<AsyncIterable<string>> {
    const records = await this.exportRecords(principal, filter);
    return (async function* lines() {
      for await (const record of records) yield `${JSON.stringify(record)}\n`;
    })();
  }

  /**
   * Records matching `filter`, oldest first, read a page at a time as the consumer asks for them
   * (a slow reader holds one page, never the selection). The cursor is ignored: an export is the
   * whole selection.
   */
  async exportRecords(principal: Principal, filter: AuditFilter): Promise<AsyncIterable<DecisionRecord>> {
    const human = requireHuman(principal, 'viewer', 'exporting the decision log');
    const query = this.toQuery(filter, human.tenant);
    const limit = filter.limit ?? Number.MAX_SAFE_INTEGER;
    const decisions = this.d.decisions;
    await this.flush();
    return (async function* pages() {
      let after = 0;
      let sent = 0;
      while (sent < limit) {
        const page = await decisions.queryDecisions({ ...query, afterSeq: after, order: 'asc', limit: Math.min(5000, limit - sent) });
        if (page.length === 0) return;
        yield* page;
        sent += page.length;
        after = page[page.length - 1]!.seq;
      }
    })();
  }

  /**
   * One session: its state (when the viewer may see it) and its records, oldest first. Session ids
   * are the tenant's own: an operator of every tenant may name the tenant, else the session is the
   * one of the tenant of its first record.
   */
  async session(principal: Principal, id: string, limit = 1000, tenant?: string): Promise<{ id: string; session?: SessionRecord; records: DecisionRecord[] }> {
    const human = requireHuman(principal, 'viewer', 'reading sessions');
    await this.flush();
    const scope = tenantScope(human) ?? tenant;
    const records = await this.d.decisions.queryDecisions({ sessionId: id, tenant: scope, order: 'asc', limit });
    const sessionTenant = scope ?? records[0]?.tenant;
    const session = sessionTenant === undefined ? undefined : await this.d.sessions.getSession(sessionTenant, id);
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
   * The hash chain's status, at the cost of the records written since the last call: verification
   * starts from the last verified checkpoint (or the first record) and follows the log from there;
   * the newest checkpoints of the database and the anchor are held against it each time.
   * Concurrent callers share one verification. `warden audit verify` re-reads the whole log.
   */
  async verify(principal: Principal): Promise<ChainStatus> {
    requireHuman(principal, 'viewer', 'the chain status');
    const run = this.verifying.catch(() => undefined).then(async () => {
      await this.flush();
      return this.d.chain.status();
    });
    this.verifying = run;
    const r = await run;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      ok: r.ok,
      checked: r.checked,
      verifiedFrom: r.verifiedFrom,
      ...(r.breaks[0] ? { broken: r.breaks[0] } : {}),
      breaks: r.breaks,
      breakCount: r.breakCount,
      checkpointProblems: r.checkpointProblems.map((p) => ({ ...p, time: iso(p.time) })),
      ...(r.head ? { head: r.head } : {}),
      ...(r.checkpoint
        ? { checkpoint: { seq: r.checkpoint.seq, hash: r.checkpoint.hash, time: iso(r.checkpoint.time), keyId: r.checkpoint.keyId, anchored: r.checkpoint.anchored, signatureChecked: r.checkpoint.signatureChecked } }
        : {}),
      signing: this.d.signing,
      verifiedAt: iso(this.d.clock()),
    };
  }

  /** A filter as a store query for a human of `tenant` (undefined: an agent, already narrowed to itself). */
  private toQuery(filter: AuditFilter, tenant: string | undefined): DecisionQuery {
    const now = this.d.clock();
    const since = instant(filter.since, now, 'since', '24h');
    const until = instant(filter.until, now, 'until', '1h');
    if (tenant !== undefined && tenant !== '*' && filter.tenant !== undefined && filter.tenant !== tenant) throw new ServiceError('forbidden', `you may only read tenant ${tenant}`);
    if (filter.q !== undefined && searchWords(filter.q).length === 0) throw new ServiceError('invalid', 'q must contain a word (letters or digits) to look for in the reasons');
    return {
      agentId: filter.agent,
      tool: filter.tool,
      effect: filter.effect,
      tenant: tenant === undefined ? undefined : tenant === '*' ? filter.tenant : tenant,
      sessionId: filter.session,
      requestId: filter.request,
      policy: filter.policy,
      rule: filter.rule,
      text: filter.q,
      since,
      until,
    };
  }
}

const CURSOR_PREFIX = 'before:';

/** A page's cursor: opaque to callers (base64url), the seq the next page starts below. */
function cursorOf(seq: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`).toString('base64url');
}

function cursorSeq(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const seq = text.startsWith(CURSOR_PREFIX) ? Number(text.slice(CURSOR_PREFIX.length)) : NaN;
  if (!Number.isSafeInteger(seq) || seq < 1) throw new ServiceError('invalid', 'cursor is not one this server gave (take `next` from the previous page)');
  return seq;
}

function instant(text: string | undefined, now: number, name: string, example: string): number | undefined {
  if (text === undefined) return undefined;
  const at = parseInstant(text, now);
  if (at === undefined) throw new ServiceError('invalid', `${name} must be an ISO 8601 date-time or a duration such as ${example}`);
  return at;
}
