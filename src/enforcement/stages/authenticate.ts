import type { AgentCredentialVerifier, Credentials } from '../../auth/agent-credentials.js';
import { AuthenticationError } from '../../auth/errors.js';
import { unverifiedUser, type ActingUser, type UserTokenVerifier } from '../../auth/users.js';
import { EnforcementError } from '../errors.js';
import type { Exchange } from '../exchange.js';
import type { ReplayGuard } from '../replay-guard.js';

export interface AuthenticationDeps {
  verifier: AgentCredentialVerifier;
  replay: ReplayGuard;
  replayWindowMs: number;
  /** Verifies on-behalf-of user tokens, when `authentication.user_jwt` is configured. */
  users?: UserTokenVerifier;
}

/**
 * Stage 1: who is asking. The credentials must prove the agent named in the call; the user it acts
 * for is who a verified token says (or whom an in-process host application vouches for), else an
 * unverified name without roles; and a request id is accepted once per agent within the replay
 * window.
 */
export async function authenticate(x: Exchange, credentials: Credentials, deps: AuthenticationDeps): Promise<void> {
  try {
    await deps.verifier.verify(credentials, x.call, x.now);
    const user = await actingUser(x, credentials, deps.users);
    if (user) x.user = user;
  } catch (error) {
    if (error instanceof AuthenticationError) throw new EnforcementError('authenticate', error.message, { httpStatus: 401 });
    throw error;
  }
  // In-process callers and surfaces that authenticated the agent themselves have no request ids
  // to replay, and a dry run uses nothing up.
  if (credentials.kind === 'trusted' || credentials.kind === 'session' || x.dryRun) return;
  if (!x.call.requestId) throw new EnforcementError('authenticate', 'a request id is required', { httpStatus: 401 });
  if (!(await deps.replay.remember(x.call.agentId, x.call.requestId, x.now, x.now + deps.replayWindowMs))) {
    throw new EnforcementError('authenticate', `request id "${x.call.requestId}" was already used: replay refused`, { httpStatus: 409 });
  }
}

/**
 * Who the call acts for. Only a verified token, or an in-process host application, may say who a
 * user is and what roles they hold: an agent can name a user, never vouch for one.
 */
async function actingUser(x: Exchange, credentials: Credentials, users: UserTokenVerifier | undefined): Promise<ActingUser | undefined> {
  const { call } = x;
  if (call.userToken !== undefined) {
    if (!users) throw new AuthenticationError('user tokens are not accepted here: authentication.user_jwt is not configured');
    const user = await users.verify(call.userToken, call.agentId);
    if (call.user && call.user.id !== user.id) throw new AuthenticationError(`the user token is for "${user.id}", not "${call.user.id}"`);
    return user;
  }
  if (!call.user) return undefined;
  if (credentials.kind === 'trusted') return { id: call.user.id, roles: [...(call.user.roles ?? [])], verified: true };
  if (call.user.roles?.length) x.details.ignoredUserRoles = call.user.roles;
  return unverifiedUser(call.user.id);
}
