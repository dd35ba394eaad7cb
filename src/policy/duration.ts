const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90s`, `15m`, `1h`, `2d` (and combinations like `1h30m`) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!match || text.trim() === '') return undefined;
  const [, d, h, m, s] = match;
  return (
    Number(d ?? 0) * UNITS.d! + Number(h ?? 0) * UNITS.h! + Number(m ?? 0) * UNITS.m! + Number(s ?? 0) * UNITS.s!
  );
}
