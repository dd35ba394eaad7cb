import { fileAnchor, httpAnchor, streamAnchor, type AnchorSink } from '../audit/anchor-sinks.js';
import { readNewestAnchored } from '../audit/anchor-file.js';
import { ChainMonitor } from '../audit/chain-monitor.js';
import { AuditCheckpointer } from '../audit/checkpointer.js';
import { CheckpointSigner, TrustedKeys } from '../audit/checkpoint-signing.js';
import type { DecisionLog } from '../audit/decision-log.js';
import { loadPublicKey, loadSigningKey } from '../audit/signing-key.js';
import type { CheckpointsConfig } from '../config/config-schema.js';
import { resolveFrom, type WardenConfig } from '../config/load-config.js';
import { durationMs } from '../lib/duration.js';
import type { Store } from '../store/store.js';
import { SecretResolver } from '../upstream/secrets.js';
import { secretProviders } from './secret-providers.js';

export interface AuditCheckpoints {
  /** The chain's status at the cost of new records (AuditService.verify). */
  monitor: ChainMonitor;
  /** Signs and publishes the head; absent when audit.checkpoints is not configured. */
  checkpointer?: AuditCheckpointer;
  /** Stops the interval and signs the final head (call after the decision log is flushed). */
  close(): Promise<void>;
}

export interface CheckpointDeps {
  store: Store;
  secrets: SecretResolver;
  decisionLog: DecisionLog;
  clock: () => number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** The signer of `audit.checkpoints.key`, with secrets resolved and relative paths from the config's folder. */
export async function checkpointSigner(config: WardenConfig, secrets: SecretResolver, warn: (message: string) => void = () => undefined): Promise<CheckpointSigner | undefined> {
  const c = config.audit.checkpoints;
  if (!c) return undefined;
  const loaded = await loadSigningKey(c.key, { baseDir: config.baseDir, resolveSecret: (name) => secrets.resolve(name) });
  for (const warning of loaded.warnings) warn(warning);
  return new CheckpointSigner(loaded.key);
}

/** The keys whose checkpoints are believed: the signer's and `previous_keys` (after a rotation). */
async function verificationKeys(config: WardenConfig, secrets: SecretResolver, signer: CheckpointSigner | undefined): Promise<TrustedKeys> {
  const previous = await Promise.all(
    (config.audit.checkpoints?.previous_keys ?? []).map((reference) => loadPublicKey(reference, { baseDir: config.baseDir, resolveSecret: (name) => secrets.resolve(name) })),
  );
  return new TrustedKeys([...(signer ? [signer.publicKey] : []), ...previous]);
}

/**
 * The keys of `audit.checkpoints` (the signing key's public half and the previous keys), for
 * verifying checkpoints where the config is at hand (`warden audit verify --config`); undefined
 * when checkpoints are not configured.
 */
export async function configuredVerificationKey(config: WardenConfig): Promise<TrustedKeys | undefined> {
  const secrets = new SecretResolver(secretProviders(config));
  const signer = await checkpointSigner(config, secrets);
  return signer ? verificationKeys(config, secrets, signer) : undefined;
}

/** The anchor file `audit.checkpoints.anchor` names, resolved from the config's folder (file anchors only). */
export function anchorFileOf(config: WardenConfig): string | undefined {
  const anchor = config.audit.checkpoints?.anchor;
  return anchor?.type === 'file' ? resolveFrom(config.baseDir, anchor.path) : undefined;
}

function anchorSink(config: WardenConfig, anchor: NonNullable<CheckpointsConfig['anchor']>, secrets: SecretResolver): AnchorSink {
  if (anchor.type === 'file') return fileAnchor(anchorFileOf(config)!);
  if (anchor.type === 'stdout') return streamAnchor();
  const headers = anchor.headers;
  return httpAnchor({
    url: anchor.url,
    headers: async () => Object.fromEntries(await Promise.all(Object.entries(headers).map(async ([k, v]) => [k, await secrets.interpolate(v)] as const))),
  });
}

/**
 * The decision log's checkpoints as the config asks: a checkpointer that signs the head every N
 * records or T seconds and publishes it, and the monitor that answers the chain's status from the
 * newest checkpoint on. Without audit.checkpoints, only the monitor (from the first record).
 */
export async function startCheckpoints(config: WardenConfig, d: CheckpointDeps): Promise<AuditCheckpoints> {
  const c = config.audit.checkpoints;
  const signer = await checkpointSigner(config, d.secrets, (m) => d.log('warn', m));
  const anchorFile = anchorFileOf(config);
  const monitor = new ChainMonitor({
    store: d.store,
    keys: await verificationKeys(config, d.secrets, signer),
    ...(anchorFile ? { newestAnchored: () => readNewestAnchored(anchorFile) } : {}),
  });
  if (!c || !signer) return { monitor, close: async () => undefined };

  const checkpointer = new AuditCheckpointer({
    store: d.store,
    signer,
    ...(c.anchor ? { anchor: anchorSink(config, c.anchor, d.secrets) } : {}),
    every: c.every,
    // Never a busy loop, whatever the config says.
    intervalMs: Math.max(100, durationMs(c.interval)),
    clock: d.clock,
    log: d.log,
  }).start();
  const unsubscribe = d.decisionLog.onRecords((records) => checkpointer.noteAppended(records.length));
  return {
    monitor,
    checkpointer,
    async close() {
      unsubscribe();
      await checkpointer.close();
    },
  };
}
