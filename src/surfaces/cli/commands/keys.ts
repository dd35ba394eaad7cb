import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateSigningKeyPair } from '../../../audit/signing-key.js';
import { EXIT, UsageError } from '../usage-error.js';

/** The files `warden keys generate` writes, in --out. */
export const KEY_FILES = { private: 'checkpoint-signing.key', public: 'checkpoint-signing.pub' } as const;

export interface KeysGenerateOptions {
  out?: string;
  force?: boolean;
}

/**
 * `warden keys generate`: an Ed25519 key pair for signing checkpoints of the decision log. The
 * private key is written readable by its owner only (0600); the public key is what verifiers get
 * (`warden audit verify --public-key`).
 */
export async function keysGenerateCommand(options: KeysGenerateOptions): Promise<number> {
  const dir = resolve(options.out ?? '.');
  const privatePath = join(dir, KEY_FILES.private);
  const publicPath = join(dir, KEY_FILES.public);
  if (!options.force) {
    const existing = [privatePath, publicPath].filter((p) => existsSync(p));
    if (existing.length > 0) throw new UsageError(`${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; pass --force to replace (checkpoints signed with the old key then need its public key to verify)`);
  }
  const pair = generateSigningKeyPair();
  await mkdir(dir, { recursive: true });
  // Written 0600 from the start, and chmod'ed in case the file existed with a wider mode (--force).
  await writeFile(privatePath, pair.privatePem, { mode: 0o600 });
  await chmod(privatePath, 0o600);
  await writeFile(publicPath, pair.publicPem, { mode: 0o644 });
  console.log(`key ${pair.keyId}`);
  console.log(`  private key: ${privatePath} (mode 600; keep it on the gateway's host only)`);
  console.log(`  public key:  ${publicPath} (give it to whoever verifies the log)`);
  console.log('');
  console.log('In warden.yaml:');
  console.log('');
  console.log('  audit:');
  console.log('    checkpoints:');
  console.log(`      key: ${privatePath}`);
  console.log('      every: 1000');
  console.log('      interval: 60s');
  console.log('      anchor: { type: file, path: /somewhere/the/database/writers/cannot/rewrite/warden-anchor.jsonl }');
  console.log('');
  console.log(`Verify with: warden audit verify --anchor <anchor file> --public-key ${publicPath}`);
  return EXIT.ok;
}
