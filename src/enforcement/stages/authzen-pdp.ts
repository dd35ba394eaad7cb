import type { Decision } from '../../model/decision.js';
import type { AuthzenRequest } from '../authzen/coaz-anchors.js';
import { PdpCommunicationError } from '../authzen/coaz-errors.js';
import { authzenToEffect } from '../../model/authzen.js';
import type { AuthzenPdpClient, PdpDecision } from '../authzen/pdp-client.js';
import { EnforcementError } from '../errors.js';
import type { Exchange } from '../exchange.js';

/** An external AuthZEN PDP (`pdp.authzen`) and how its decision meets Warden's own. */
export interface ExternalPdpDeps {
  client: Pick<AuthzenPdpClient, 'evaluate'>;
  /**
   * `combined`: Warden's policies and the PDP both decide, deny overrides (a Warden deny is final
   * without asking; a PDP deny overrides a Warden allow or approval). `alone`: the PDP decides and
   * Warden's policies are not consulted (the pipeline's other stages still run).
   */
  mode: 'alone' | 'combined';
}

/** The label decisions from the external PDP carry (`policy` in the record). */
export const EXTERNAL_PDP = 'authzen-pdp';

/**
 * Asks the external PDP for the AuthZEN request the mapping stage built and combines its answer
 * with Warden's decision. Permit means every requested decision is `true`. A PDP that cannot be
 * asked or answers nonsense ends the exchange from the `pdp` stage (503, fail closed).
 */
export async function decideWithExternalPdp(x: Exchange, own: Decision, request: AuthzenRequest | undefined, deps: ExternalPdpDeps): Promise<Decision> {
  if (deps.mode === 'combined' && own.effect === 'deny') {
    x.details.authzenPdp = 'not asked: Warden denied (deny overrides)';
    return own;
  }
  if (!request) {
    // An action with no COAZ mapping cannot be put to an AuthZEN PDP: never allowed without it.
    throw new EnforcementError('pdp', `the action "${x.call.action ?? 'tool.call'}" has no AuthZEN mapping, so the configured PDP cannot decide it; denied (fail closed)`, { httpStatus: 403 });
  }
  let answers: PdpDecision[];
  try {
    answers = await deps.client.evaluate(request, x.requestId);
  } catch (error) {
    if (!(error instanceof PdpCommunicationError)) throw error;
    x.details.authzenPdp = `error: ${error.message}`;
    throw new EnforcementError('pdp', `the AuthZEN PDP could not decide: ${error.message}; denied (fail closed)`, { httpStatus: 503, status: 'error' });
  }
  const denied = answers.findIndex((a) => !a.decision);
  const base: Decision = { ...own, approval: undefined, obligations: [], matched: [], policy: EXTERNAL_PDP, rule: undefined, policyVersion: undefined, breakGlass: undefined };
  if (denied >= 0) {
    const which = answers.length > 1 ? ` (evaluation ${denied + 1} of ${answers.length})` : '';
    const said = authzenToEffect(answers[denied]).reason;
    const why = said === 'denied by the AuthZEN PDP' ? '' : `: ${said}`;
    x.details.authzenPdp = 'deny';
    const advice = deps.mode === 'combined' ? [...own.advice, `Warden's policies said ${own.effect}; the PDP's deny overrides it`] : own.advice;
    return { ...base, effect: 'deny', reason: `the AuthZEN PDP denied${which}${why}`, advice };
  }
  x.details.authzenPdp = 'permit';
  if (deps.mode === 'combined') return own;
  return { ...base, effect: 'allow', reason: 'permitted by the AuthZEN PDP' };
}
