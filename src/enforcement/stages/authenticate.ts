import { durationMs } from '../../lib/duration.js';
import { parseApiKey, parseTimestamp, safeEqual, sha256, signEnvelope } from '../../auth/credentials.js';
import { Ending, type Credentials, type Exchange } from '../exchange.js';
import type { Runtime } from '../runtime.js';
import type { Store } from '../../store/store.js';

const deny = (reason: string, status: 401 | 409 = 401) => new Ending('authenticate', reason, status);

/** The agent an API key belongs to; throws a 401 ending when the key is malformed, unknown or revoked. */
export async function agentOfApiKey(store: Store, key: string): Promise<string> {
  const parsed = parseApiKey(key);
  if (!parsed) throw deny('the API key is malformed');
  const stored = await store.getCredential(parsed.keyId);
  if (!stored || stored.kind !== 'api_key' || stored.revokedAt !== undefined || !stored.hash || !safeEqual(stored.hash, sha256(key))) {
    throw deny('the API key is not valid');
  }
  return stored.agentId;
}

/**
 * Stage 1: who is asking. An API key must belong to the agent named in the call; a signed
 * envelope must carry a valid HMAC made within the clock-skew window. Either way a request id is
 * accepted once per agent within the replay window.
 */
export async function authenticate(x: Exchange, credentials: Credentials, rt: Runtime): Promise<void> {
  switch (credentials.kind) {
    case 'trusted':
      return;
    case 'none':
      throw deny('no credentials: send an API key or a signed envelope');
    case 'api_key': {
      const owner = await agentOfApiKey(rt.store, credentials.key);
      if (owner !== x.call.agentId) throw deny(`the API key does not belong to agent "${x.call.agentId}"`);
      break;
    }
    case 'jwt': {
      if (!rt.agentJwt) throw deny('agent tokens (JWT) are not accepted here: authentication.agent_jwt is not configured');
      const owner = await rt.agentJwt.agentOf(credentials.token).catch((e: Error) => {
        throw deny(e.message);
      });
      if (owner !== x.call.agentId) throw deny(`the agent token is for "${owner}", not "${x.call.agentId}"`);
      break;
    }
    case 'hmac': {
      const stored = await rt.store.getCredential(credentials.keyId);
      if (!stored || stored.kind !== 'hmac' || stored.revokedAt !== undefined || !stored.secretRef) throw deny('unknown signing key');
      if (stored.agentId !== x.call.agentId) throw deny(`the signing key does not belong to agent "${x.call.agentId}"`);
      const signedAt = parseTimestamp(credentials.timestamp);
      const skew = durationMs(rt.config.authentication.clock_skew);
      if (signedAt === undefined) throw deny('the signature timestamp is not ISO 8601 or epoch seconds');
      if (Math.abs(x.now - signedAt) > skew) {
        throw deny(`the signature timestamp is outside the ${rt.config.authentication.clock_skew} clock-skew window`);
      }
      if (!x.call.requestId) throw deny('a signed envelope needs a request id');
      const name = /^\$\{secret:(.+)\}$/.exec(stored.secretRef)?.[1] ?? '';
      const secret = await rt.secrets.resolve(name);
      const expected = signEnvelope(secret, {
        agentId: x.call.agentId,
        agentVersion: x.call.agentVersion ?? '',
        requestId: x.call.requestId,
        timestamp: credentials.timestamp,
        bodySha256: credentials.bodySha256,
      });
      if (!safeEqual(expected, credentials.signature.toLowerCase())) throw deny('the signature does not match the envelope');
      break;
    }
  }
  if (!x.call.requestId) throw deny('a request id is required');
  const window = durationMs(rt.config.authentication.replay_window);
  if (!(await rt.replay.remember(x.call.agentId, x.call.requestId, x.now, x.now + window))) {
    throw deny(`request id "${x.call.requestId}" was already used: replay refused`, 409);
  }
}
