import { mkdir, open, rename, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DecisionRecord } from '../../store/records.js';
import { DeliveryError, type SinkDestination } from './destination.js';

export interface FileSinkOptions {
  path: string;
  /** Rotate before a write would take the file past this many bytes. */
  maxBytes: number;
  /** Rotated files kept (`path.1` … `path.N`, `.1` the newest); the oldest is deleted. */
  maxFiles: number;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * The decision log as JSON lines (the same lines as `warden audit export`), appended to a file
 * that is rotated by size. A batch is acknowledged once it is written and fsynced. The file is
 * only ever appended to, except that a line torn by a crash in the middle of a write is cut off
 * at start (its record was not acknowledged, so it is written again whole).
 */
export class FileSink implements SinkDestination {
  readonly type = 'file';
  readonly target: string;
  private file?: FileHandle;
  private size = 0;

  constructor(private readonly o: FileSinkOptions) {
    this.target = o.path;
  }

  async resumeAfter(): Promise<{ seq: number; hash: string } | undefined> {
    await this.opened();
    for (const path of [this.o.path, `${this.o.path}.1`]) {
      const line = await lastLine(path);
      if (line === undefined) continue;
      try {
        const record = JSON.parse(line) as Partial<DecisionRecord>;
        if (typeof record.seq === 'number' && typeof record.hash === 'string') return { seq: record.seq, hash: record.hash };
      } catch {
        // Not a record of ours: deliver from the cursor.
      }
      return undefined;
    }
    return undefined;
  }

  async deliver(records: readonly DecisionRecord[]): Promise<void> {
    const file = await this.opened();
    let chunk = '';
    let chunkBytes = 0;
    let written = 0;
    let pending = 0;
    const flush = async () => {
      if (pending === 0) return;
      try {
        await (this.file ?? file).write(chunk);
        await (this.file ?? file).sync();
      } catch (e) {
        // What was written of this chunk is unknown: reopen (and cut a torn line) before the retry.
        await this.reset();
        throw new DeliveryError(written, `cannot write ${this.o.path}: ${(e as Error).message}`, { cause: e });
      }
      this.size += chunkBytes;
      written += pending;
      chunk = '';
      chunkBytes = 0;
      pending = 0;
    };
    for (const record of records) {
      const line = `${JSON.stringify(record)}\n`;
      const bytes = Buffer.byteLength(line);
      if (this.size + chunkBytes + bytes > this.o.maxBytes && this.size + chunkBytes > 0) {
        await flush();
        try {
          await this.rotate();
        } catch (e) {
          throw new DeliveryError(written, `cannot rotate ${this.o.path}: ${(e as Error).message}`, { cause: e });
        }
      }
      chunk += line;
      chunkBytes += bytes;
      pending++;
    }
    await flush();
  }

  async close(): Promise<void> {
    await this.reset();
  }

  private async reset(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close().catch(() => undefined);
  }

  /** The current file, opened for appending, with a torn last line cut off. */
  private async opened(): Promise<FileHandle> {
    if (this.file) return this.file;
    await mkdir(dirname(this.o.path), { recursive: true });
    const file = await open(this.o.path, 'a+', 0o640);
    try {
      const { size } = await file.stat();
      const whole = await wholeLinesLength(file, size);
      if (whole < size) {
        await file.truncate(whole);
        await file.sync();
      }
      this.size = whole;
    } catch (e) {
      await file.close().catch(() => undefined);
      throw e;
    }
    this.file = file;
    return file;
  }

  /** `path` becomes `path.1`, `path.1` becomes `path.2`, …; the file past `maxFiles` is replaced (deleted). */
  private async rotate(): Promise<void> {
    await this.reset();
    for (let i = this.o.maxFiles - 1; i >= 1; i--) {
      const from = `${this.o.path}.${i}`;
      if (await exists(from)) await rename(from, `${this.o.path}.${i + 1}`);
    }
    await rename(this.o.path, `${this.o.path}.1`);
    await syncDir(dirname(this.o.path));
    this.size = 0;
    await this.opened();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse to fsync a directory; the renames are still ordered by the kernel.
  } finally {
    await handle.close();
  }
}

const BLOCK = 65_536;

/** The length of the file up to and including its last newline (0 when it has none). */
async function wholeLinesLength(file: FileHandle, size: number): Promise<number> {
  const buffer = Buffer.alloc(BLOCK);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - BLOCK);
    const { bytesRead } = await file.read(buffer, 0, end - start, start);
    const at = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/** The last complete line of a file (without its newline); undefined when it has none or does not exist. */
async function lastLine(path: string): Promise<string | undefined> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = await file.stat();
    const end = await wholeLinesLength(file, size);
    if (end === 0) return undefined;
    // The line before the last newline: read back to the newline before it.
    const body = end - 1;
    const start = await wholeLinesLength(file, body);
    const buffer = Buffer.alloc(body - start);
    await file.read(buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } finally {
    await file.close();
  }
}
