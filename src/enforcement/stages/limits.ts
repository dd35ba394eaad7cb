import type { RateLimitConfig, WardenConfig } from '../../config/index.js';
import { SharedLimiter, SlidingWindowLimiter, TokenBucketLimiter, type LimitVerdict, type Limiter } from '../../guards/rate-limit.js';
import { durationMs } from '../../lib/duration.js';
import { globMatches } from '../../policy/glob.js';
import type { RateLimitStore } from '../../store/ports.js';
import type { SessionRecord } from '../../store/records.js';
import { EnforcementError } from '../errors.js';
import type { Exchange } from '../exchange.js';

export interface ConfiguredLimit {
  config: RateLimitConfig;
  limiter: Limiter;
  label: string;
}

export type SessionBudget = WardenConfig['limits']['session'];

/** The configured rate limits, in this process's memory or, given `shared` counters, shared by every replica. */
export function configureLimits(config: WardenConfig, shared?: RateLimitStore): ConfiguredLimit[] {
  return config.limits.rate.map((limit) => {
    const windowMs = durationMs(limit.window);
    const algorithm = limit.algorithm === 'token_bucket' ? 'token_bucket' : 'sliding_window';
    const limiter = shared
      ? new SharedLimiter(shared, algorithm, limit.limit, windowMs)
      : algorithm === 'token_bucket'
        ? new TokenBucketLimiter(limit.limit, windowMs)
        : new SlidingWindowLimiter(limit.limit, windowMs);
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

/**
 * Stage 5a: rate limits (per agent, agent+tool, tenant). A denial says which limit was hit and
 * when to retry. A dry run asks each limiter without taking from it.
 */
export async function checkRateLimits(x: Exchange, limits: readonly ConfiguredLimit[], tenant: string): Promise<void> {
  for (const limit of limits) {
    const key = limitKey(limit.config, x, tenant);
    if (key === undefined) continue;
    let verdict: LimitVerdict;
    try {
      verdict = await (x.dryRun ? limit.limiter.peek(key, x.now) : limit.limiter.take(key, x.now));
    } catch (error) {
      // Shared counters that cannot be read never mean "unlimited".
      throw new EnforcementError('limits', `rate limits are unavailable (${(error as Error).message}); denied until they answer again`, {
        httpStatus: 503,
        details: { limit: limit.label },
        retryAfterMs: 1_000,
      });
    }
    if (!verdict.ok) {
      throw new EnforcementError('limits', `rate limit exceeded: ${limit.label}; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s`, {
        httpStatus: 429,
        details: { limit: limit.label },
        retryAfterMs: verdict.retryAfterMs,
      });
    }
  }
}

/**
 * Stage 5b: the session's budgets. Every call that passes counts against the call budget, whatever
 * the policy says next; its spend is reserved, and given back if it is not executed. Returns the
 * session with the call counted.
 */
export function chargeSessionBudget(x: Exchange, session: SessionRecord, budget: SessionBudget, tenant: string): SessionRecord {
  if (session.tenant !== tenant) {
    throw new EnforcementError('tenant', `cross-tenant access: session ${session.id} belongs to tenant ${session.tenant}, not ${tenant}`, { httpStatus: 403 });
  }
  if (budget.max_calls !== undefined && session.callsUsed >= budget.max_calls) {
    throw new EnforcementError('limits', `session budget exhausted: ${session.callsUsed} of ${budget.max_calls} tool calls used in session ${session.id}`, {
      httpStatus: 429,
      details: { limit: 'session.max_calls' },
    });
  }
  const spend = spendOf(x);
  if (budget.max_spend !== undefined && spend > 0 && session.spend + spend > budget.max_spend) {
    throw new EnforcementError('limits', `session spend budget exceeded: ${session.spend} spent + ${spend} requested > ${budget.max_spend} in session ${session.id}`, {
      httpStatus: 429,
      details: { limit: 'session.max_spend' },
    });
  }
  if (spend > 0) x.reservedSpend = spend;
  return { ...session, callsUsed: session.callsUsed + 1, spend: session.spend + spend, updatedAt: x.now };
}

/** The money this call would spend, from the tool's `spend_arg`. */
export function spendOf(x: Exchange): number {
  const arg = x.tool?.spendArg;
  const value = arg ? x.args?.[arg] : undefined;
  return typeof value === 'number' && value > 0 ? value : 0;
}
