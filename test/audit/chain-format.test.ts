import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ChainMonitor } from '../../src/audit/chain-monitor.js';
import { TrustedKeys } from '../../src/audit/checkpoint-signing.js';
import { DecisionLog, linkRecord } from '../../src/audit/decision-log.js';
import { ChainVerifier, chainFormatOf, expectedHash, GENESIS_HASH } from '../../src/audit/hash-chain.js';
import { verifyDecisionLog } from '../../src/audit/verify-log.js';
import type { DecisionRecord, NewDecisionRecord } from '../../src/store/records.js';
import { SqliteStore } from '../../src/store/index.js';
import { linkRecordFormat1, pipelineEntry } from './chain-fixtures.js';

/*
 * Issue 17: chain format 2 links H(prevHash ‖ seq ‖ bodyHash), the body hashed before the write
 * lock. Logs written before it (format 1) must keep verifying, alone and followed by format-2
 * records, in `warden audit verify` (verifyDecisionLog) and the dashboard's status (ChainMonitor);
 * tampering must be found in both formats.
 */

const freshFile = () => join(mkdtempSync(join(tmpdir(), 'warden-chain-')), 'log.db');

const monitorOf = (store: SqliteStore) => new ChainMonitor({ store, keys: new TrustedKeys([]) });

/** A log of `old` records written by the format-1 linker, then `fresh` by the DecisionLog of today. */
async function mixedLog(old: number, fresh: number): Promise<{ file: string; records: DecisionRecord[] }> {
  const file = freshFile();
  const store = SqliteStore.open(file, { backgroundCheckpoints: false });
  const records = await store.appendChained(Array.from({ length: old }, () => pipelineEntry('old')), linkRecordFormat1);
  const log = await DecisionLog.open(store);
  records.push(...(await Promise.all(Array.from({ length: fresh }, (_, i) => log.append(pipelineEntry('new'), i % 2 === 0).durable))));
  await log.close();
  await store.close();
  return { file, records };
}

async function verdicts(file: string) {
  const store = SqliteStore.open(file, { backgroundCheckpoints: false });
  try {
    return { full: await verifyDecisionLog(store), monitor: await monitorOf(store).status() };
  } finally {
    await store.close();
  }
}

function run(file: string, ...statements: string[]): void {
  const db = new Database(file);
  try {
    for (const statement of statements) db.prepare(statement).run();
  } finally {
    db.close();
  }
}

describe('chain formats', () => {
  it('format 1 is still the hash the versions before format 2 wrote (answers computed by the code at 852db61)', () => {
    const entry: NewDecisionRecord = {
      ...pipelineEntry('known'),
      id: 'dec_known_1',
      time: 1_790_000_000_001,
      requestId: 'req-known-1',
      reason: 'support may read orders of its own tenant — “ü” \u{1F600}',
      args: { limit: 5, customer_id: 'c-42', filters: { z: [1, 2, { b: true, a: null }], status: 'open' } },
      details: { pdpInput: { v: 1 }, matched: ['orders/support-reads-orders'] },
    };
    const first = linkRecordFormat1(entry, undefined);
    const second = linkRecordFormat1({ ...entry, id: 'dec_known_2' }, first);
    expect([first.hash, second.hash]).toEqual([
      'sha256:3dfdc8d7e78d0e0fc8181aa57e9f67337dab26701fc152ed0d10e39aa408a4ba',
      'sha256:87ab5cf6e42628c641d50ef15a6356918f8fdbdb9d2a6cd9ab4ae3913a44d5f9',
    ]);
    expect(new ChainVerifier().check([first, second])).toEqual([]);
  });

  it('new records are format 2: the link covers prevHash, seq and every other field', () => {
    const a = linkRecord(pipelineEntry('f2'), undefined);
    const b = linkRecord(pipelineEntry('f2'), a);
    expect([chainFormatOf(a.hash), chainFormatOf(b.hash)]).toEqual([2, 2]);
    expect(a.hash).toMatch(/^c2:sha256:[0-9a-f]{64}$/);
    expect(b.prevHash).toBe(a.hash);
    expect(new ChainVerifier().check([a, b])).toEqual([]);
    // Each field, seq and prevHash change the hash.
    for (const changed of [{ reason: 'x' }, { args: { limit: 6 } }, { details: {} }, { latencyUs: 121 }, { seq: 3 }, { prevHash: GENESIS_HASH.replace(/0$/, '1') }, { traceId: 't' }]) {
      expect(expectedHash({ ...b, ...changed } as DecisionRecord)).not.toBe(b.hash);
    }
    // Key order inside nested values is not content.
    const reordered = { ...b, args: { filters: { z: [1, 2, { a: null, b: true }], status: 'open' }, limit: 5, customer_id: 'c-42' } };
    expect(expectedHash(reordered)).toBe(b.hash);
  });

  it('a log written by the old code verifies, alone and with new records after it, in verify and in the monitor', async () => {
    const { file: oldOnly } = await mixedLog(40, 0);
    const old = await verdicts(oldOnly);
    expect(old.full).toMatchObject({ ok: true, records: 40, checked: 40, breakCount: 0 });
    expect(old.monitor).toMatchObject({ ok: true, checked: 40, breakCount: 0 });

    const { file, records } = await mixedLog(40, 60);
    expect(records.map((r) => chainFormatOf(r.hash))).toEqual([...Array(40).fill(1), ...Array(60).fill(2)]);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(records[40]!.prevHash).toBe(records[39]!.hash); // the first format-2 record links to the last format-1 one
    const both = await verdicts(file);
    expect(both.full).toMatchObject({ ok: true, records: 100, checked: 100, breakCount: 0, head: { seq: 100, hash: records[99]!.hash } });
    expect(both.monitor).toMatchObject({ ok: true, checked: 100, breakCount: 0 });
  });

  describe('tampering is found in both formats', () => {
    // Records 1-40 are format 1, 41-100 format 2: each alteration once in each part.
    const cases: Array<{ name: string; at: (seq: number) => string[]; problem: RegExp; breakAt: (seq: number) => number }> = [
      { name: 'a body changed', at: (seq) => [`UPDATE decisions SET reason = 'approved by nobody' WHERE seq = ${seq}`], problem: /its content does not match its hash: the record was altered/, breakAt: (seq) => seq },
      { name: 'a nested value changed', at: (seq) => [`UPDATE decisions SET args = '{"customer_id":"c-43","limit":5}' WHERE seq = ${seq}`], problem: /the record was altered/, breakAt: (seq) => seq },
      {
        name: 'two records swapped',
        at: (seq) => [`UPDATE decisions SET seq = -1 WHERE seq = ${seq}`, `UPDATE decisions SET seq = ${seq} WHERE seq = ${seq + 1}`, `UPDATE decisions SET seq = ${seq + 1} WHERE seq = -1`],
        problem: /prevHash does not match|does not match its hash/,
        breakAt: (seq) => seq,
      },
      { name: 'a record deleted', at: (seq) => [`DELETE FROM decisions WHERE seq = ${seq}`], problem: /expected record #\d+ next, found #\d+: records were removed/, breakAt: (seq) => seq + 1 },
      {
        name: 'a format-2 record rehashed as format 1 (a downgrade)',
        at: (seq) => [`UPDATE decisions SET hash = 'sha256:' || substr(hash, -64) WHERE seq = ${seq}`],
        problem: /the record was altered/,
        breakAt: (seq) => seq,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const { file } = await mixedLog(40, 60);
        const places = c.name.includes('downgrade') ? [70] : [20, 70];
        for (const seq of places) run(file, ...c.at(seq));
        const { full, monitor } = await verdicts(file);
        expect(full.ok).toBe(false);
        expect(monitor.ok).toBe(false);
        for (const seq of places) {
          const found = full.breaks.find((b) => b.seq === c.breakAt(seq));
          expect(found?.problem, `a break at #${c.breakAt(seq)} (${c.name}), found ${JSON.stringify(full.breaks)}`).toMatch(c.problem);
          expect(monitor.breaks.some((b) => b.seq === c.breakAt(seq))).toBe(true);
        }
        // Nothing before the first alteration is blamed.
        expect(Math.min(...full.breaks.map((b) => b.seq))).toBe(c.breakAt(places[0]!));
      });
    }
  });

  it('a hash in no known format is a break that says so', async () => {
    const { file } = await mixedLog(0, 5);
    run(file, "UPDATE decisions SET hash = 'md5:abc' WHERE seq = 3");
    const { full } = await verdicts(file);
    expect(full.breaks[0]).toMatchObject({ seq: 3, problem: expect.stringMatching(/no chain format this version of Warden knows/) });
  });
});
