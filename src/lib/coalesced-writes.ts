import type { Writable } from 'node:stream';

const held = new WeakSet<Writable>();

/**
 * Holds what is written to `stream` until the check phase of this turn of the event loop, then
 * sends it at once: a pipe or socket writes the held chunks in one system call (writev). An MCP
 * stdio connection carries one JSON-RPC message per write; with many calls in flight, answers
 * that complete in the same turn otherwise cost one write(2) each, and each wakes the reader
 * (measured in bench/mcp: the largest single item of the stdio gateway's profile). Order is kept;
 * nothing waits longer than the current turn.
 */
export function coalesceThisTurn(stream: Writable): void {
  if (held.has(stream) || stream.destroyed || stream.writableEnded) return;
  held.add(stream);
  stream.cork();
  setImmediate(() => {
    held.delete(stream);
    stream.uncork();
  });
}

/**
 * `stream` as the SDK's stdio transports use it (`write`, then `once('drain')` when it asks to
 * wait), with every write coalesced by `coalesceThisTurn`.
 */
export function coalescingWriter(stream: Writable): Writable {
  const writer = {
    write(chunk: string | Uint8Array): boolean {
      coalesceThisTurn(stream);
      return stream.write(chunk);
    },
    once(event: string, listener: (...args: unknown[]) => void) {
      stream.once(event, listener);
      return writer;
    },
    on(event: string, listener: (...args: unknown[]) => void) {
      stream.on(event, listener);
      return writer;
    },
    off(event: string, listener: (...args: unknown[]) => void) {
      stream.off(event, listener);
      return writer;
    },
  };
  return writer as unknown as Writable;
}
