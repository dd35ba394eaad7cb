import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { keyIdOf } from './checkpoint-signing.js';

/** A `${secret:name}` reference, as everywhere else in warden.yaml. */
const SECRET_REFERENCE = /^\$\{secret:([A-Za-z0-9._-]+)\}$/;

export interface KeyPairText {
  privatePem: string;
  publicPem: string;
  keyId: string;
}

/** A new Ed25519 key pair for signing checkpoints, as PEM (PKCS#8 private, SPKI public). */
export function generateSigningKeyPair(): KeyPairText {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

export interface SigningKeySource {
  /** Where a relative path is resolved from (the config's folder). */
  baseDir: string;
  /** Resolves `${secret:name}`; the value is the PEM text. */
  resolveSecret: (name: string) => Promise<string>;
}

export interface LoadedSigningKey {
  key: KeyObject;
  /** What the operator should fix without it stopping Warden (a private key others can read). */
  warnings: string[];
}

/** The private key `audit.checkpoints.key` names: a PEM file's path, or `${secret:name}` holding the PEM. */
export async function loadSigningKey(reference: string, source: SigningKeySource): Promise<LoadedSigningKey> {
  const secret = SECRET_REFERENCE.exec(reference.trim());
  if (secret) return { key: parsePrivateKey(await source.resolveSecret(secret[1]!), `secret "${secret[1]}"`), warnings: [] };
  const path = isAbsolute(reference) ? reference : resolve(source.baseDir, reference);
  const text = await readKeyFile(path, 'the checkpoint signing key', ' (create one with `warden keys generate`)');
  const warnings: string[] = [];
  const mode = (await stat(path)).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    warnings.push(`the checkpoint signing key ${path} can be read by other users (mode ${mode.toString(8)}); chmod 600 it`);
  }
  return { key: parsePrivateKey(text, path), warnings };
}

/** A public key of `audit.checkpoints.previous_keys`: a PEM file's path, or `${secret:name}`. */
export async function loadPublicKey(reference: string, source: SigningKeySource): Promise<KeyObject> {
  const secret = SECRET_REFERENCE.exec(reference.trim());
  if (secret) return parsePublicKey(await source.resolveSecret(secret[1]!), `secret "${secret[1]}"`);
  const path = isAbsolute(reference) ? reference : resolve(source.baseDir, reference);
  return parsePublicKey(await readKeyFile(path, 'the checkpoint verification key'), path);
}

async function readKeyFile(path: string, what: string, hint = ''): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}${hint}`, { cause: e });
  }
}

/** An Ed25519 private key from PEM; `where` names its origin in the error. */
export function parsePrivateKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new Error(`${where} does not hold a PEM private key: ${(e as Error).message}`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${where} holds a ${key.asymmetricKeyType} key; checkpoints are signed with Ed25519 (\`warden keys generate\`)`);
  return key;
}

/** An Ed25519 public key from PEM (a private key's PEM gives its public half). */
export function parsePublicKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new Error(`${where} does not hold a PEM public key: ${(e as Error).message}`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${where} holds a ${key.asymmetricKeyType} key; checkpoints are signed with Ed25519`);
  return key;
}
