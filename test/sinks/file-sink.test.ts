/**
 * The rotating JSON-lines file sink, on real files: rotation by size keeps `max_files` files,
 * each line is a record as `warden audit export` writes it, and Warden restarted on the same
 * SQLite file writes no line twice — after a clean restart, after a crash between the fsync and
 * the cursor's update (the cursor set back in the database), and after a line torn by a crash
 * mid-write.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/store/records.js';
import { expectComplete, startSinkWarden, until, type SinkWarden } from './fixture.js';

let w: SinkWarden | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const MAX_BYTES = 8_192;
const sinkConfig = (maxFiles: number) => `audit:
  sinks:
    - name: archive
      type: file
      path: ./log/decisions.jsonl
      rotate: { max_bytes: ${MAX_BYTES}, max_files: ${maxFiles} }
      batch: { max_records: 5 }
      poll_interval: 100ms
`;

/** The files, oldest first: decisions.jsonl.N … .1, then decisions.jsonl. */
function files(dir: string, maxFiles: number): string[] {
  const base = join(dir, 'log', 'decisions.jsonl');
  return [...Array.from({ length: maxFiles }, (_, i) => `${base}.${maxFiles - i}`), base].filter((f) => existsSync(f));
}
const lines = (dir: string, maxFiles: number) =>
  files(dir, maxFiles).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      // The part after the last newline: '' or a line being written right now.
      .slice(0, -1)
      .map((l) => JSON.parse(l) as DecisionRecord),
  );
const head = async () => (await w!.warden.store.lastDecision())?.seq ?? 0;
const cursor = (dir: string) => {
  const db = new Database(join(dir, 'warden.db'));
  try {
    return db.prepare<[], { seq: number }>("SELECT seq FROM sink_cursors WHERE name = 'archive'").get()?.seq;
  } finally {
    db.close();
  }
};

it('writes every record once, rotating by size, across clean and crashed restarts', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-sink-file-'));
  const config = sinkConfig(50);
  w = await startSinkWarden(dir, config);
  await w.calls(25);
  await until(async () => lines(dir, 50).length === (await head()), 'the first records on file');

  // A clean restart mid-stream.
  await w.calls(10);
  await w.close();
  w = await startSinkWarden(dir, config);
  await w.calls(10);
  await until(async () => lines(dir, 50).length >= (await head()), 'the records after a clean restart');

  // A crash after the fsync, before the cursor moved: the cursor is 7 records behind the file.
  await w.close();
  w = undefined;
  const db = new Database(join(dir, 'warden.db'));
  db.prepare("UPDATE sink_cursors SET seq = seq - 7 WHERE name = 'archive'").run();
  db.close();
  // A crash in the middle of a write: half a line at the end of the current file.
  appendFileSync(join(dir, 'log', 'decisions.jsonl'), '{"seq":99999,"id":"dec_torn","ti');
  w = await startSinkWarden(dir, config);
  await w.calls(10);
  const last = await head();
  await until(async () => cursor(dir) === last, 'the cursor to reach the head');

  const written = lines(dir, 50);
  const { duplicates } = expectComplete(written, last);
  expect(duplicates).toBe(0);
  expect(written.map((r) => r.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  // The lines of `warden audit export`: each record exactly as stored.
  const stored = await w.warden.store.scanDecisions(0, last);
  expect(written.map((r) => JSON.stringify(r))).toEqual(stored.map((r) => JSON.stringify(r)));
  // Rotated by size: several files, each within max_bytes, every one ending with a whole line.
  const all = files(dir, 50);
  expect(all.length).toBeGreaterThan(3);
  for (const f of all) {
    expect(statSync(f).size).toBeLessThanOrEqual(MAX_BYTES);
    const text = readFileSync(f, 'utf8');
    if (text) expect(text.endsWith('\n')).toBe(true);
  }
});

it('keeps at most max_files rotated files, deleting the oldest', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-sink-file-max-'));
  w = await startSinkWarden(dir, sinkConfig(2));
  await w.calls(60);
  const last = await head();
  await until(() => cursor(dir) === last, 'the cursor to reach the head');
  const base = join(dir, 'log', 'decisions.jsonl');
  expect(existsSync(`${base}.1`) && existsSync(`${base}.2`)).toBe(true);
  expect(existsSync(`${base}.3`)).toBe(false);
  // What is kept is the newest records, contiguous, ending at the head.
  const kept = lines(dir, 2).map((r) => r.seq);
  expect(kept[kept.length - 1]).toBe(last);
  expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => last - kept.length + 1 + i));
  expect(kept[0]).toBeGreaterThan(1);
});
