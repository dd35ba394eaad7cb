import type { RateLimitConfig, WardenConfig } from '../../config/index.js';
import { SlidingWindowLimiter, TokenBucketLimiter, type Limiter } from '../../guards/rate-limit.js';
import type { SessionRecord } from '../../store/records.js';
import { durationMs } from '../../lib/duration.js';
import { globMatches } from '../../policy/glob.js';
import { Ending, type Exchange } from '../exchange.js';
import type { Runtime } from '../runtime.js';

export interface ConfiguredLimit {
  config: RateLimitConfig;
  limiter: Limiter;
  label: string;
}

export function configureLimits(config: WardenConfig): ConfiguredLimit[] {
  return config.limits.rate.map((limit) => {
    const windowMs = durationMs(limit.window);
    const limiter = limit.algorithm === 'token_bucket' ? new TokenBucketLimiter(limit.limit, windowMs) : new SlidingWindowLimiter(limit.limit, windowMs);
    const scope = limit.scope === 'agent_tool' ? `agent+tool${limit.tool ? ` ${limit.tool}` : ''}` : limit.scope;
    return { config: limit, limiter, label: `${limit.limit} calls per ${limit.window} per ${scope}` };
  });
}

function limitKey(limit: RateLimitConfig, x: Exchange, tenant: string): string | undefined {
  switch (limit.scope) {
    case 'agent':
      return `a|${x.agent!.id}`;
    case 'tenant':
      return `t|${tenant}`;
    case 'agent_tool':
      if (limit.tool && !globMatches(limit.tool, x.call.tool)) return undefined;
      return `at|${x.agent!.id}|${x.call.tool}`;
  }
}

export function emptySession(id: string, tenant: string, now: number): SessionRecord {
  return { id, tenant, callsUsed: 0, spend: 0, tainted: false, recent: [], updatedAt: now };
}

/**
 * Stage 5: rate limits (per agent, agent+tool, tenant) and the session's budgets. A denial says
 * which limit was hit and when to retry.
 */
export async function checkLimits(x: Exchange, rt: Runtime, tenant: string): Promise<SessionRecord | undefined> {
  for (const limit of rt.limits) {
    const key = limitKey(limit.config, x, tenant);
    if (key === undefined) continue;
    const verdict = limit.limiter.take(key, x.now);
    if (!verdict.ok) {
      throw new Ending('limits', `rate limit exceeded: ${limit.label}; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s`, 429, { limit: limit.label }, verdict.retryAfterMs);
    }
  }
  if (!x.call.sessionId) return undefined;
  const sessionId = x.call.sessionId;
  // Check and reserve under the session's lock, so concurrent calls cannot overspend together.
  return rt.sessionLocks.run(sessionId, async () => {
    const session = (await rt.store.getSession(sessionId)) ?? emptySession(sessionId, tenant, x.now);
    if (session.tenant !== tenant) {
      throw new Ending('tenant', `cross-tenant access: session ${session.id} belongs to tenant ${session.tenant}, not ${tenant}`, 403);
    }
    const budget = rt.config.limits.session;
    if (budget.max_calls !== undefined && session.callsUsed >= budget.max_calls) {
      throw new Ending('limits', `session budget exhausted: ${session.callsUsed} of ${budget.max_calls} tool calls used in session ${session.id}`, 429, {
        limit: 'session.max_calls',
      });
    }
    const spend = spendOf(x);
    if (budget.max_spend !== undefined && spend > 0 && session.spend + spend > budget.max_spend) {
      throw new Ending(
        'limits',
        `session spend budget exceeded: ${session.spend} spent + ${spend} requested > ${budget.max_spend} in session ${session.id}`,
        429,
        { limit: 'session.max_spend' },
      );
    }
    // Every call that passes the limits counts against the call budget, whatever the policy says
    // next. Its spend is reserved now and released if it is not executed (releaseSpend).
    await rt.store.putSession({ ...session, callsUsed: session.callsUsed + 1, spend: session.spend + spend, updatedAt: x.now });
    if (spend > 0) x.details.spendReserved = spend;
    return session;
  });
}

/** Gives back the spend reserved by checkLimits when the call was not executed after all. */
export async function releaseSpend(x: Exchange, rt: Runtime): Promise<void> {
  const amount = x.details.spendReserved;
  const sessionId = x.call.sessionId;
  if (typeof amount !== 'number' || !sessionId) return;
  delete x.details.spendReserved;
  await rt.sessionLocks.run(sessionId, async () => {
    const session = await rt.store.getSession(sessionId);
    if (session) await rt.store.putSession({ ...session, spend: Math.max(0, session.spend - amount), updatedAt: rt.clock() });
  });
}

/** The money this call would spend, from the tool's `spend_arg`. */
export function spendOf(x: Exchange): number {
  const arg = x.tool?.spendArg;
  const value = arg ? x.args?.[arg] : undefined;
  return typeof value === 'number' && value > 0 ? value : 0;
}
