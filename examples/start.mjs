/**
 * `npm start`: the example tool service on 127.0.0.1:7410 (WARDEN_TOOLS_PORT to change it) and
 * `warden serve` with the example config (SQLite in examples/warden.db) on 127.0.0.1:8080 (PORT).
 * The example config reads the tools' port as ${env:WARDEN_TOOLS_PORT:-7410}.
 */
import { fileURLToPath } from 'node:url';
import { serve } from '../dist/surfaces/http/serve.js';
import { startToolServer } from './tools/tool-server.mjs';

const config = fileURLToPath(new URL('./warden.yaml', import.meta.url));
const port = process.env.PORT ? Number(process.env.PORT) : undefined;
const toolsPort = Number(process.env.WARDEN_TOOLS_PORT ?? 7410);

let tools;
try {
  tools = await startToolServer({ port: toolsPort, token: 'example-tools-token' });
} catch (e) {
  console.error(`error: cannot start the example tools on 127.0.0.1:${toolsPort} (${e.code ?? e.message}); is another copy running? (WARDEN_TOOLS_PORT changes the port)`);
  process.exit(1);
}
process.env.WARDEN_TOOLS_PORT = new URL(tools.url).port; // port 0 asked for any free port
let server;
try {
  server = await serve(config, { port, logger: { level: process.env.LOG_LEVEL ?? 'info' } });
} catch (e) {
  console.error(`error: cannot start Warden: ${e.message}`);
  await tools.close();
  process.exit(1);
}

console.log(`
Warden is running.
  gateway      ${server.url}        (POST /v1/tools/call, /v1/decisions, …)
  API docs     ${server.url}/docs
  metrics      ${server.url}/metrics
  example tools ${tools.url}
  decision log ${server.warden.config.storage}

Try it (demo credentials from examples/warden.yaml):
  curl -s ${server.url}/v1/tools/call -H 'authorization: Bearer wk_supportdemo_demo-key-support-agent-0001' \\
       -H 'content-type: application/json' \\
       -d '{"agent_id":"support-agent","request_id":"r-'$RANDOM'","tool":"read_orders","arguments":{"limit":5}}'
Stop with Ctrl-C.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: finishing requests in flight and writing the decision log…`);
    await server.close();
    await tools.close();
    process.exit(0);
  });
}
