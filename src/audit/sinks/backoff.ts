/**
 * The wait before attempt `attempt + 1` after `attempt` failures (1, 2, …): doubling from
 * `initialMs`, capped at `maxMs`, then jittered down by up to half so that many sinks (or
 * replicas) failing together do not retry in step.
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const capped = Math.min(maxMs, initialMs * 2 ** exponent);
  return Math.round(capped / 2 + (random() * capped) / 2);
}
