import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { CheckpointRecord } from '../store/records.js';
import { parseAnchorLine } from './anchor-line.js';

export interface AnchorContents {
  checkpoints: CheckpointRecord[];
  /** Lines that claim to be checkpoints but are malformed, by line number (1-based). */
  malformed: number[];
}

/** Every checkpoint an anchor file (or a saved log stream) holds, in file order. */
export async function readAnchorFile(path: string): Promise<AnchorContents> {
  const checkpoints: CheckpointRecord[] = [];
  const malformed: number[] = [];
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    const parsed = parseAnchorLine(line);
    if (parsed instanceof Error) malformed.push(n);
    else if (parsed) checkpoints.push(parsed);
  }
  return { checkpoints, malformed };
}

/** How much of an anchor file's end is read to find its newest checkpoint. */
const TAIL_BYTES = 64 * 1024;

/**
 * The checkpoint of the highest seq among the last lines of an anchor file (its newest, since
 * checkpoints are appended in order), read from the end: constant cost whatever the file's size.
 * Undefined when the file is missing or holds none near its end.
 */
export async function readNewestAnchored(path: string): Promise<CheckpointRecord | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    // The first line may be cut in the middle when the tail starts inside it.
    if (length < size) lines.shift();
    let newest: CheckpointRecord | undefined;
    for (const line of lines) {
      const parsed = parseAnchorLine(line);
      if (parsed && !(parsed instanceof Error) && (!newest || parsed.seq > newest.seq)) newest = parsed;
    }
    return newest;
  } finally {
    await handle.close();
  }
}
