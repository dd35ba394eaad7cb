import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expectedHash } from '../../src/audit/hash-chain.js';
import { SqliteStore } from '../../src/store/index.js';

/** What an attacker with write access to the database file does, for the tamper tests. */

/** Runs SQL statements on a (closed) database file, as someone with the file would. */
export function sql(file: string, ...statements: string[]): void {
  const db = new Database(file);
  try {
    for (const statement of statements) db.prepare(statement).run();
  } finally {
    db.close();
  }
}

/** A copy of a closed database file, to tamper with. */
export function copyDb(file: string): string {
  const copy = join(mkdtempSync(join(tmpdir(), 'warden-tamper-')), 'copy.db');
  copyFileSync(file, copy);
  return copy;
}

/**
 * Forges record `seq` (sets `change`, columns by SQL name) and re-chains the log after it with
 * the project's own hash function, so that the hash chain alone verifies as intact.
 */
export async function forgeAndRechain(file: string, seq: number, change: Record<string, string | number>): Promise<void> {
  const columns = Object.keys(change).map((c) => `${c} = @${c}`).join(', ');
  const db = new Database(file);
  db.prepare(`UPDATE decisions SET ${columns} WHERE seq = @seq`).run({ ...change, seq });
  db.close();
  const store = SqliteStore.open(file, { backgroundCheckpoints: false });
  const records = [];
  try {
    let after = Math.max(0, seq - 2);
    for (;;) {
      const page = await store.scanDecisions(after, 5_000);
      if (page.length === 0) break;
      records.push(...page);
      after = page[page.length - 1]!.seq;
    }
  } finally {
    await store.close();
  }
  const write = new Database(file);
  let previous = records.find((r) => r.seq === seq - 1)?.hash;
  for (const r of records.filter((x) => x.seq >= seq)) {
    const prevHash = previous ?? r.prevHash;
    // In the record's own chain format (hash-chain.ts), as a forger who read the code would.
    const hash = expectedHash({ ...r, prevHash })!;
    // A "forgery" that changes nothing would make a test prove nothing.
    if (r.seq === seq && hash === r.hash) throw new Error(`forging record #${seq} with ${JSON.stringify(change)} changes nothing`);
    write.prepare('UPDATE decisions SET prev_hash = ?, hash = ? WHERE seq = ?').run(prevHash, hash, r.seq);
    previous = hash;
  }
  write.close();
}
