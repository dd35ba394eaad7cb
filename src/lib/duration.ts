const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
const FORM = /^(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;

/** Parses `500ms`, `90s`, `15m`, `1h`, `2d` and combinations like `1h30m` into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || !FORM.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)(ms|d|h|m|s)/g)) total += Number(amount) * UNIT_MS[unit!]!;
  // A run of digits too long to be exact is not a duration anyone meant (and Infinity is no timer).
  return Number.isSafeInteger(total) ? total : undefined;
}

const parsed = new Map<string, number>();

/** For durations a schema has already validated. Remembered: the same few config values are asked for on every call. */
export function durationMs(text: string): number {
  let ms = parsed.get(text);
  if (ms !== undefined) return ms;
  ms = parseDuration(text);
  if (ms === undefined) throw new Error(`"${text}" is not a duration`);
  if (parsed.size < 1_000) parsed.set(text, ms);
  return ms;
}

/**
 * A point in time written as an ISO 8601 date(-time) or as a duration back from `now` (`24h`);
 * undefined when it is neither. Only full dates count: Date.parse accepts odd forms such as "1".
 */
export function parseInstant(text: string, now: number): number | undefined {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
