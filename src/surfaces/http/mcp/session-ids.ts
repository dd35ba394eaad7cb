import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Self-describing, unforgeable MCP session ids, so that any replica holding the key can take up
 * a session another replica opened:
 *
 *     <issued at, base 36 ms>.<nonce, 16 random bytes>.<client capabilities>.<owner tag>.<mac>
 *
 * - the owner tag is HMAC(key, endpoint, nonce, owner, binding), cut to 16 bytes: only the caller
 *   that opened the session (same agent or person, same user headers) makes it match;
 * - the mac is HMAC(key, endpoint, everything before it), cut to 24 bytes: nobody without the key
 *   can make an id, change when it was issued, or move it to another endpoint.
 *
 * Every part is base64url or base 36, so the id is visible ASCII as the MCP spec requires.
 */
export type SessionIdCheck = { ok: true; issuedAt: number; capabilities: string } | { ok: false; why: 'forged' | 'expired' | 'not-yours' };

const FORM = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})\.([a-z]{0,8}|-)\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{32})$/;
/** How far ahead of this replica's clock an id may be issued (replicas' clocks differ a little). */
const CLOCK_SKEW_MS = 60_000;

/** The key of a configured secret: the same on every replica that shares the secret. */
export function keyFromSecret(secret: string): Buffer {
  return createHmac('sha256', secret).update('warden/mcp-session-id/v1').digest();
}

/**
 * Where `warden serve --workers` hands its workers one key (64 hex digits) when the config names
 * no `mcp.session_secret`: the workers of one primary then share sessions, and a restarted
 * worker takes them up again. Replicas on other hosts still need the secret.
 */
export const SESSION_KEY_ENV = 'WARDEN_MCP_SESSION_KEY';

/** A new key for `SESSION_KEY_ENV`. */
export function newSessionKeyHex(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Without a secret: the key a parent process handed down (`SESSION_KEY_ENV`), else a key of this
 * process alone, and sessions then work only on the replica that opened them.
 */
export function processKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  const handed = env[SESSION_KEY_ENV];
  if (handed === undefined || handed === '') return randomBytes(32);
  if (!/^[0-9a-f]{64}$/i.test(handed)) throw new Error(`${SESSION_KEY_ENV} must be 64 hex digits (a key warden serve --workers makes)`);
  return Buffer.from(handed, 'hex');
}

export class SessionIds {
  constructor(
    private readonly key: Buffer,
    /** The endpoint's path: an id of one endpoint is not an id of another. */
    private readonly scope: string,
    private readonly maxAgeMs: number,
    private readonly clock: () => number,
  ) {}

  /** A new id for `owner`, bound to `binding` (e.g. the user headers), noting what the client can do. */
  issue(owner: string, binding: string, capabilities: string): string {
    const nonce = randomBytes(16).toString('base64url');
    const head = `${Math.max(0, Math.floor(this.clock())).toString(36)}.${nonce}.${capabilities || '-'}.${this.ownerTag(nonce, owner, binding)}`;
    return `${head}.${this.mac(head)}`;
  }

  /** Whether `id` is one of ours, still valid, and `owner`'s (with the same binding). */
  check(id: string, owner: string, binding: string): SessionIdCheck {
    const m = FORM.exec(id);
    if (!m) return { ok: false, why: 'forged' };
    const head = id.slice(0, id.lastIndexOf('.'));
    if (!equal(this.mac(head), m[5]!)) return { ok: false, why: 'forged' };
    const issuedAt = parseInt(m[1]!, 36);
    const now = this.clock();
    if (issuedAt > now + CLOCK_SKEW_MS || now - issuedAt > this.maxAgeMs) return { ok: false, why: 'expired' };
    if (!equal(this.ownerTag(m[2]!, owner, binding), m[4]!)) return { ok: false, why: 'not-yours' };
    return { ok: true, issuedAt, capabilities: m[3] === '-' ? '' : m[3]! };
  }

  /** When an id this instance issued stops being valid. */
  expiresAt(issuedAt: number): number {
    return issuedAt + this.maxAgeMs;
  }

  private ownerTag(nonce: string, owner: string, binding: string): string {
    return this.hmac(['owner', this.scope, nonce, owner, binding]).subarray(0, 16).toString('base64url');
  }

  private mac(head: string): string {
    return this.hmac(['id', this.scope, head]).subarray(0, 24).toString('base64url');
  }

  private hmac(parts: string[]): Buffer {
    // JSON keeps the parts apart whatever they contain.
    return createHmac('sha256', this.key).update(JSON.stringify(parts)).digest();
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The client capabilities a session taken up elsewhere needs again, from the raw `initialize`
 * params: `f` form elicitation, `u` URL elicitation, `s` sampling, `r` roots.
 */
export function capabilityLetters(capabilities: unknown): string {
  if (typeof capabilities !== 'object' || capabilities === null) return '';
  const c = capabilities as Record<string, unknown>;
  let letters = '';
  const elicitation = c.elicitation;
  if (typeof elicitation === 'object' && elicitation !== null) {
    const e = elicitation as Record<string, unknown>;
    // An empty elicitation capability means form elicitation (the spec's older form).
    if ('form' in e || !('url' in e)) letters += 'f';
    if ('url' in e) letters += 'u';
  }
  if (typeof c.sampling === 'object' && c.sampling !== null) letters += 's';
  if (typeof c.roots === 'object' && c.roots !== null) letters += 'r';
  return letters;
}

/** The capabilities `capabilityLetters` noted, as an initialize request states them. */
export function capabilitiesOf(letters: string): Record<string, unknown> {
  const capabilities: Record<string, unknown> = {};
  if (letters.includes('f') || letters.includes('u')) capabilities.elicitation = { ...(letters.includes('f') ? { form: {} } : {}), ...(letters.includes('u') ? { url: {} } : {}) };
  if (letters.includes('s')) capabilities.sampling = {};
  if (letters.includes('r')) capabilities.roots = {};
  return capabilities;
}
