import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { coalesceThisTurn, coalescingWriter } from '../../src/lib/coalesced-writes.js';

/** A stream like a pipe: it writes several buffered chunks with one writev; records each system write. */
function recordingStream() {
  const writes: string[][] = [];
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string, _encoding, done) {
      writes.push([String(chunk)]);
      done();
    },
    writev(chunks, done) {
      writes.push(chunks.map((c) => String(c.chunk)));
      done();
    },
  });
  return { stream, writes };
}

describe('writes coalesced per turn of the event loop (stdio MCP messages)', () => {
  it('sends the messages written in one turn in one write, in order, and the next turn in another', async () => {
    const { stream, writes } = recordingStream();
    const out = coalescingWriter(stream);
    expect(out.write('{"id":1}\n')).toBe(true);
    await Promise.resolve(); // a later microtask of the same turn, as an answer completing after another
    out.write('{"id":2}\n');
    out.write('{"id":3}\n');
    expect(writes).toEqual([]); // held until the turn's check phase
    await nextTurn();
    out.write('{"id":4}\n');
    await nextTurn();
    expect(writes).toEqual([['{"id":1}\n', '{"id":2}\n', '{"id":3}\n'], ['{"id":4}\n']]);
  });

  it('lets a caller that was asked to wait hear drain, and leaves an ended stream alone', async () => {
    const { stream, writes } = recordingStream();
    const small = new Writable({ highWaterMark: 4, write: (c, _e, done) => (writes.push([String(c)]), done()) });
    const out = coalescingWriter(small);
    const wrote = out.write('0123456789');
    expect(wrote).toBe(false);
    await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    expect(writes).toEqual([['0123456789']]);
    stream.end();
    expect(() => coalesceThisTurn(stream)).not.toThrow();
    expect(stream.writableCorked).toBe(0);
  });
});
