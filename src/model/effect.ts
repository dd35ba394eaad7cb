export const EFFECTS = ['allow', 'deny', 'require_approval'] as const;
export type Effect = (typeof EFFECTS)[number];
