import type { AgentCredentialVerifier, Credentials } from '../../auth/agent-credentials.js';
import { AuthenticationError } from '../../auth/errors.js';
import { EnforcementError } from '../errors.js';
import type { Exchange } from '../exchange.js';
import type { ReplayGuard } from '../replay-guard.js';

export interface AuthenticationDeps {
  verifier: AgentCredentialVerifier;
  replay: ReplayGuard;
  replayWindowMs: number;
}

/**
 * Stage 1: who is asking. The credentials must prove the agent named in the call, and a request
 * id is accepted once per agent within the replay window.
 */
export async function authenticate(x: Exchange, credentials: Credentials, deps: AuthenticationDeps): Promise<void> {
  try {
    await deps.verifier.verify(credentials, x.call, x.now);
  } catch (error) {
    if (error instanceof AuthenticationError) throw new EnforcementError('authenticate', error.message, { httpStatus: 401 });
    throw error;
  }
  // In-process callers vouch for themselves, and a dry run uses nothing up: no replay check.
  if (credentials.kind === 'trusted' || x.dryRun) return;
  if (!x.call.requestId) throw new EnforcementError('authenticate', 'a request id is required', { httpStatus: 401 });
  if (!(await deps.replay.remember(x.call.agentId, x.call.requestId, x.now, x.now + deps.replayWindowMs))) {
    throw new EnforcementError('authenticate', `request id "${x.call.requestId}" was already used: replay refused`, { httpStatus: 409 });
  }
}
