import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { SessionServer } from './session-server.js';
import type { Warden } from '../../services/warden.js';
import { coalescingWriter } from '../../lib/coalesced-writes.js';

/**
 * Serves one MCP session on standard input and output until the client disconnects (standard
 * input ends) or the process is asked to stop; then writes the decision log and closes the
 * store. Resolves with the exit code.
 */
export function serveStdioSession(
  server: SessionServer,
  /** Where the server's protocol layer reports closing and errors (an McpServer's `.server`). */
  protocol: { onclose?: () => void; onerror?: (error: Error) => void },
  warden: Warden,
  streams: { stdin: Readable; stdout: Writable },
  say: (message: string) => void,
): Promise<number> {
  const { stdin, stdout } = streams;
  // Answers that complete in the same turn leave in one write (lib/coalesced-writes.ts).
  const transport = new StdioServerTransport(stdin, coalescingWriter(stdout));
  return new Promise<number>((resolve) => {
    let finished = false;
    let code = 0;
    const stop = () => void server.close().catch(() => undefined);
    const finish = async () => {
      if (finished) return;
      finished = true;
      stdin.off('end', stop);
      stdin.off('close', stop);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // The answers of the last turn may still be held for coalescing: out before anything may exit.
      while (stdout.writableCorked > 0) stdout.uncork();
      try {
        await warden.close();
        resolve(code);
      } catch (error) {
        say(`could not close the store cleanly: ${(error as Error)?.message ?? String(error)}`);
        resolve(1);
      }
    };
    protocol.onclose = () => void finish();
    protocol.onerror = (error) => say(error.message);
    stdin.once('end', stop);
    stdin.once('close', stop);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    server.connect(transport).catch((error: unknown) => {
      say((error as Error)?.message ?? String(error));
      code = 1;
      void finish();
    });
  });
}
