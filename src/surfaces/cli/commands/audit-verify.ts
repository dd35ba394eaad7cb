import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readAnchorFile } from '../../../audit/anchor-file.js';
import type { CheckpointProblem } from '../../../audit/checkpoint-check.js';
import { TrustedKeys } from '../../../audit/checkpoint-signing.js';
import { GENESIS_HASH } from '../../../audit/hash-chain.js';
import { parsePublicKey } from '../../../audit/signing-key.js';
import { verifyDecisionLog, type VerifyOptions, type VerifyResult } from '../../../audit/verify-log.js';
import type { WardenConfig } from '../../../config/load-config.js';
import { anchorFileOf, configuredVerificationKey } from '../../../services/checkpoints.js';
import { readConfig, withStore, type StoreSource } from '../state.js';
import { EXIT, UsageError } from '../usage-error.js';

/** Progress goes to standard error every this many verified records. */
export const PROGRESS_EVERY = 50_000;
/** Problems printed at most, of each kind; the rest are counted. */
const PRINTED = 20;

export interface VerifyCommandOptions extends StoreSource {
  /** A file of checkpoint lines (the file anchor, or a saved log stream of the stdout anchor). */
  anchor?: string;
  /** PEM files of the public keys checkpoints may be signed with. */
  publicKey?: string[];
}

/**
 * `warden audit verify`: walks the whole hash chain, reporting every break (not only the first),
 * and holds every checkpoint (database and anchor) against the log. Exit 0 when nothing is wrong,
 * 1 when anything is; either way it says what it could not detect with what it was given.
 */
export async function auditVerifyCommand(options: VerifyCommandOptions): Promise<number> {
  // The config (when the store comes from it) also names the key and the anchor file.
  const config = options.db === undefined ? await readConfig(options.config, true) : undefined;
  const keys = await verificationKeys(options.publicKey ?? [], config);
  const anchor = await anchorOf(options.anchor, config);
  return withStore(options, async (store) => {
    let reported = 0;
    const result = await verifyDecisionLog(store, {
      keys,
      ...(anchor ? { anchor } : {}),
      onProgress: (read) => {
        if (Math.floor(read / PROGRESS_EVERY) > Math.floor(reported / PROGRESS_EVERY)) {
          reported = read;
          console.error(`verified ${read.toLocaleString('en-US')} records…`);
        }
      },
    });
    console.log(report(result, anchor, keys).join('\n'));
    return result.ok ? EXIT.ok : EXIT.problems;
  });
}

/** --public-key files, else the config's own signing key (its public half). */
async function verificationKeys(files: readonly string[], config: WardenConfig | undefined): Promise<TrustedKeys> {
  if (files.length === 0) return (config && (await configuredVerificationKey(config))) ?? new TrustedKeys();
  const keys = [];
  for (const file of files) {
    const path = resolve(file);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --public-key ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      keys.push(parsePublicKey(text, `--public-key ${path}`));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return new TrustedKeys(keys);
}

/** --anchor, else the config's file anchor (which may not exist yet: nothing was published). */
async function anchorOf(option: string | undefined, config: WardenConfig | undefined): Promise<VerifyOptions['anchor']> {
  let path: string | undefined;
  if (option !== undefined) {
    if (option.trim() === '') throw new UsageError('--anchor needs a path');
    path = resolve(option);
    if (!existsSync(path)) throw new UsageError(`anchor file ${path} does not exist`);
  } else {
    path = config && anchorFileOf(config);
    if (path === undefined) return undefined;
    if (!existsSync(path)) return { describe: `file ${path}, named by the config, not written yet`, checkpoints: [] };
  }
  if (!statSync(path).isFile()) throw new UsageError(`anchor ${path} is not a file`);
  const contents = await readAnchorFile(path);
  return { describe: `file ${path}`, checkpoints: contents.checkpoints, malformedLines: contents.malformed };
}

function report(r: VerifyResult, anchor: VerifyOptions['anchor'], keys: TrustedKeys): string[] {
  const lines: string[] = [];
  if (r.ok) {
    lines.push(`ok: ${r.records} records, chain intact (head ${r.head?.hash ?? GENESIS_HASH})`);
  } else {
    for (const b of r.breaks.slice(0, PRINTED)) lines.push(`BROKEN at record #${b.seq} (${b.id}): ${b.problem}`);
    if (r.breakCount > PRINTED) lines.push(`… and ${r.breakCount - PRINTED} more broken records`);
    for (const p of r.checkpointProblems.slice(0, PRINTED)) lines.push(`BROKEN at ${describeCheckpoint(p)}: ${p.problem}`);
    if (r.checkpointProblems.length > PRINTED) lines.push(`… and ${r.checkpointProblems.length - PRINTED} more checkpoint problems`);
    const problems = r.breakCount + r.checkpointProblems.length;
    lines.push(`${problems} ${problems === 1 ? 'problem' : 'problems'} in ${r.records} records: ${r.checked} records verified before the first break`);
  }
  const c = r.checkpoints;
  const source = anchor ? `${c.anchored} in the anchor (${anchor.describe})` : 'no anchor';
  const signatures = c.signaturesChecked ? `signatures checked with ${keys.ids.join(', ')}` : 'signatures not checked';
  const newest = c.newestVerified ? `; the newest that holds: #${c.newestVerified.seq}, signed ${new Date(c.newestVerified.time).toISOString()} by ${c.newestVerified.keyId}` : '';
  lines.push(`checkpoints: ${c.inDatabase} in the database, ${source}; ${signatures}${newest}`);
  for (const spot of r.blindSpots) lines.push(`cannot detect: ${spot}`);
  return lines;
}

function describeCheckpoint(p: CheckpointProblem): string {
  if (p.seq === 0) return `the anchor`;
  return `checkpoint #${p.seq} (${p.source === 'anchor' ? 'in the anchor' : 'in the database'}, signed ${new Date(p.time).toISOString()} by ${p.keyId})`;
}
