/**
 * What Warden answered about one framework tool call, and the text a model reads when the call
 * did not run. Shared by every framework adapter so that all of them say the same thing.
 */

export type GateOutcome =
  | { kind: 'executed'; result: unknown }
  | { kind: 'denied'; reason: string; auditId?: string }
  | { kind: 'held'; reason: string; approvalId?: string; auditId?: string }
  | { kind: 'error'; reason: string; auditId?: string };

/** An outcome in which the tool did not run. */
export type Refusal = Exclude<GateOutcome, { kind: 'executed' }>;

/** The text the model reads: what happened, why, and what it can do next. */
export function refusalText(tool: string, refusal: Refusal): string {
  const audit = refusal.auditId ? ` (audit ${refusal.auditId})` : '';
  switch (refusal.kind) {
    case 'denied':
      return `Warden denied the call to ${tool}: ${refusal.reason}${audit}. The tool did not run; do not retry it unchanged.`;
    case 'held':
      return refusal.approvalId
        ? `Warden is holding the call to ${tool} for human approval (approval id ${refusal.approvalId}): ${refusal.reason}. ` +
            'The tool has not run yet. Call it again with the same arguments after approval: the retry runs it once, or returns its result if it already ran.'
        : `Warden requires human approval for the call to ${tool}: ${refusal.reason}${audit}. ` +
            'This connection to Warden asks for decisions only and cannot hold a call for an approver, so the tool did not run.';
    case 'error':
      return `The call to ${tool} failed: ${refusal.reason}${audit}.`;
  }
}

/** Thrown (or carried) by an adapter when Warden did not let a call run; `message` is for the model. */
export class WardenToolRefusal extends Error {
  override readonly name = 'WardenToolRefusal';
  constructor(
    readonly tool: string,
    readonly refusal: Refusal,
  ) {
    super(refusalText(tool, refusal));
  }
}
