/**
 * Growth checks instead of wall-clock limits.
 *
 * "This takes less than 2 s" fails on a busy machine and proves little on a fast one. What such a
 * test guards against is catastrophic backtracking or quadratic work, and that shows in how the
 * time grows with the input: `expectNotSuperLinear` times the operation at size n and 2n and
 * requires time(2n) <= 3 * time(n) (linear work gives about 2, quadratic about 4).
 *
 * Keeping noise out of the ratio:
 * - time is the process's CPU time (process.cpuUsage), not the wall clock, so the time other
 *   processes had the CPU is not counted;
 * - each sample runs the operation k times, k chosen so that a sample at n takes at least `minMs`
 *   (timer resolution and jitter are then small next to it), so n can be chosen for what the test
 *   is about rather than to make one run slow enough to time;
 * - both sizes are warmed up (JIT, lazily flattened strings), then run alternately, run by run, so
 *   that a slow stretch of the machine (a busy sibling core, a cold cache) hits both sums alike;
 *   the fastest of `reps` samples of each size counts (the one least disturbed by GC and others);
 * - a failing measurement is taken again, up to 3 times in all: noise on a busy machine can push
 *   one ratio past 3, rarely three in a row, while super-linear work fails every time.
 *
 * Pick n below the sizes where the operation's live data outgrows V8's young generation: there,
 * promotion and mark-compact make even linear work 3-4 times slower for twice the input.
 */
import { expect } from 'vitest';

export interface GrowthOptions {
  /** The smaller size; the operation is also timed at 2n. */
  n: number;
  /** The shortest acceptable sample at n, in milliseconds. Default 5. */
  minMs?: number;
  /** Samples of each size. Default 5. */
  reps?: number;
}

export interface Growth {
  n: number;
  /** Runs of the operation per sample. */
  k: number;
  /** The fastest sample at n, and at 2n, in milliseconds (k runs each). */
  timeN: number;
  time2N: number;
  ratio: number;
}

/** The CPU time (user + system, in ms) of k runs: unlike the wall clock, it does not count the time other processes had the CPU. */
function sample(op: () => unknown, k: number): number {
  const started = process.cpuUsage();
  for (let i = 0; i < k; i++) op();
  const { user, system } = process.cpuUsage(started);
  return (user + system) / 1000;
}

/**
 * Times an operation at size n and 2n. `prepare(size)` builds the input (not timed) and returns
 * the operation to time, which is run many times, so it must not consume or change its input.
 */
export function measureGrowth(prepare: (size: number) => () => unknown, options: GrowthOptions): Growth {
  const { n, minMs = 5, reps = 5 } = options;
  const small = prepare(n);
  const large = prepare(2 * n);
  sample(small, 1);
  let k = 1;
  // The fastest of 3, as in the measurement: one sample slowed down by the machine would give too small a k.
  while (Math.min(sample(small, k), sample(small, k), sample(small, k)) < minMs) k *= 2;
  sample(large, k);
  let timeN = Infinity;
  let time2N = Infinity;
  for (let i = 0; i < reps; i++) {
    // Run by run, alternating: both sums cover the same stretch of time, whatever the machine did then.
    let sumN = 0;
    let sum2N = 0;
    for (let j = 0; j < k; j++) {
      sumN += sample(small, 1);
      sum2N += sample(large, 1);
    }
    timeN = Math.min(timeN, sumN);
    time2N = Math.min(time2N, sum2N);
  }
  return { n, k, timeN, time2N, ratio: time2N / timeN };
}

/** Fails unless doubling the input at most triples the time, in one of 3 measurements (see the top of this file). */
export function expectNotSuperLinear(prepare: (size: number) => () => unknown, options: GrowthOptions): Growth {
  let growth = measureGrowth(prepare, options);
  for (let attempt = 2; attempt <= 3 && growth.ratio > 3; attempt++) growth = measureGrowth(prepare, options);
  const { n, k, timeN, time2N, ratio } = growth;
  const runs = k === 1 ? '' : ` (${k} runs)`;
  expect(
    ratio,
    `${time2N.toFixed(1)} ms of CPU at size ${2 * n} against ${timeN.toFixed(1)} ms at size ${n}${runs}: ${ratio.toFixed(2)} times as long for twice the input`,
  ).toBeLessThanOrEqual(3);
  return growth;
}
