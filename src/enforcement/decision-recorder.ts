import { timeOrderedId } from '../lib/time-ordered-id.js';
import { AuditUnavailableError, type DecisionLog, type DeferredEntry } from '../audit/decision-log.js';
import type { Redactor } from '../audit/redact.js';
import type { Decision } from '../model/decision.js';
import type { JsonObject } from '../model/json.js';
import type { DecisionRecord, NewDecisionRecord } from '../store/records.js';
import { auditRecord } from './audit-record.js';
import type { EnforcementError } from './errors.js';
import type { Exchange, ToolCall } from './exchange.js';

/** How long a side-effecting call waits for its decision record to be durable before giving up. */
const DURABILITY_TIMEOUT_MS = 5_000;

/**
 * Writes decision records for the pipeline and the services: redacted, chained by the decision
 * log, durable before a side effect when asked. Every record of every surface is made here.
 */
export class DecisionRecorder {
  constructor(
    readonly log: DecisionLog,
    readonly redactor: Redactor,
    /** `audit.durable_reads`: every record is durable before the answer, not only side effects. */
    private readonly durableReads: boolean,
    /** The bundle in force, named by decisions Warden makes itself (endings, operator actions). */
    private readonly bundle: () => string,
    private readonly clock: () => number,
  ) {}

  /** A fresh exchange for a record that is not a tool call (an operator action, a listing, a vote). */
  exchange(call: ToolCall, requestId?: string, now = this.clock()): Exchange {
    // Warden's own records (operator actions, listings, votes): their tenant comes from a service.
    return { started: process.hrtime.bigint(), now, call, requestId: requestId ?? call.requestId ?? timeOrderedId('req_', now), dryRun: false, ...(call.tenant !== undefined ? { tenant: call.tenant } : {}), details: {} };
  }

  /** The deny decision for an exchange that ended at a stage, before or instead of the PDP. */
  synthetic(x: Exchange, ending: Pick<EnforcementError, 'message' | 'stage'>): Decision {
    return {
      requestId: x.requestId,
      effect: 'deny',
      reason: this.redactor.redactText(ending.message),
      bundle: this.bundle(),
      obligations: [],
      advice: [],
      matched: [],
      shadow: [],
      stage: ending.stage,
    };
  }

  /** Appends; waits for durability when asked to, or when the config wants every record durable. */
  async append(entry: NewDecisionRecord | DeferredEntry, durable: boolean): Promise<{ readonly id: string }> {
    if (durable || this.durableReads) return this.appendDurably(entry);
    return this.log.append(entry);
  }

  async appendDurably(entry: NewDecisionRecord | DeferredEntry): Promise<DecisionRecord> {
    const { durable } = this.log.append(entry, true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AuditUnavailableError(`the decision record was not durable within ${DURABILITY_TIMEOUT_MS} ms`)), DURABILITY_TIMEOUT_MS);
    });
    try {
      return await Promise.race([durable, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** For endings: a log that refuses the record must not turn a deny into a crash. */
  tryAppend(entry: NewDecisionRecord): string | undefined {
    try {
      return this.log.append(entry).id;
    } catch {
      return undefined;
    }
  }

  /** Records an operator's action (break-glass grants, suspensions, policy changes): durable before it returns. */
  async admin(action: string, by: string, reason: string, details: JsonObject, tenant = ''): Promise<string> {
    const x = this.exchange({ agentId: 'operator', tool: action, args: {}, tenant, user: { id: by }, action });
    x.args = {};
    Object.assign(x.details, details);
    const decision: Decision = { ...this.synthetic(x, { message: reason, stage: 'admin' }), effect: 'allow' };
    const record = await this.appendDurably({ ...auditRecord(x, decision, 'allowed', this.redactor), resourceType: 'warden' });
    return record.id;
  }

  /**
   * Records a list decision (which tools, prompts or resources an agent was shown). Not awaited:
   * a listing changes nothing, so it waits for the next group commit like a read.
   */
  listing(listing: { agentId: string; tenant: string; sessionId?: string; userId?: string; action: string; shown: number; hidden: string[] }): string | undefined {
    const x = this.exchange({ agentId: listing.agentId, tool: '*', args: {}, tenant: listing.tenant, sessionId: listing.sessionId, user: listing.userId ? { id: listing.userId } : undefined, action: listing.action });
    x.args = {};
    x.details.shown = listing.shown;
    x.details.hidden = listing.hidden.slice(0, 200);
    const reason = `listed ${listing.shown}; hid ${listing.hidden.length} that policy could not allow this agent`;
    const decision: Decision = { ...this.synthetic(x, { message: reason, stage: 'list' }), effect: 'allow' };
    return this.tryAppend(auditRecord(x, decision, 'allowed', this.redactor));
  }
}
