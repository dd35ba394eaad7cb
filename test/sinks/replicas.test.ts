/**
 * Two replicas on one Postgres schema (and one Redis prefix), both configured with the same HTTP
 * sink: only the holder of the sink's lease delivers, so the receiver gets each record once,
 * whichever replica wrote it; when the holder stops, the other takes the lease and goes on from
 * the shared cursor.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/store/records.js';
import { deleteKeys, dropSchema } from '../scale/cluster.js';
import { expectComplete, readyz, Receiver, startSinkWarden, until, type SinkWarden } from './fixture.js';

const SERVER = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const id = randomBytes(6).toString('hex');
const schema = `t_${id}`;
const prefix = `t_${id}:`;
const receiver = new Receiver();
const replicas: SinkWarden[] = [];

afterAll(async () => {
  for (const r of replicas) await r.close().catch(() => undefined);
  await receiver.stop();
  await dropSchema(SERVER, schema);
  await deleteKeys('redis://127.0.0.1:6379', prefix);
});

const arrivals = () => receiver.bodies.flatMap((b) => b.body.trimEnd().split('\n').map((line) => JSON.parse(line) as DecisionRecord));
const distinct = () => new Set(arrivals().map((r) => r.seq)).size;

it('delivers each record once from whichever replica holds the lease, and fails over', { timeout: 90_000 }, async () => {
  await receiver.start();
  const config = `redis: { url: "redis://127.0.0.1:6379", prefix: "${prefix}" }
audit:
  sinks:
    - { name: siem, type: http, url: "${receiver.url}/ingest", batch: { max_records: 10 }, retry: { initial: 20ms, max: 200ms }, poll_interval: 100ms }
`;
  const storage = `${SERVER}?schema=${schema}`;
  replicas.push(await startSinkWarden(mkdtempSync(join(tmpdir(), 'warden-sink-r1-')), config, storage));
  replicas.push(await startSinkWarden(mkdtempSync(join(tmpdir(), 'warden-sink-r2-')), config, storage));
  const [a, b] = replicas as [SinkWarden, SinkWarden];
  const head = async () => (await a.warden.store.lastDecision())?.seq ?? 0;

  await a.calls(10);
  await b.calls(10);
  await until(async () => distinct() === (await head()), 'the records of both replicas');
  const leaders = replicas.map((r) => r.warden.sinks.status()[0]!.leader);
  expect(leaders.filter(Boolean)).toHaveLength(1);
  expect(expectComplete(arrivals(), await head()).duplicates).toBe(0);
  // The replica that does not deliver reports the shared cursor: no lag, ready.
  await until(() => replicas.every((r) => r.warden.sinks.status()[0]!.lag === 0), 'both replicas to report no lag');
  for (const r of replicas) expect((await readyz(r.base)).json.status).toBe('ready');

  // The holder stops; the other takes the lease and delivers what is written next.
  const holder = leaders[0] ? a : b;
  const other = holder === a ? b : a;
  await holder.close();
  replicas.splice(replicas.indexOf(holder), 1);
  await other.calls(10);
  const last = (await other.warden.store.lastDecision())!.seq;
  await until(() => distinct() === last, 'the records after the failover');
  expect(other.warden.sinks.status()[0]!.leader).toBe(true);
  expect(last).toBeGreaterThanOrEqual(30);
  expectComplete(arrivals(), last);
});
