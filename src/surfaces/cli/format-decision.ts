import type { Decision } from '../../model/decision.js';
import type { Obligation } from '../../model/obligation.js';

export function formatObligation(o: Obligation): string {
  switch (o.type) {
    case 'redact':
      return `redact ${o.paths.join(', ')}`;
    case 'cap':
      return `cap ${o.arg} at ${o.max}`;
    case 'require_idempotency_key':
      return `require idempotency key in ${o.arg}`;
    case 'filter_tenant':
      return `keep only rows of ${o.path} whose ${o.field} is the request's tenant`;
  }
}

const MARK = { matched: '✔', not_matched: '·', error: '!', inactive: '-' } as const;

/** The decision as a person reads it in a terminal. */
export function formatDecision(decision: Decision): string {
  const lines = [`effect:      ${decision.effect}`, `reason:      ${decision.reason}`];
  if (decision.rule) lines.push(`rule:        ${decision.policy}/${decision.rule} (policy version ${decision.policyVersion})`);
  if (decision.matched.length > 1) lines.push(`also matched: ${decision.matched.slice(1).join(', ')}`);
  if (decision.obligations.length) lines.push(`obligations: ${decision.obligations.map(formatObligation).join('; ')}`);
  if (decision.approval) {
    const a = decision.approval;
    lines.push(
      `approval:    ${a.approvers.join(' or ')}, quorum ${a.quorum}, expires in ${a.expiresIn}` +
        (a.allowRequester ? ', requester may approve' : ''),
    );
  }
  for (const s of decision.shadow) lines.push(`shadow:      ${s.policy} v${s.policyVersion} would ${s.effect}${s.rule ? ` (rule ${s.rule})` : ''}: ${s.reason}`);
  for (const a of decision.advice) lines.push(`advice:      ${a}`);
  lines.push(`bundle:      ${decision.bundle}`);
  if (decision.explanation) {
    lines.push('', `explain:     ${decision.explanation.summary}`);
    for (const c of decision.explanation.candidates) {
      const shadow = c.mode === 'shadow' ? ' [shadow]' : '';
      lines.push(`  ${MARK[c.outcome]} ${c.policy}/${c.rule} (${c.effect})${shadow}: ${c.detail}`);
    }
  }
  return lines.join('\n');
}
