/**
 * The NATS sink against the real server at 127.0.0.1:4222: each test creates a JetStream stream
 * for a subject of its own and deletes it after. Warden is restarted on the same SQLite file
 * mid-stream, and once as after a crash between a publish and the cursor's update (the cursor
 * set back in the database): the records published again carry the same `Nats-Msg-Id`, so the
 * stream keeps each record once, in seq order, and the chain of what it holds verifies. A NATS
 * server of the test's own (the same binary, JetStream on a temp folder) is killed mid-stream and
 * started again: the sink shows its lag and failures meanwhile, then catches up with nothing lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ChainVerifier } from '../../src/audit/hash-chain.js';
import type { DecisionRecord } from '../../src/store/records.js';
import { expectComplete, metric, readyz, startSinkWarden, until, type SinkWarden } from './fixture.js';

let nc: NatsConnection;
let w: SinkWarden | undefined;
const streams: string[] = [];
const decoder = new TextDecoder();

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
});
afterEach(async () => {
  await w?.close();
  w = undefined;
});
afterAll(async () => {
  const jsm = await nc.jetstreamManager();
  for (const name of streams) await jsm.streams.delete(name).catch(() => undefined);
  await nc.drain();
});

/** Everything published on `subject`, duplicates included, with its Nats-Msg-Id. */
function listen(subject: string): { arrivals: Array<{ record: DecisionRecord; msgId: string | undefined }>; sub: Subscription } {
  const arrivals: Array<{ record: DecisionRecord; msgId: string | undefined }> = [];
  const sub = nc.subscribe(subject, {
    callback: (_err, msg) => arrivals.push({ record: JSON.parse(decoder.decode(msg.data)) as DecisionRecord, msgId: msg.headers?.get('Nats-Msg-Id') }),
  });
  return { arrivals, sub };
}

const sinkConfig = (subject: string, jetstream: boolean, server = 'nats://127.0.0.1:4222') => `audit:
  sinks:
    - name: bus
      type: nats
      servers: [${server}]
      subject: ${subject}
      jetstream: ${jetstream}
      batch: { max_records: 4 }
      retry: { initial: 20ms, max: 200ms }
      poll_interval: 100ms
`;

const head = async () => (await w!.warden.store.lastDecision())?.seq ?? 0;

it('keeps every record once in a JetStream stream across Warden restarts and a redelivery', { timeout: 60_000 }, async () => {
  const id = randomUUID().slice(0, 8);
  const subject = `warden.test.sinks.${id}`;
  const stream = `WARDEN_SINK_TEST_${id}`;
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [subject] });
  streams.push(stream);
  const { arrivals, sub } = listen(subject);
  const stored = async () => Number((await jsm.streams.info(stream)).state.messages);

  const dir = mkdtempSync(join(tmpdir(), 'warden-sink-nats-'));
  const config = sinkConfig(subject, true);
  w = await startSinkWarden(dir, config);
  await w.calls(12);
  await until(async () => (await stored()) === (await head()), 'the first records in the stream');

  // Restart mid-stream: records written just before the close may still be undelivered.
  await w.calls(10);
  await w.close();
  w = await startSinkWarden(dir, config);
  await w.calls(8);
  await until(async () => (await stored()) === (await head()), 'the records after the restart');

  // As after a crash between a PubAck and the cursor's update: the cursor is 6 records behind.
  await w.close();
  w = undefined;
  const db = new Database(join(dir, 'warden.db'));
  const before = db.prepare<[], { seq: number }>("SELECT seq FROM sink_cursors WHERE name = 'bus'").get()!.seq;
  db.prepare("UPDATE sink_cursors SET seq = seq - 6 WHERE name = 'bus'").run();
  db.close();
  w = await startSinkWarden(dir, config);
  await w.calls(4);
  const last = await head();
  expect(last).toBe(before + 4);
  await until(async () => (await stored()) === last && arrivals.length >= last + 6, 'the redelivery and the new records');

  // Published: every seq, in order, six of them twice with the same id (the record's id as Nats-Msg-Id).
  await nc.flush();
  const { duplicates } = expectComplete(
    arrivals.map((a) => a.record),
    last,
  );
  expect(duplicates).toBe(6);
  for (const a of arrivals) expect(a.msgId).toBe(a.record.id);
  // Stored: each record once, in seq order, a chain that verifies.
  const kept: DecisionRecord[] = [];
  for (let seq = 1; seq <= last; seq++) kept.push(JSON.parse(decoder.decode((await jsm.streams.getMessage(stream, { seq })).data)) as DecisionRecord);
  expect(kept.map((r) => r.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  expect(new ChainVerifier().check(kept)).toEqual([]);
  expect(kept.map((r) => r.hash)).toEqual((await w.warden.store.scanDecisions(0, last)).map((r) => r.hash));
  sub.unsubscribe();
});

it('publishes on core NATS when jetstream is false', { timeout: 30_000 }, async () => {
  const subject = `warden.test.sinks.core.${randomUUID().slice(0, 8)}`;
  const { arrivals, sub } = listen(subject);
  await nc.flush();
  w = await startSinkWarden(mkdtempSync(join(tmpdir(), 'warden-sink-nats-core-')), sinkConfig(subject, false));
  await w.calls(9);
  const last = await head();
  await until(() => arrivals.length >= last, 'the records on the subject');
  expectComplete(
    arrivals.map((a) => a.record),
    last,
  );
  sub.unsubscribe();
});

/** A NATS server of this test's own (JetStream, its store in a temp folder), to kill and start again. */
class PrivateNats {
  private process?: ChildProcess;
  readonly store = mkdtempSync(join(tmpdir(), 'warden-nats-store-'));
  port = 0;

  async start(): Promise<void> {
    if (!this.port) {
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      this.port = (probe.address() as { port: number }).port;
      await new Promise<void>((r) => probe.close(() => r()));
    }
    this.process = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.store], { stdio: 'ignore' });
    await until(async () => {
      try {
        await (await connect({ servers: this.url, reconnect: false })).close();
        return true;
      } catch {
        return false;
      }
    }, 'the private NATS server to answer');
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Killed, as by a crash (what it wrote is in its files; the OS keeps it). */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

it('catches up after its NATS server is killed and started again, lag and failures visible meanwhile', { timeout: 90_000 }, async () => {
  const server = new PrivateNats();
  await server.start();
  let admin: NatsConnection | undefined;
  try {
    const subject = 'warden.decisions';
    const stream = 'WARDEN_DECISIONS';
    admin = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm = await admin.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [subject] });
    const stored = async () => Number((await jsm.streams.info(stream)).state.messages);

    w = await startSinkWarden(mkdtempSync(join(tmpdir(), 'warden-sink-nats-kill-')), sinkConfig(subject, true, server.url).replace('poll_interval: 100ms', 'poll_interval: 100ms\n      timeout: 1s'));
    await w.calls(10);
    await until(async () => (await stored()) === (await head()), 'the first records');

    await server.kill();
    await w.calls(12);
    await until(async () => (await metric(w!.base, 'warden_sink_failing', 'bus')) === 1, 'the sink to report failing');
    expect(await metric(w.base, 'warden_sink_lag_records', 'bus')).toBeGreaterThanOrEqual(12);
    const down = await readyz(w.base);
    expect(down.json.status).toBe('degraded');
    expect(down.json.checks.sinks!.detail).toMatch(/bus is \d+ record\(s\) behind, failing since/);

    await server.start();
    await w.calls(5);
    const last = await head();
    await until(async () => (await metric(w!.base, 'warden_sink_lag_records', 'bus')) === 0 && (await stored()) === last, 'the backlog after the restart');
    expect((await readyz(w.base)).json.status).toBe('ready');
    const kept: DecisionRecord[] = [];
    for (let seq = 1; seq <= last; seq++) kept.push(JSON.parse(decoder.decode((await jsm.streams.getMessage(stream, { seq })).data)) as DecisionRecord);
    expect(expectComplete(kept, last).duplicates).toBe(0);
  } finally {
    await admin?.close().catch(() => undefined);
    await w?.close();
    w = undefined;
    await server.kill();
  }
});
