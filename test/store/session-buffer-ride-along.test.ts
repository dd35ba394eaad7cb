import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SessionRecord } from '../../src/store/records.js';
import { SessionBuffer } from '../../src/store/sqlite/session-buffer.js';
import type { SessionStatements } from '../../src/store/sqlite/statements.js';

/**
 * When the session buffer writes: in the decision log's transaction when one comes in time (the
 * log here is a timer calling writePending + markWritten, as store/sqlite/decision-log.ts does),
 * alone otherwise. The file is a fake that counts the transactions the buffer opens itself.
 */
function fakeFile() {
  const written: string[] = [];
  let alone = 0;
  const db = {
    open: true,
    transaction: (fn: () => void) => Object.assign(fn, { immediate: () => (alone++, fn()) }),
  } as unknown as Database.Database;
  const statements = {
    getSession: { get: () => undefined },
    putSession: { run: (params: { id: string }) => void written.push(params.id) },
  } as unknown as SessionStatements;
  return { buffer: new SessionBuffer(db, statements), written, transactionsAlone: () => alone };
}

const session = (id: string, callsUsed = 1): SessionRecord => ({ id, tenant: 'acme', callsUsed, spend: 0, tainted: false, recent: [], updatedAt: 0 });

/** The decision log's group commit: a record appended now is written within 2 ms, sessions along. */
const logWriteIn = (buffer: SessionBuffer, ms: number) =>
  setTimeout(() => {
    buffer.writePending();
    buffer.markWritten();
  }, ms);

/** Past the 2 ms window and the turn the buffer's last chance runs in. */
const afterWindow = () => vi.advanceTimersByTimeAsync(20);

describe('SQLite session buffer: session writes ride along in the decision log’s transaction', () => {
  // Fake timers: the buffer's window and the log's write fall due at the same instant, as they do
  // when nothing else runs; with real ones a busy machine (CI runs files in parallel) let the
  // window expire a millisecond before the log's timer and the test failed by chance.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a put followed in the same turn by a decision record is written in the log’s transaction, not alone', async () => {
    const { buffer, written, transactionsAlone } = fakeFile();
    await buffer.putSession(session('s1')); // a call settles its session…
    logWriteIn(buffer, 2); // …then appends its record: both timers fall due in the same phase
    await afterWindow();
    expect(written).toEqual(['s1']);
    expect(transactionsAlone()).toBe(0);
  });

  it('a put after the log took the others along gets its own window (the earlier timer does not write it alone)', async () => {
    const { buffer, written, transactionsAlone } = fakeFile();
    await buffer.putSession(session('s1'));
    await vi.advanceTimersByTimeAsync(1);
    buffer.writePending(); // a log write (an urgent record) took s1 along
    buffer.markWritten();
    await buffer.putSession(session('s2'));
    logWriteIn(buffer, 2);
    await afterWindow();
    expect(written).toEqual(['s1', 's2']);
    expect(transactionsAlone()).toBe(0);
  });

  it('without a log write, the sessions are written alone once the window is up, the latest state of each', async () => {
    const { buffer, written, transactionsAlone } = fakeFile();
    await buffer.putSession(session('s1', 1));
    await buffer.putSession(session('s2'));
    await buffer.putSession(session('s1', 2));
    expect(written).toEqual([]);
    await afterWindow();
    expect(written).toEqual(['s1', 's2']);
    expect(transactionsAlone()).toBe(1);
    expect((await buffer.getSession('acme', 's1'))?.callsUsed).toBe(2);
    await afterWindow();
    expect(transactionsAlone()).toBe(1); // nothing left to write
  });

  it('flush (on close) writes what is pending at once, and nothing is written twice', async () => {
    const { buffer, written, transactionsAlone } = fakeFile();
    await buffer.putSession(session('s1'));
    buffer.flush();
    expect(written).toEqual(['s1']);
    await afterWindow();
    expect(written).toEqual(['s1']);
    expect(transactionsAlone()).toBe(1);
  });
});
