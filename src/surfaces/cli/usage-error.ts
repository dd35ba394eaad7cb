/** A mistake in how a command was called: exit code 2, as for commander's own usage errors. */
export class UsageError extends Error {}

export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;
