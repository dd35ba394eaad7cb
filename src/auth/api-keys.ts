import type { AgentStore } from '../store/ports.js';
import { generateApiKey, parseApiKey, safeEqual, sha256 } from './credentials.js';
import { AuthenticationError } from './errors.js';

/**
 * The key id and hash of API keys presented before, by key: parsing and hashing a key is most of
 * what checking it costs, and an agent sends the same key with every call. Only what follows from
 * the key itself is kept, never whether it is valid: the stored credential is read on every call
 * (revoked and rotated keys are refused as soon as the store says so), and a key that does not
 * parse is not kept at all.
 */
const presented = new Map<string, { keyId: string; hash: string }>();
/** Keys remembered at most; past it the memo starts again (as the store's read cache does). */
const MAX_PRESENTED = 10_000;

/** The agent an API key belongs to; throws when the key is malformed, unknown or revoked. */
export async function agentOfApiKey(agents: Pick<AgentStore, 'getCredential'>, key: string): Promise<string> {
  let known = presented.get(key);
  if (!known) {
    const parsed = parseApiKey(key);
    if (!parsed) throw new AuthenticationError('the API key is malformed');
    known = { keyId: parsed.keyId, hash: sha256(key) };
    if (presented.size >= MAX_PRESENTED) presented.clear();
    presented.set(key, known);
  }
  const stored = await agents.getCredential(known.keyId);
  if (!stored || stored.kind !== 'api_key' || stored.revokedAt !== undefined || !stored.hash || !safeEqual(stored.hash, known.hash)) {
    throw new AuthenticationError('the API key is not valid');
  }
  return stored.agentId;
}

/** Issues a new API key for an agent; only its hash is stored, the key itself is returned once. */
export async function issueApiKey(agents: Pick<AgentStore, 'putCredential'>, agentId: string, now: number): Promise<string> {
  const key = generateApiKey();
  await agents.putCredential({ agentId, keyId: key.keyId, kind: 'api_key', hash: key.hash, createdAt: now });
  return key.key;
}
