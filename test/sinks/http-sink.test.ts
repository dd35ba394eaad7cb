/**
 * The HTTP sink against a real receiver on 127.0.0.1: it fails the first requests, is stopped
 * and started again mid-run, and Warden itself is restarted on the same SQLite file mid-stream.
 * Every record arrives, in order, none lost; duplicates (if any) carry the same id; the chain of
 * what arrived verifies. While the receiver is down, /metrics and /readyz show the lag.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/store/records.js';
import { expectComplete, metric, readyz, Receiver, startSinkWarden, until, type SinkWarden } from './fixture.js';

const receiver = new Receiver();
let w: SinkWarden | undefined;
afterAll(async () => {
  await w?.close();
  await receiver.stop();
});

const arrivals = () => receiver.bodies.flatMap((b) => b.body.trimEnd().split('\n').map((line) => JSON.parse(line) as DecisionRecord));
const head = async () => (await w!.warden.store.lastDecision())?.seq ?? 0;
const arrivedUpTo = (seq: number) => () => new Set(arrivals().map((r) => r.seq)).size >= seq;

it('delivers every record over HTTP across failures, a receiver restart and a Warden restart', { timeout: 60_000 }, async () => {
  await receiver.start();
  receiver.failNext = 3;
  const dir = mkdtempSync(join(tmpdir(), 'warden-sink-http-'));
  const config = `audit:
  sinks:
    - name: siem
      type: http
      url: ${receiver.url}/ingest?token=\${secret:siem_token}
      headers: { authorization: "Bearer \${secret:siem_token}" }
      batch: { max_records: 7, max_wait: 50ms }
      retry: { initial: 20ms, max: 200ms }
      poll_interval: 100ms
      max_lag: 5
secrets:
  providers: [{ type: env, prefix: SINKTEST_ }]
`;
  process.env.SINKTEST_SIEM_TOKEN = 'sekret-token-123';
  w = await startSinkWarden(dir, config);

  await w.calls(20);
  await until(arrivedUpTo(await head()), 'the first records');
  expect(receiver.requests).toBeGreaterThan(receiver.bodies.length); // the first 3 were refused and sent again
  expect(receiver.bodies[0]!.headers.authorization).toBe('Bearer sekret-token-123');
  expect(receiver.bodies[0]!.url).toBe('/ingest?token=sekret-token-123');
  expect(receiver.bodies[0]!.headers['content-type']).toBe('application/x-ndjson');
  expect(Number(receiver.bodies[0]!.headers['x-warden-first-seq'])).toBe(1);

  // The receiver goes away: records pile up in the log, visibly.
  await receiver.stop();
  await w.calls(15);
  await until(async () => (await metric(w!.base, 'warden_sink_failing', 'siem')) === 1, 'the sink to report failing');
  expect(await metric(w.base, 'warden_sink_lag_records', 'siem')).toBeGreaterThanOrEqual(15);
  expect(await metric(w.base, 'warden_sink_failures_total', 'siem')).toBeGreaterThan(3);
  const down = await readyz(w.base);
  expect(down.status).toBe(200);
  expect(down.json.status).toBe('degraded');
  expect(down.json.checks.sinks).toMatchObject({ ok: true, degraded: true });
  expect(down.json.checks.sinks!.detail).toMatch(/siem is \d+ record\(s\) behind, failing since/);
  // What the public /readyz says of the failure names the receiver's origin, never the secret in its URL.
  expect(down.json.checks.sinks!.errors!.join()).toContain(`http://127.0.0.1:${receiver.port}/…`);
  expect(JSON.stringify(down.json)).not.toMatch(/sekret|token=/);

  // Logged once when the sink started failing (the refused first requests) and once when it recovered, not per attempt.
  const failing = () => w!.logs.filter((l) => l.includes('sink "siem"') && l.includes('cannot deliver'));
  await until(async () => failing().length === 2, 'the outage to be logged');
  expect(failing()[0]).toMatch(/^warn: .*answered HTTP 503; retrying with backoff/);
  expect(failing()[1]).toMatch(/^warn: .*fetch failed \(ECONNREFUSED\)/);
  expect(w.logs.filter((l) => l.includes('delivers again'))).toHaveLength(1);

  // Warden restarts (same SQLite file) while the receiver is still down, and keeps writing.
  await w.close();
  w = await startSinkWarden(dir, config);
  await w.calls(10);
  await receiver.start(receiver.port);
  await until(arrivedUpTo(await head()), 'the backlog after the receiver came back');
  await until(async () => (await metric(w!.base, 'warden_sink_lag_records', 'siem')) === 0, 'the lag to reach 0');
  expect((await readyz(w.base)).json.status).toBe('ready');
  expect(await metric(w.base, 'warden_sink_failing', 'siem')).toBe(0);
  expect(await metric(w.base, 'warden_sink_last_success_timestamp_seconds', 'siem')).toBeGreaterThan(0);

  // More records after recovery, then a last check of everything that arrived.
  await w.calls(5);
  const last = await head();
  await until(arrivedUpTo(last), 'the last records');
  expect(last).toBe(50);
  const { duplicates } = expectComplete(arrivals(), last);
  // A clean restart loses nothing and repeats nothing: the cursor moved only after each 2xx.
  expect(duplicates).toBe(0);
  // Sent exactly as stored: the log's records, field for field.
  expect(arrivals().slice(0, last).map((r) => r.hash)).toEqual((await w.warden.store.scanDecisions(0, last)).map((r) => r.hash));
});
