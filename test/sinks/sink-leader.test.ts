/**
 * A sink's `leader` status while it delivers, with the lease taken over from another replica on
 * the machine's Postgres: the replica that delivers must say it leads from its first delivery on
 * (CI once saw the receiver hold every record while the new holder still said `leader: false`).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { SinkFollower } from '../../src/audit/sinks/sink-follower.js';
import type { SinkDestination } from '../../src/audit/sinks/destination.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { decision } from '../store/fixtures.js';
import { until } from './fixture.js';

const SERVER = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_${randomBytes(6).toString('hex')}`;
const stores: PostgresStore[] = [];

afterAll(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

it('a replica that takes over the lease reports leader: true while it delivers', { timeout: 30_000 }, async () => {
  const holder = await PostgresStore.open(`${SERVER}?schema=${schema}`);
  const taker = await PostgresStore.open(`${SERVER}?schema=${schema}`);
  stores.push(holder, taker);
  expect(await holder.whileLeader('sink:siem', async () => undefined)).toBe(true);

  const leaderDuringDelivery: boolean[] = [];
  const destination: SinkDestination = {
    type: 'test',
    target: 'memory',
    deliver: async () => void leaderDuringDelivery.push(follower.status().leader),
    close: async () => undefined,
  };
  const follower = new SinkFollower({
    name: 'siem',
    destination,
    store: taker,
    leases: taker,
    maxRecords: 10,
    maxWaitMs: 0,
    retry: { initialMs: 10, maxMs: 50 },
    pollMs: 20,
    start: 'first',
    clock: Date.now,
    log: () => undefined,
  });
  await taker.appendDecisions([decision(1), decision(2)]);
  await follower.start();
  try {
    await until(() => follower.status().leader === false, 'the follower to see the lease held');
    expect(leaderDuringDelivery).toEqual([]);

    await holder.close();
    await until(() => leaderDuringDelivery.length > 0, 'the first delivery after the takeover');
    expect(leaderDuringDelivery).toEqual([true]);
    expect(follower.status().leader).toBe(true);
  } finally {
    await follower.close();
  }
});
