import type { AgentRecord, CredentialRecord, Relationship } from './records.js';
import type { Store } from './store.js';

/** Store methods that change what the cached reads return. */
const INVALIDATING = new Set<keyof Store>([
  'upsertAgent',
  'setAgentStatus',
  'putCredential',
  'revokeCredentials',
  'addRelationship',
  'removeRelationship',
  'close',
]);

interface Entry<T> {
  value: T;
  until: number;
}

/** How the owner of a read cache hears of writes and drops what is cached (replicas: replica-bus). */
export interface ReadCacheControl {
  /** Forgets every cached read (another process changed an agent or a credential). */
  drop(): void;
  /** Called after each write through this store that changes what the cache holds. */
  onWrite(listener: () => void): void;
}

export type ReadCachedStore = Store & { readonly readCache: ReadCacheControl };

/**
 * The reads every call makes (its agent, its API key, its relationships), kept for `ttlMs` (0:
 * not kept). Writes through this store clear the cache at once, so a suspension or a revoked key
 * made by this process applies to the next call; one made by another process within `ttlMs`,
 * unless that process says so (`readCache.drop()`: replicas tell each other over Redis).
 */
export function withReadCache(store: Store, ttlMs = 1_000, clock: () => number = Date.now): ReadCachedStore {
  const agents = new Map<string, Entry<AgentRecord | undefined>>();
  const credentials = new Map<string, Entry<CredentialRecord | undefined>>();
  const relationships = new Map<string, Entry<Relationship[]>>();
  const maxEntries = 50_000;
  const cached = async <T>(map: Map<string, Entry<T>>, key: string, load: () => Promise<T>): Promise<T> => {
    if (ttlMs <= 0) return load();
    const now = clock();
    const hit = map.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = await load();
    if (map.size >= maxEntries) map.clear();
    map.set(key, { value, until: now + ttlMs });
    return value;
  };
  const clear = () => {
    agents.clear();
    credentials.clear();
    relationships.clear();
  };
  const writeListeners: Array<() => void> = [];
  const control: ReadCacheControl = { drop: clear, onWrite: (listener) => void writeListeners.push(listener) };
  // The functions handed out, made once: a call reads several store methods, and a fresh closure
  // or bound function per read was garbage on every call. Kept with the method they wrap, so a
  // method replaced on the store (a test's spy) is wrapped anew.
  const getAgent = (id: string) => cached(agents, id, () => store.getAgent(id));
  const getCredential = (keyId: string) => cached(credentials, keyId, () => store.getCredential(keyId));
  const relationshipsOf = (subjects: readonly string[]) => cached(relationships, subjects.join('\u0000'), () => store.relationshipsOf(subjects));
  const wrapped = new Map<PropertyKey, { method: unknown; fn: unknown }>();
  const wrap = (property: PropertyKey, method: (...a: unknown[]) => unknown): unknown => {
    if (!INVALIDATING.has(property as keyof Store)) return method.bind(store);
    return async (...args: unknown[]) => {
      clear();
      try {
        return await (method as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      } finally {
        clear();
        if (property !== 'close') for (const listener of writeListeners) listener();
      }
    };
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'readCache') return control;
      if (property === 'getAgent') return getAgent;
      if (property === 'getCredential') return getCredential;
      if (property === 'relationshipsOf') return relationshipsOf;
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const known = wrapped.get(property);
      if (known?.method === value) return known.fn;
      const fn = wrap(property, value as (...a: unknown[]) => unknown);
      wrapped.set(property, { method: value, fn });
      return fn;
    },
  }) as ReadCachedStore;
}
