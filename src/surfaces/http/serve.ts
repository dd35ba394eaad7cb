import type { FastifyInstance } from 'fastify';
import { durationMs } from '../../lib/duration.js';
import { formatDiagnostic } from '../../lib/diagnostic.js';
import { createWarden, UPSTREAM_HEAD_START_MS, type Warden, type WardenLogLevel } from '../../services/warden.js';
import { gatewayModule } from './mcp/gateway-http.js';
import { governanceModule } from './mcp/governance-http.js';
import { startWardenTelemetry } from '../../services/telemetry/warden-telemetry.js';
import type { TelemetryHandle } from '../../services/telemetry/start-telemetry.js';
import { watchPolicies } from './policy-watcher.js';
import { buildServer, type RouteModule, type ServerOptions } from './server.js';

export interface RunningServer {
  app: FastifyInstance;
  warden: Warden;
  /** The OpenTelemetry SDK this server started (telemetry: in the config; off: does nothing). */
  telemetry: TelemetryHandle;
  url: string;
  /** Stops accepting requests, finishes those in flight, writes the decision log, closes the store. */
  close(): Promise<void>;
}

export interface ServeOptions extends ServerOptions {
  port?: number;
  host?: string;
  modules?: RouteModule[];
}

/** `warden serve`: one process, one port. */
export async function serve(configPath: string, options: ServeOptions = {}): Promise<RunningServer> {
  // Upstreams connect inside createWarden, before fastify's logger exists: their messages wait for it.
  const logTo: { app?: FastifyInstance } = {};
  const loadedAt = Date.now(); // the policy watcher reloads what changes from here on
  const early: Array<[WardenLogLevel, string, string]> = [];
  const logAs = (component: string) => (level: WardenLogLevel, message: string) => (logTo.app ? logTo.app.log[level]({ component }, message) : early.push([level, message, component]));
  const warden = await createWarden({ config: configPath, log: logAs('upstream'), upstreamWaitMs: UPSTREAM_HEAD_START_MS });
  // The OpenTelemetry SDK belongs to the process: started here, stopped last in close().
  let telemetry: TelemetryHandle;
  let app: FastifyInstance;
  try {
    telemetry = await startWardenTelemetry(warden, logAs('telemetry'));
  } catch (e) {
    await warden.close();
    throw e;
  }
  try {
    app = await buildServer(warden, { ...options, tracing: options.tracing ?? telemetry.traces }, options.modules ?? [governanceModule, gatewayModule]);
  } catch (e) {
    await warden.close();
    await telemetry.shutdown();
    throw e;
  }
  logTo.app = app;
  for (const [level, message, component] of early) app.log[level]({ component }, message);
  warden.policies.onReload((why, result) => {
    if (result.ok) app.log.info({ bundle: result.bundle, why }, 'policies in force');
    else app.log.error({ why, problems: result.diagnostics.map(formatDiagnostic) }, 'policy change refused; the previous policies keep serving');
  });
  const watcher = warden.config.server.watch_policies
    ? watchPolicies(warden.config.policiesDir, () => warden.policies.reload('policy folder changed'), { loadedAt })
    : undefined;
  await watcher?.ready;
  const sweep = setInterval(() => {
    warden.sweep().then(
      (expired) => expired.length && app.log.info({ expired: expired.map((a) => a.id) }, 'approvals expired'),
      (e) => app.log.error({ err: e }, 'approval sweep failed'),
    );
  }, durationMs(warden.config.approvals.sweep_interval));
  sweep.unref();

  const host = options.host ?? warden.config.server.host;
  const port = options.port ?? warden.config.server.port;
  try {
    await app.listen({ host, port });
  } catch (e) {
    watcher?.close();
    clearInterval(sweep);
    await warden.close();
    await telemetry.shutdown();
    throw e;
  }
  const address = app.server.address();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${typeof address === 'object' && address ? address.port : port}`;
  let closing: Promise<void> | undefined;
  return {
    app,
    warden,
    telemetry,
    url,
    close() {
      closing ??= (async () => {
        watcher?.close();
        clearInterval(sweep);
        // Requests in flight get server.shutdown_grace to finish; then every connection still open
        // is closed, so that no client (a stalled reader, a browser's spare connection) holds the
        // shutdown, and the decision log is always written.
        const grace = setTimeout(() => app.server.closeAllConnections(), durationMs(warden.config.server.shutdown_grace));
        try {
          await app.close();
        } finally {
          clearTimeout(grace);
        }
        await warden.close();
        // Last: the spans of the requests that just finished are exported (bounded by otlp.timeout).
        await telemetry.shutdown();
      })();
      return closing;
    },
  };
}
