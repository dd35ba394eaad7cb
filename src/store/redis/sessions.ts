import type { Redis } from 'ioredis';
import type { SharedSessionStore } from '../ports.js';
import type { SessionRecord } from '../records.js';
import { asked } from './errors.js';
import { defineScript, type RunScript } from './script.js';

/*
 * A session is a hash: `json` (the record without its version) and `version` (bumped by every
 * write). Every write sets the session's expiry afresh: a session nobody wrote to for the idle
 * TTL is gone, and the next call starts it anew.
 */

/** KEYS: the session. ARGV: json, idle ms. Writes whatever is there; returns the new version. */
const PUT = `
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'json', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return version
`;

/**
 * KEYS: the session. ARGV: json, the version it was read at ('' when it did not exist), idle ms.
 * Writes with version = expected + 1 only over that version: 1, else 0.
 */
const PUT_IF = `
local stored = redis.call('HGET', KEYS[1], 'version')
if ARGV[2] == '' then
  if stored then return 0 end
elseif not stored or tonumber(stored) ~= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'version', (tonumber(ARGV[2]) or 0) + 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

export interface RedisSessionsOptions {
  /** A session not written for this long is dropped (default 24 h). */
  idleTtlMs?: number;
}

/** Session state replicas share, written by compare-and-set on its version. */
export class RedisSessions implements SharedSessionStore {
  private readonly put: RunScript;
  private readonly putIf: RunScript;
  private readonly idleTtlMs: number;

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    options: RedisSessionsOptions = {},
  ) {
    this.idleTtlMs = Math.max(1, Math.ceil(options.idleTtlMs ?? 24 * 3_600_000));
    this.put = defineScript(client, 'wardenPutSession', 1, PUT);
    this.putIf = defineScript(client, 'wardenPutSessionIf', 1, PUT_IF);
  }

  async getSession(tenant: string, id: string): Promise<SessionRecord | undefined> {
    const [json, version] = await asked(this.client.hmget(this.key(tenant, id), 'json', 'version'));
    if (json === null || json === undefined) return undefined;
    const session = JSON.parse(json) as SessionRecord;
    if (version !== null && version !== undefined) session.version = Number(version);
    return session;
  }

  /** Writes the session whatever its stored version (one replica, or a reset); bumps the version. */
  async putSession(session: SessionRecord): Promise<void> {
    await this.put([this.key(session.tenant, session.id)], [serialize(session), this.idleTtlMs]);
  }

  async putSessionIf(next: SessionRecord, expectedVersion: number | undefined): Promise<boolean> {
    const reply = await this.putIf([this.key(next.tenant, next.id)], [serialize(next), expectedVersion === undefined ? '' : expectedVersion, this.idleTtlMs]);
    return Number(reply) === 1;
  }

  /** The tenant's length first, so no tenant/id pair can spell another's key. */
  private key(tenant: string, id: string): string {
    return `${this.prefix}session:${tenant.length}:${tenant}:${id}`;
  }
}

/** The record without its version: the version lives beside it, written by the scripts. */
function serialize(session: SessionRecord): string {
  const { version: _version, ...rest } = session;
  return JSON.stringify(rest);
}
