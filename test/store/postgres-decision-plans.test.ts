import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionQuery } from '../../src/store/records.js';
import { decisionSelect } from '../../src/store/postgres/decision-search.js';
import { DECISION_COLUMNS, list } from '../../src/store/postgres/rows.js';
import { parsePostgresUrl, settingsOf } from '../../src/store/postgres/connection.js';
import { migrateSchema, POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.js';

/*
 * Which index Postgres's planner picks for each filter the explorer and the API offer, on a log of
 * 20,000 generated records (ANALYZEd), on the schema as migrated. A dropped or reshaped index
 * that turns one of these into a sequential scan fails here. Each test file gets schemas of its
 * own on the machine's shared server (as postgres-store.test.ts), dropped at the end.
 */
const SERVER = process.env.WARDEN_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const RECORDS = 20_000;
const schemas: string[] = [];
let client: pg.Client;

async function migrated(upTo?: number): Promise<string> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  const target = parsePostgresUrl(`${SERVER}?schema=${schema}`);
  await migrateSchema(target, settingsOf(), POSTGRES_MIGRATIONS.filter((m) => upTo === undefined || m.id <= upTo));
  return schema;
}

/** 200 agents, 100 tools, 4 tenants and a small one, 2,000 sessions (a third of the records without), 500 rules (a tenth without). */
async function fill(schema: string): Promise<void> {
  await client.query(`INSERT INTO "${schema}".decisions (seq, id, time, kind, request_id, tenant, session_id, agent_id, action, resource_type, resource_id,
      effect, reason, stage, policy, rule, obligations, outcome, latency_us, args, details, prev_hash, hash)
    SELECT i, 'dec_' || i, 1700000000000 + i * 10, 'decision', 'req-' || i,
      CASE WHEN i % 100 = 0 THEN 'small-corp' ELSE 'tenant-' || (i % 4) END,
      CASE WHEN i % 3 = 0 THEN NULL ELSE 'sess-' || (i % 2000) END,
      'agent-' || (i % 200), 'call', CASE WHEN i % 50 = 0 THEN 'warden' ELSE 'tool' END, 'tool_' || (i % 100),
      CASE WHEN i % 20 = 0 THEN 'require_approval' WHEN i % 5 = 0 THEN 'deny' ELSE 'allow' END,
      'agent may call tool w' || (i % 50) || CASE WHEN i % 5000 = 7 THEN ' zebrafish' ELSE '' END,
      'policy', 'policy-' || (i % 10), CASE WHEN i % 10 = 0 THEN NULL ELSE 'rule-' || (i % 500) END,
      '[]', 'executed', 100, '{}', '{}', 'sha256:prev', 'sha256:hash'
    FROM generate_series(1, ${RECORDS}) AS i`);
  await client.query(`ANALYZE "${schema}".decisions`);
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** The node types and index names of a listing's plan, e.g. "Index Scan idx_decisions_rule". */
async function planOf(schema: string, query: DecisionQuery): Promise<string[]> {
  const { text, values } = decisionSelect(list(DECISION_COLUMNS), { limit: 100, ...query });
  await client.query(`SET search_path TO "${schema}"`);
  const result = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${text}`, values);
  const out: string[] = [];
  const walk = (node: PlanNode): void => {
    out.push(node['Index Name'] ? `${node['Node Type']} ${node['Index Name']}` : node['Node Type']);
    node.Plans?.forEach(walk);
  };
  walk(result.rows[0]!['QUERY PLAN'][0]!.Plan);
  return out;
}

/** Filters answered through an index: the filter, the index it must use. */
const INDEXED: Array<[string, DecisionQuery, string]> = [
  ['agent', { agentId: 'agent-17' }, 'idx_decisions_agent_time'],
  ['tool', { tool: 'tool_42' }, 'idx_decisions_resource'],
  ['small tenant', { tenant: 'small-corp' }, 'idx_decisions_tenant'],
  ['session (partial index, migration 6)', { sessionId: 'sess-1234' }, 'idx_decisions_session'],
  ['session view: session + tenant, oldest first', { sessionId: 'sess-1234', tenant: 'tenant-2', order: 'asc' }, 'idx_decisions_session'],
  ['request id', { requestId: 'req-777' }, 'idx_decisions_request'],
  ['rule (partial index, migration 6)', { rule: 'rule-321' }, 'idx_decisions_rule'],
  ['time range', { since: 1700000000000 + 5000 * 10, until: 1700000000000 + 5100 * 10 }, 'idx_decisions_time'],
  ['cursor, newest first', { beforeSeq: 10_000 }, 'decisions_pkey'],
  ['cursor, oldest first (tailing, export)', { afterSeq: 10_000, order: 'asc' }, 'decisions_pkey'],
];

/*
 * Filters deliberately answered by walking the log in seq order through its primary key (the
 * listing's order: a page stops after `limit` matches): effect has three values, a policy holds a
 * large share of the records, "not this resource type" matches nearly all, `since` alone is a
 * suffix of the log. No index of their own (none is written per record for them).
 */
const WALKED: Array<[string, DecisionQuery]> = [
  ['no filter', {}],
  ['effect', { effect: 'deny' }],
  ['policy', { policy: 'policy-3' }],
  ['not a resource type', { notResourceType: 'warden' }],
  ['since', { since: 1700000000000 }],
];

describe('Postgres decision listings: the planner uses an index for each indexed filter', () => {
  let schema: string;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: SERVER });
    await client.connect();
    schema = await migrated();
    await fill(schema);
  }, 60_000);

  afterAll(async () => {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
    await client.end();
  });

  for (const [what, query, index] of INDEXED) {
    it(what, async () => {
      const plan = await planOf(schema, query);
      expect(plan.some((step) => step.endsWith(` ${index}`)), plan.join(' > ')).toBe(true);
      expect(plan).not.toContain('Seq Scan');
    });
  }

  it('text: the GIN index of reasons answers a word match', async () => {
    // On 20,000 records the planner rightly prefers walking the primary key for a first page (a
    // prefix match's selectivity is a guess); with plain index scans off, what is left is the GIN
    // index (a bitmap scan) or a sequential scan: the index must exist and match REASON_WORDS.
    await client.query('SET enable_indexscan = off');
    try {
      const plan = await planOf(schema, { text: 'zebrafish' });
      expect(plan).toContain('Bitmap Index Scan idx_decisions_reason_words');
      expect(plan).not.toContain('Seq Scan');
    } finally {
      await client.query('RESET enable_indexscan');
    }
  });

  for (const [what, query] of WALKED) {
    it(`${what}: a walk of the primary key in seq order (accepted)`, async () => {
      const plan = await planOf(schema, query);
      expect(plan).toContain('Index Scan decisions_pkey');
      expect(plan).not.toContain('Seq Scan');
      expect(plan).not.toContain('Sort');
    });
  }

  it('migration 6: a log at schema 5 migrates; every listing answers the same records; the two indexes leave out NULLs', async () => {
    const old = await migrated(5);
    await fill(old);
    const queries: DecisionQuery[] = [{ sessionId: 'sess-1234' }, { sessionId: 'sess-7', tenant: 'tenant-3', order: 'asc' }, { rule: 'rule-321' }, { rule: 'rule-1', order: 'asc' }, { agentId: 'agent-10', effect: 'deny' }];
    const answers = async (): Promise<number[][]> => {
      await client.query(`SET search_path TO "${old}"`);
      const out: number[][] = [];
      for (const q of queries) {
        const { text, values } = decisionSelect('seq', { limit: 1000, ...q });
        out.push((await client.query<{ seq: string }>(text, values)).rows.map((r) => Number(r.seq)));
      }
      return out;
    };
    const before = await answers();
    expect(before.every((seqs) => seqs.length > 0)).toBe(true);
    const target = parsePostgresUrl(`${SERVER}?schema=${old}`);
    const result = await migrateSchema(target, settingsOf());
    expect(result.applied.map((m) => m.id)).toEqual(POSTGRES_MIGRATIONS.filter((m) => m.id > 5).map((m) => m.id));
    expect(await answers()).toEqual(before);
    const defs = await client.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname IN ('idx_decisions_session', 'idx_decisions_rule') ORDER BY indexname",
      [old],
    );
    expect(defs.rows.map((r) => [r.indexname, / WHERE \((\w+) IS NOT NULL\)$/.exec(r.indexdef)?.[1]])).toEqual([
      ['idx_decisions_rule', 'rule'],
      ['idx_decisions_session', 'session_id'],
    ]);
  }, 60_000);
});
