import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Agent credentials. API keys look like `wk_<keyId>_<secret>`: the key id finds the stored hash in
 * one lookup, and only `sha256:<hex>` of the whole key is ever stored. Signed envelopes carry an
 * HMAC-SHA256 over the fields that make a request unique and fresh.
 */
const API_KEY = /^wk_([A-Za-z0-9]{4,64})_([A-Za-z0-9_-]{20,128})$/;
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function sha256(text: string | Buffer): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export function generateApiKey(): { key: string; keyId: string; hash: string } {
  const keyId = Array.from(randomBytes(12), (b) => BASE62[b % 62]).join('');
  const key = `wk_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { key, keyId, hash: sha256(key) };
}

export function parseApiKey(key: string): { keyId: string } | undefined {
  const match = API_KEY.exec(key);
  return match ? { keyId: match[1]! } : undefined;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface SignedFields {
  agentId: string;
  agentVersion: string;
  requestId: string;
  /** ISO 8601 or epoch seconds, as sent. */
  timestamp: string;
  /** Hex SHA-256 of the exact request body. */
  bodySha256: string;
}

/** The string that is signed: one field per line, in this order. */
export function signingString(f: SignedFields): string {
  return [f.agentId, f.agentVersion, f.requestId, f.timestamp, f.bodySha256].join('\n');
}

export function signEnvelope(secret: string, fields: SignedFields): string {
  return createHmac('sha256', secret).update(signingString(fields)).digest('hex');
}

export function bodySha256(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Parses a signed timestamp: ISO 8601, or whole epoch seconds. */
export function parseTimestamp(text: string): number | undefined {
  if (/^\d{9,11}$/.test(text)) return Number(text) * 1000;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
