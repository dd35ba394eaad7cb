import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CheckpointRecord } from '../store/records.js';
import { anchorLine } from './anchor-line.js';

/**
 * Where checkpoints are published outside the database, so that whoever can rewrite the database
 * cannot also rewrite what was published: an append-only file (ideally on another host or a
 * write-once volume), standard output (collected by the log pipeline), or an HTTP endpoint.
 */
export interface AnchorSink {
  /** Where it publishes, for messages. */
  readonly describe: string;
  /** Rejects when the checkpoint could not be published (the checkpointer retries later). */
  publish(checkpoint: CheckpointRecord): Promise<void>;
}

/** Appends one line per checkpoint (O_APPEND: writers on one host never interleave a line). */
export function fileAnchor(path: string): AnchorSink {
  return {
    describe: `file ${path}`,
    async publish(c) {
      await mkdir(dirname(path), { recursive: true });
      await appendFile(path, `${anchorLine(c)}\n`, { encoding: 'utf8', mode: 0o644, flag: 'a' });
    },
  };
}

/** Writes one line per checkpoint to standard output, for the log collector to keep. */
export function streamAnchor(write: (text: string) => void = (t) => process.stdout.write(t)): AnchorSink {
  return {
    describe: 'standard output',
    async publish(c) {
      write(`${anchorLine(c)}\n`);
    },
  };
}

export interface HttpAnchorOptions {
  url: string;
  /** Headers to send (with secrets already resolved), read for each request so rotation applies. */
  headers?: () => Promise<Record<string, string>>;
  timeoutMs?: number;
}

/** POSTs each checkpoint as JSON (the anchor line's object); any 2xx is success. */
export function httpAnchor(options: HttpAnchorOptions): AnchorSink {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    describe: `POST ${options.url}`,
    async publish(c) {
      const headers = { 'content-type': 'application/json', ...(await options.headers?.()) };
      const response = await fetch(options.url, { method: 'POST', headers, body: anchorLine(c), signal: AbortSignal.timeout(timeoutMs) });
      // The body is not used; reading it frees the connection.
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`${options.url} answered ${response.status}`);
    },
  };
}
