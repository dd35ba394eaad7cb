import type { DecisionLogStore } from './ports.js';
import type { DecisionRecord, Millis } from './records.js';

/** Which records: the conditions of a decision listing that replay and exports use. */
export interface RecordFilter {
  agentId?: string;
  tool?: string;
  tenant?: string;
  since?: Millis;
  until?: Millis;
}

/**
 * What a long read of the log (replay) needs of each record: who, what, where, when, the decision
 * and its details. A reader may leave out the rest (reason, hashes, result summary, obligations),
 * which is most of what a row costs to read.
 */
export type RecordHead = Pick<
  DecisionRecord,
  'seq' | 'id' | 'time' | 'kind' | 'requestId' | 'tenant' | 'sessionId' | 'agentId' | 'userId' | 'serviceId' | 'action' | 'resourceType' | 'resourceId' | 'effect' | 'stage' | 'policy' | 'rule' | 'bundle' | 'breakGlass' | 'args' | 'details'
>;

/** A log that can read record heads by seq, cheaper than whole records (store/sqlite/read-only-log.ts). */
export interface HeadScan {
  scanHeads(afterSeq: number, limit: number): Promise<RecordHead[]>;
}

/** Records read in pages, and whether the bound stopped the reading before the end. */
export interface RecordPages<R = DecisionRecord> extends AsyncIterable<R[]> {
  readonly truncated: boolean;
}

function matches(r: RecordHead, f: RecordFilter): boolean {
  return (
    (f.agentId === undefined || r.agentId === f.agentId) &&
    (f.tool === undefined || r.resourceId === f.tool) &&
    (f.tenant === undefined || r.tenant === f.tenant) &&
    (f.since === undefined || r.time >= f.since) &&
    (f.until === undefined || r.time <= f.until)
  );
}

/**
 * Every matching record, oldest first, for long reads (replay of a whole log): the seq range
 * that can hold matches is found through the store's indexes (first and last match), then read by
 * primary key a page at a time and filtered here, so the cost is linear in the range whatever the
 * filter (as `warden audit export` reads). Records appended after the start are left out.
 */
export function scanPages(log: Pick<DecisionLogStore, 'queryDecisions' | 'scanDecisions' | 'lastDecision'> & Partial<HeadScan>, filter: RecordFilter, options: { pageSize?: number; max?: number } = {}): RecordPages<RecordHead> {
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const state = { truncated: false };
  return {
    get truncated() {
      return state.truncated;
    },
    async *[Symbol.asyncIterator]() {
      const range = await seqRange(log, filter);
      if (!range) return;
      let sent = 0;
      for await (const kept of rangePages(log, filter, range, options.pageSize)) {
        if (sent + kept.length > max) {
          state.truncated = true;
          yield kept.slice(0, max - sent);
          return;
        }
        sent += kept.length;
        yield kept;
      }
    },
  };
}

/**
 * The seq range that can hold matching records, `first..last` (both included), found through the
 * store's indexes and capped at the head of the log now; undefined when nothing matches.
 */
export async function seqRange(log: Pick<DecisionLogStore, 'queryDecisions' | 'lastDecision'>, filter: RecordFilter): Promise<{ first: number; last: number } | undefined> {
  const head = (await log.lastDecision())?.seq ?? 0;
  const query = { ...filter, limit: 1 };
  const [first] = await log.queryDecisions({ ...query, order: 'asc' });
  const [last] = await log.queryDecisions({ ...query, order: 'desc' });
  if (!first || !last) return undefined;
  return { first: first.seq, last: Math.min(last.seq, head) };
}

/**
 * Records read per page by rangePages. Small on purpose: a page's parsed records stay alive until
 * the whole page is handled, and a page of 5,000 (~1 KB of JSON each) outlived V8's young
 * generation, so every record was copied into the old one and collected there — measured on
 * replay, 55 µs of CPU per record to read at 5,000 a page, 20 µs at 500.
 */
export const RANGE_PAGE_SIZE = 500;

/** The matching records of a seq range, oldest first, read by primary key a page at a time. */
export async function* rangePages(log: Pick<DecisionLogStore, 'scanDecisions'> & Partial<HeadScan>, filter: RecordFilter, range: { first: number; last: number }, pageSize = RANGE_PAGE_SIZE): AsyncGenerator<RecordHead[]> {
  const scan = log.scanHeads ? log.scanHeads.bind(log) : log.scanDecisions.bind(log);
  let after = range.first - 1;
  while (after < range.last) {
    const page = await scan(after, Math.min(pageSize, range.last - after));
    if (page.length === 0) return;
    after = page[page.length - 1]!.seq;
    const kept = page.filter((r) => r.seq <= range.last && matches(r, filter));
    if (kept.length) yield kept;
  }
}

/**
 * The newest matching records first, at most `max` (an online replay of the recent window):
 * pages through the store's listing by seq, newest first.
 */
export function newestPages(log: Pick<DecisionLogStore, 'queryDecisions'>, filter: RecordFilter, options: { pageSize?: number; max: number }): RecordPages {
  const pageSize = options.pageSize ?? 2_000;
  const state = { truncated: false };
  return {
    get truncated() {
      return state.truncated;
    },
    async *[Symbol.asyncIterator]() {
      let before: number | undefined;
      let sent = 0;
      for (;;) {
        const want = Math.min(pageSize, options.max - sent);
        if (want <= 0) {
          // Exactly at the bound: truncated only if another record would have followed.
          const more = await log.queryDecisions({ ...filter, beforeSeq: before, order: 'desc', limit: 1 });
          state.truncated = more.length > 0;
          return;
        }
        const page = await log.queryDecisions({ ...filter, beforeSeq: before, order: 'desc', limit: want });
        if (page.length === 0) return;
        sent += page.length;
        before = page[page.length - 1]!.seq;
        yield page;
        if (page.length < want) return;
      }
    },
  };
}
