/**
 * The decision log's search (issue 14) in the store, the same on SQLite and Postgres: every
 * filter, the words of a reason (FTS5 on SQLite, a tsvector GIN index on Postgres), keyset paging
 * in both directions. On SQLite twice: through the full-text index (a text search indexes what is
 * not yet), and over records not indexed yet (the tail, scanned: a read-only view of a log nobody
 * has searched, whose index is empty). The expected answers are computed from the synthetic entries themselves.
 * Postgres is the machine's shared server, in a schema of this test's own, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionQuery, NewDecisionRecord } from '../../src/store/records.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { ReadOnlySqliteLog } from '../../src/store/sqlite/read-only-log.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { fillLog, syntheticEntry } from './synthetic-log.js';

const SERVER = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `t_search_${randomBytes(5).toString('hex')}`;
const COUNT = 3000;

/** Reasons with what word search must and must not match, mixed into the synthetic log. */
const SPECIAL: Record<number, Partial<NewDecisionRecord>> = {
  100: { reason: 'support-agent lacks the finance role required for issue_refund' },
  200: { reason: 'Café crème: refund of order o-456 (policy refunds v3, rule big-refunds)', tenant: 'competitor-corp' },
  300: { reason: 'tool "export_csv" is not allowed: =HYPERLINK("x")' },
  400: { reason: 'REFUNDS held for approval above 250' },
};
/** A reason's words as both backends index them: runs of letters and digits, lower-cased. */
const wordsOf = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
/** Whether every word of `search` begins a word of `reason`. */
const matches = (reason: string, search: string) => wordsOf(search).every((w) => wordsOf(reason).some((r) => r.startsWith(w)));
const entryAt = (i: number): NewDecisionRecord => syntheticEntry(i, SPECIAL[i] ?? {});
const ALL = Array.from({ length: COUNT }, (_, i) => ({ ...entryAt(i), seq: i + 1 }));

type Searchable = Pick<Store, 'queryDecisions' | 'close'>;
const stores: Array<[string, Searchable]> = [];

beforeAll(async () => {
  const sqlite = SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'warden-search-')), 'warden.db'));
  const unindexedPath = join(mkdtempSync(join(tmpdir(), 'warden-search-tail-')), 'warden.db');
  const unindexed = SqliteStore.open(unindexedPath, { backgroundCheckpoints: false });
  const postgres = await PostgresStore.open(`${SERVER}?schema=${SCHEMA}`);
  await Promise.all([sqlite, unindexed, postgres].map((store) => fillLog(store, COUNT, entryAt)));
  await unindexed.close();
  stores.push(['sqlite', sqlite], ['sqlite, records not indexed yet', ReadOnlySqliteLog.open(unindexedPath) as unknown as Searchable], ['postgres', postgres]);
}, 120_000);

afterAll(async () => {
  for (const [, store] of stores) await store.close();
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await client.end();
}, 60_000);

/** Seqs, newest first, of the entries `keep` selects. */
const expected = (keep: (e: (typeof ALL)[number]) => boolean, limit = 100) =>
  ALL.filter(keep)
    .map((e) => e.seq)
    .reverse()
    .slice(0, limit);

const CASES: Array<[string, DecisionQuery, (e: (typeof ALL)[number]) => boolean]> = [
  ['request id', { requestId: 'syn-1234' }, (e) => e.requestId === 'syn-1234'],
  ['rule', { rule: 'rule-7' }, (e) => e.rule === 'rule-7'],
  ['policy', { policy: 'policy-3' }, (e) => e.policy === 'policy-3'],
  ['policy and rule', { policy: 'policy-3', rule: 'rule-3' }, (e) => e.policy === 'policy-3' && e.rule === 'rule-3'],
  ['tenant and effect', { tenant: 'competitor-corp', effect: 'deny' }, (e) => e.tenant === 'competitor-corp' && e.effect === 'deny'],
  ['not a resource type', { notResourceType: 'tool', limit: 5 }, (e) => e.resourceType !== 'tool'],
  ['a word', { text: 'finance' }, (e) => matches(e.reason, 'finance')],
  ['a word\'s beginning, any case', { text: 'REFUN' }, (e) => matches(e.reason, 'refun')],
  ['every word, in any order', { text: 'refund order' }, (e) => matches(e.reason, 'refund order')],
  ['words split at punctuation', { text: 'issue_refund' }, (e) => matches(e.reason, 'issue refund')],
  ['a hyphenated word', { text: 'support-agent' }, (e) => matches(e.reason, 'support agent')],
  ['accented words, upper or lower case', { text: 'CAFÉ crè' }, (e) => e.reason.startsWith('Café crème')],
  ['a word without its accent: no match (accents are kept)', { text: 'cafe' }, () => false],
  ['a word in the middle of a word: no match', { text: 'efund' }, () => false],
  ['words and filters', { text: 'support', tenant: 'competitor-corp', effect: 'deny' }, (e) => matches(e.reason, 'support') && e.tenant === 'competitor-corp' && e.effect === 'deny'],
  ['no word at all: nothing', { text: '=("")' }, () => false],
  ['a time range', { since: ALL[500]!.time, until: ALL[520]!.time }, (e) => e.time >= ALL[500]!.time && e.time <= ALL[520]!.time],
];

describe.each(['sqlite', 'sqlite, records not indexed yet', 'postgres'])('decision search on %s', (name) => {
  const store = () => stores.find(([n]) => n === name)![1];

  it.each(CASES)('finds by %s', async (_, query, keep) => {
    const found = await store().queryDecisions({ limit: 100, ...query });
    expect(found.map((r) => r.seq)).toEqual(expected(keep, query.limit ?? 100));
  });

  it('pages by seq both ways with words and filters, never repeating or skipping a record', async () => {
    const keep = (e: (typeof ALL)[number]) => matches(e.reason, 'support') && e.tenant === 'acme-corp';
    for (const order of ['desc', 'asc'] as const) {
      const seen: number[] = [];
      let bound: number | undefined;
      for (;;) {
        const page = await store().queryDecisions({ text: 'support', tenant: 'acme-corp', limit: 97, order, ...(order === 'desc' ? { beforeSeq: bound } : { afterSeq: bound ?? 0 }) });
        if (page.length === 0) break;
        seen.push(...page.map((r) => r.seq));
        bound = page[page.length - 1]!.seq;
      }
      const all = ALL.filter(keep).map((e) => e.seq);
      expect(seen).toEqual(order === 'desc' ? all.reverse() : all);
    }
  });
});

describe('the full-text index of reasons on SQLite', () => {
  it('is filled off the write path: nothing at write time, then by the checkpointer\'s worker while the log is quiet', async () => {
    const cursorOf = (path: string) => {
      const raw = new Database(path, { readonly: true });
      try {
        return (raw.prepare('SELECT seq FROM reason_index_cursor').get() as { seq: number }).seq;
      } finally {
        raw.close();
      }
    };
    // Without the worker, writing indexes nothing (no trigger on the log's write path).
    const quiet = join(mkdtempSync(join(tmpdir(), 'warden-search-noworker-')), 'warden.db');
    const alone = SqliteStore.open(quiet, { backgroundCheckpoints: false });
    await fillLog(alone, 1000, entryAt);
    expect(cursorOf(quiet)).toBe(0);
    await alone.close();
    // With it, the records are indexed within a few of its one-second ticks.
    const path = join(mkdtempSync(join(tmpdir(), 'warden-search-worker-')), 'warden.db');
    const store = SqliteStore.open(path);
    try {
      await fillLog(store, 1000, entryAt);
      await expect.poll(() => cursorOf(path), { timeout: 20_000 }).toBe(1000);
    } finally {
      await store.close();
    }
  }, 60_000);
});
