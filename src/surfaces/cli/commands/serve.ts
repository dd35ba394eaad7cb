import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadConfig } from '../../../config/load-config.js';
import { formatDiagnostic } from '../../../lib/diagnostic.js';
import { WardenConfigError } from '../../../services/warden.js';
import { newSessionKeyHex, SESSION_KEY_ENV } from '../../http/mcp/session-ids.js';
import { serve } from '../../http/serve.js';
import { EXIT, UsageError } from '../usage-error.js';

export interface ServeOptions {
  config: string;
  port?: string;
  host?: string;
  logLevel?: string;
  /** Processes serving one port (node:cluster); `auto`: one per core. Needs Postgres + Redis. */
  workers?: string;
}

/** A worker that dies is started again, unless it keeps dying at start (then the primary gives up). */
const RESTART_BACKOFF_MS = [100, 500, 1_000, 2_000, 5_000];

/** `warden serve`: runs until SIGINT/SIGTERM, then finishes requests and writes the decision log. */
export async function serveCommand(options: ServeOptions): Promise<number> {
  if (!existsSync(options.config)) throw new UsageError(`no config at ${options.config} (create one with: warden init)`);
  const port = options.port === undefined ? undefined : Number(options.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port must be 0-65535, not "${options.port}"`);
  const workers = options.workers === undefined ? 1 : options.workers === 'auto' ? availableParallelism() : Number(options.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError(`--workers must be 1-64 or auto, not "${options.workers}"`);
  if (workers > 1 && cluster.isPrimary) return runWorkers(options.config, workers);
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
  // A worker's channel to its primary would keep the process alive after everything else closed.
  if (cluster.isWorker) process.disconnect?.();
  return EXIT.ok;
}

/**
 * `--workers N`: N processes on one port (node:cluster hands out connections). Only on a store
 * they can share: on SQLite the rate limits, request ids and sessions live in each process's
 * memory, so N workers would each grant the full limit and accept a replayed request id.
 */
async function runWorkers(configFile: string, workers: number): Promise<number> {
  const loaded = await loadConfig(configFile);
  if (!loaded.ok) {
    console.error(`error: ${configFile} does not load; run: warden check --config ${configFile}`);
    return EXIT.problems;
  }
  if (!/^postgres(ql)?:/i.test(loaded.config.storage.trim()) || !loaded.config.redis) {
    console.error(
      'error: --workers needs storage: postgres://… and redis: in the config. On SQLite, rate limits, request ids and sessions live in each process\'s memory: several workers would each allow the full rate limit and accept a request id another worker has seen. Run one process on SQLite, or move to Postgres + Redis (README: "Several replicas").',
    );
    return EXIT.problems;
  }
  console.error(`warden: starting ${workers} workers on one port (storage ${loaded.config.storage.replace(/\/\/[^@/]*@/, '//…@')})`);
  let stopping = false;
  const failures: number[] = [];
  // Without mcp.session_secret, the workers of this server still accept each other's MCP session
  // ids (a restarted worker too): they share a key made here, which no other server holds.
  const sessionKey = process.env[SESSION_KEY_ENV] ?? newSessionKeyHex();
  const start = () => cluster.fork({ [SESSION_KEY_ENV]: sessionKey });
  for (let i = 0; i < workers; i++) start();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    failures.push(now);
    while (failures.length && failures[0]! < now - 60_000) failures.shift();
    if (failures.length > RESTART_BACKOFF_MS.length * workers) {
      console.error(`warden: workers keep dying (${failures.length} in a minute, last: ${signal ?? `exit ${code}`}); stopping`);
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      return;
    }
    const delay = RESTART_BACKOFF_MS[Math.min(failures.length - 1, RESTART_BACKOFF_MS.length - 1)]!;
    console.error(`warden: worker ${worker.process.pid} ended (${signal ?? `exit ${code}`}); starting another in ${delay} ms`);
    setTimeout(() => !stopping && start(), delay);
  });
  await new Promise<void>((resolve) => {
    // The signal goes to each worker's process, whose own handler finishes its requests and writes
    // its decision log (Worker.kill would first wait for the worker's server to close, which a
    // client's keep-alive connection can hold open).
    const stop = (signal: NodeJS.Signals) => {
      stopping = true;
      console.error(`warden: ${signal}, stopping ${workers} workers…`);
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    const check = setInterval(() => {
      if (stopping && Object.keys(cluster.workers ?? {}).length === 0) {
        clearInterval(check);
        resolve();
      }
    }, 100);
  });
  return failures.length > RESTART_BACKOFF_MS.length * workers ? EXIT.problems : EXIT.ok;
}
