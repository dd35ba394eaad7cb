/**
 * Closing the server finishes: it never waits on the decision event stream (streams already open,
 * streams whose requests were still on their way in when closing began), nor on a connection a
 * client opened and never used — browsers open those ahead of need, and `server.close()` left
 * them open (their headers timeout stops being checked once the server closes), so a dashboard
 * left open kept the gateway from shutting down.
 */
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import { buildServer } from '../../src/surfaces/http/server.js';
import { teardown } from '../helpers/teardown.js';
import { startHarness, type Harness } from '../pipeline/harness.js';

const VIEWER = 'viewer-token-for-events-close-0123';
let h: Harness;

beforeAll(async () => {
  h = await startHarness(`server: { watch_policies: false }
humans: { tokens: [{ id: vic, token_hash: "${sha256(VIEWER)}", roles: [viewer], tenant: acme-corp }] }`);
});
afterAll(() => h?.close());

it('closes while streams are open and while more are arriving, every time', async () => {
  for (let round = 0; round < 12; round++) {
    const app = await buildServer(h.warden, { logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/events/decisions`;
    const controller = new AbortController();
    const stream = (): Promise<number | string> =>
      fetch(url, { headers: { authorization: `Bearer ${VIEWER}` }, signal: controller.signal }).then(
        async (r) => {
          // Drain to the end: a stream ended by the server finishes; one left open never does.
          await r.text().catch(() => undefined);
          return r.status;
        },
        (e: Error) => e.name,
      );
    const first = await fetch(url, { headers: { authorization: `Bearer ${VIEWER}` }, signal: controller.signal });
    expect(first.status).toBe(200);
    // Requests in every stage of their way in while closing begins, spread over a few ms.
    const late = Array.from({ length: 8 }, (_, i) => new Promise((r) => setTimeout(r, i % 4)).then(stream));
    await new Promise((r) => setTimeout(r, round % 4));
    await teardown({ [`app.close() in round ${round}`]: () => app.close() }, 5_000);
    // Every late stream was either served and then ended, or refused; none is left hanging.
    const statuses = await Promise.race([Promise.all(late), new Promise((r) => setTimeout(() => r('hung'), 5_000))]);
    controller.abort();
    expect(statuses).not.toBe('hung');
    for (const s of statuses as (number | string)[]) expect([200, 503, 'TypeError']).toContain(s);
  }
}, 120_000);

it('closes while a client holds a connection it never sent a request on', async () => {
  const app = await buildServer(h.warden, { logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  // Accepted on the server side before closing begins.
  await new Promise((r) => setTimeout(r, 50));
  try {
    await teardown({ 'app.close() with an unused connection open': () => app.close() }, 5_000);
    await teardown({ 'the unused connection is closed by the server': () => ended }, 5_000);
  } finally {
    socket.destroy();
  }
});
