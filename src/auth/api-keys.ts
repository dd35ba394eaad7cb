import type { AgentStore } from '../store/ports.js';
import { generateApiKey, parseApiKey, safeEqual, sha256 } from './credentials.js';
import { AuthenticationError } from './errors.js';

/** The agent an API key belongs to; throws when the key is malformed, unknown or revoked. */
export async function agentOfApiKey(agents: Pick<AgentStore, 'getCredential'>, key: string): Promise<string> {
  const parsed = parseApiKey(key);
  if (!parsed) throw new AuthenticationError('the API key is malformed');
  const stored = await agents.getCredential(parsed.keyId);
  if (!stored || stored.kind !== 'api_key' || stored.revokedAt !== undefined || !stored.hash || !safeEqual(stored.hash, sha256(key))) {
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
