/** Trust levels, lowest first; comparisons use the position in this list. */
export const TRUST_LEVELS = ['low', 'medium', 'high', 'admin'] as const;
export type TrustLevel = (typeof TRUST_LEVELS)[number];

export function trustRank(level: string): number {
  return TRUST_LEVELS.indexOf(level as TrustLevel);
}

export function isTrustLevel(level: string): level is TrustLevel {
  return trustRank(level) >= 0;
}
