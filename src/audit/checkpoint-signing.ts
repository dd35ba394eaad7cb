import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../model/canonical-json.js';
import type { CheckpointRecord, Millis } from '../store/records.js';

/** Names what a checkpoint signature covers, so it can never be mistaken for another signed text. */
export const CHECKPOINT_FORMAT = 'warden.checkpoint/1';

/** `ed25519:` and the first 16 hex digits of the SHA-256 of the public key (SPKI, DER). */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`;
}

/** The bytes a checkpoint's signature covers: every field but the signature, in canonical JSON. */
export function signedForm(c: Omit<CheckpointRecord, 'signature'>): Buffer {
  return Buffer.from(canonicalJson({ format: CHECKPOINT_FORMAT, seq: c.seq, hash: c.hash, time: c.time, keyId: c.keyId }), 'utf8');
}

function requireEd25519(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${what} is a ${key.asymmetricKeyType ?? key.type} key; checkpoints are signed with Ed25519 (create a pair with \`warden keys generate\`)`);
}

/** Signs heads of the decision log with one Ed25519 private key. */
export class CheckpointSigner {
  readonly keyId: string;
  readonly publicKey: KeyObject;

  constructor(private readonly privateKey: KeyObject) {
    if (privateKey.type !== 'private') throw new Error('the checkpoint signing key must be a private key');
    requireEd25519(privateKey, 'the checkpoint signing key');
    this.publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(this.publicKey);
  }

  sign(head: { seq: number; hash: string }, time: Millis): CheckpointRecord {
    const unsigned = { seq: head.seq, hash: head.hash, time, keyId: this.keyId };
    return { ...unsigned, signature: sign(null, signedForm(unsigned), this.privateKey).toString('base64') };
  }
}

export type SignatureCheck = 'valid' | 'invalid' | 'unknown-key';

/** The public keys whose checkpoints are believed, by key id. */
export class TrustedKeys {
  private readonly byId = new Map<string, KeyObject>();

  constructor(keys: readonly KeyObject[] = []) {
    for (const key of keys) {
      const publicKey = key.type === 'private' ? createPublicKey(key) : key;
      requireEd25519(publicKey, 'a checkpoint verification key');
      this.byId.set(keyIdOf(publicKey), publicKey);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  check(c: CheckpointRecord): SignatureCheck {
    const key = this.byId.get(c.keyId);
    if (!key) return 'unknown-key';
    try {
      return verify(null, signedForm(c), key, Buffer.from(c.signature, 'base64')) ? 'valid' : 'invalid';
    } catch {
      // A signature of the wrong length, or not base64 at all: not a signature by this key.
      return 'invalid';
    }
  }
}
