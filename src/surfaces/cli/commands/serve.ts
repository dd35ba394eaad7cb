import { existsSync } from 'node:fs';
import { formatDiagnostic } from '../../../lib/diagnostic.js';
import { WardenConfigError } from '../../../services/warden.js';
import { serve } from '../../http/serve.js';
import { EXIT, UsageError } from '../usage-error.js';

export interface ServeOptions {
  config: string;
  port?: string;
  host?: string;
  logLevel?: string;
}

/** `warden serve`: runs until SIGINT/SIGTERM, then finishes requests and writes the decision log. */
export async function serveCommand(options: ServeOptions): Promise<number> {
  if (!existsSync(options.config)) throw new UsageError(`no config at ${options.config} (create one with: warden init)`);
  const port = options.port === undefined ? undefined : Number(options.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port must be 0-65535, not "${options.port}"`);
  let server;
  try {
    server = await serve(options.config, { port, host: options.host, logger: { level: options.logLevel ?? 'info' } });
  } catch (error) {
    if (error instanceof WardenConfigError) {
      console.error(`error: ${error.message.split('\n')[0]}`);
      for (const d of error.diagnostics) console.error(formatDiagnostic(d));
      return EXIT.problems;
    }
    console.error(`error: cannot start: ${(error as Error).message}`);
    return EXIT.problems;
  }
  console.error(`warden: serving on ${server.url} (docs ${server.url}/docs, governance MCP ${server.url}/mcp/governance)`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.error(`warden: ${signal}, finishing requests and writing the decision log…`);
      server.close().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return EXIT.ok;
}
