import { randomUUID } from 'node:crypto';
import { parseActionRequest } from '../../../model/action-request.js';
import { decide } from '../../../policy/decide.js';
import { formatDiagnostic } from '../../../lib/diagnostic.js';
import { loadPolicyFolder } from '../../../policy/load.js';
import { formatDecision } from '../format-decision.js';
import { parseJson, readInput } from '../read-input.js';
import { EXIT } from '../usage-error.js';
import { guardPolicyOptions } from '../../../guards/default-policies.js';

export interface EvalOptions {
  policies: string;
  request: string;
  explain?: boolean;
  json?: boolean;
  now?: string;
  /** False with --no-default-guards. */
  defaultGuards?: boolean;
}

/** `warden eval`: one decision for one request. Exit 0 whatever the effect; 1 when it cannot decide. */
export async function evalCommand(options: EvalOptions): Promise<number> {
  const now = options.now ? new Date(options.now) : new Date();
  if (Number.isNaN(now.getTime())) {
    console.error(`error: --now "${options.now}" is not an ISO 8601 date-time`);
    return EXIT.problems;
  }
  let input: unknown;
  try {
    input = parseJson(await readInput(options.request), options.request === '-' ? 'the request on standard input' : options.request);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return EXIT.problems;
  }
  const request = parseActionRequest(input);
  if (!request.ok) {
    console.error('error: invalid request:');
    for (const e of request.errors) console.error(`  ${e}`);
    return EXIT.problems;
  }
  const { policySet, diagnostics } = await loadPolicyFolder(options.policies, guardPolicyOptions(options.defaultGuards !== false));
  if (!policySet) {
    console.error(`error: the policies in ${options.policies} do not load:`);
    for (const d of diagnostics) console.error(formatDiagnostic(d));
    return EXIT.problems;
  }
  const decision = decide(policySet, { ...request.value, requestId: request.value.requestId ?? randomUUID() }, { now, explain: options.explain });
  console.log(options.json ? JSON.stringify(decision, null, 2) : formatDecision(decision));
  return EXIT.ok;
}
