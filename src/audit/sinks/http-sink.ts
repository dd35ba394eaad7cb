import type { DecisionRecord } from '../../store/records.js';
import type { SinkDestination } from './destination.js';
import { describeUrl, postOrThrow, type HeaderSource, type UrlSource } from './http-post.js';

export interface HttpSinkOptions {
  name: string;
  /** The URL as configured (secret references unresolved): what logs and /readyz show. */
  urlText: string;
  url: UrlSource;
  headers: HeaderSource;
  timeoutMs: number;
}

/**
 * Each batch POSTed as JSON lines (`application/x-ndjson`, one record per line, the lines of
 * `warden audit export`), acknowledged by any 2xx. The headers `X-Warden-Sink`,
 * `X-Warden-First-Seq` and `X-Warden-Last-Seq` say what the batch holds; a batch can arrive
 * again after a failure or a restart, so a receiver deduplicates by record `id` (or `seq`).
 */
export class HttpSink implements SinkDestination {
  readonly type = 'http';
  readonly target: string;

  constructor(private readonly o: HttpSinkOptions) {
    this.target = describeUrl(o.urlText);
  }

  async deliver(records: readonly DecisionRecord[]): Promise<void> {
    if (records.length === 0) return;
    const body = records.map((r) => `${JSON.stringify(r)}\n`).join('');
    const headers = {
      ...(await this.o.headers()),
      'content-type': 'application/x-ndjson',
      'x-warden-sink': this.o.name,
      'x-warden-first-seq': String(records[0]!.seq),
      'x-warden-last-seq': String(records[records.length - 1]!.seq),
    };
    await postOrThrow(await this.o.url(), body, headers, this.o.timeoutMs);
  }

  async close(): Promise<void> {}
}
