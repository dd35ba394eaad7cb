import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordedRequestOf } from '../../src/model/compact-recorded-request.js';
import { RECORDED_REQUEST_KEY } from '../../src/model/recorded-request.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { loadPolicyFolder } from '../../src/policy/load.js';
import { replay } from '../../src/replay/replay.js';
import { createWarden, type Warden } from '../../src/services/warden.js';
import { scanPages } from '../../src/store/decision-pages.js';
import type { DecisionRecord } from '../../src/store/records.js';

/**
 * A session's history (`session.recent`, up to 20 calls) is kept in a decision record only when a
 * policy in force may read it; otherwise the record leaves it out and says so, and replay treats
 * it as unknown: a candidate that reads it is reported undetermined for those records, not guessed.
 */

const policy = (when: string, reason = 'reads are allowed') => `id: reads
version: "1"
rules:
  - id: reads
    effect: allow
    tools: [read_orders]
    when: ${JSON.stringify(when)}
    reason: ${JSON.stringify(reason)}
`;

const readsHistory = (when: string, reason?: string): boolean => compilePolicies([{ file: 'p.yaml', text: policy(when, reason) }]).policySet!.readsSessionHistory;

describe('whether a policy set reads the session history', () => {
  it('is found in conditions and in reasons, whichever way they reach the history', () => {
    expect(readsHistory("recent_count(session, 'high') < 3")).toBe(true);
    expect(readsHistory("!called_before(session, 'export_*')")).toBe(true);
    expect(readsHistory('size(session.recent) < 20')).toBe(true);
    expect(readsHistory("session.recent.exists(r, r.tool == 'delete_file') == false")).toBe(true);
    expect(readsHistory('true', 'after ${size(session.recent)} calls')).toBe(true);
  });

  it('is not claimed by conditions that read other parts of the session or nothing of it', () => {
    expect(readsHistory('!session.tainted')).toBe(false);
    expect(readsHistory('session.callsUsed < 100 && session.spend < 50.0')).toBe(false);
    expect(readsHistory("'support' in agent.roles", 'allowed for ${agent.id}')).toBe(false);
  });
});

interface Run {
  warden: Warden;
  dir: string;
  records: DecisionRecord[];
}

/** A Warden with `when` as its one rule, three calls of one session, its decision records. */
async function run(when: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-history-'));
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies', 'reads.yaml'), policy(when));
  writeFileSync(
    join(dir, 'warden.yaml'),
    `storage: sqlite:./warden.db
policies: ./policies
decision_cache: { ttl: 0s }
agents:
  - { id: support-agent, roles: [support], tenant: acme, trust: medium }
server: { watch_policies: false }
`,
  );
  const warden = await createWarden({ config: join(dir, 'warden.yaml') });
  warden.guard(async () => ({ orders: [] }), { name: 'read_orders', effect: 'read', risk: 'low' }, { agentId: 'support-agent' });
  for (let i = 0; i < 3; i++) {
    const result = await warden.call({ agentId: 'support-agent', tenant: 'acme', tool: 'read_orders', args: { limit: i + 1 }, sessionId: 'sess-1', via: 'sdk' });
    expect(result.status).toBe('executed');
  }
  await warden.audit.flush();
  const records = (await warden.store.scanDecisions(0, 100)).filter((r) => r.kind === 'decision' && r.resourceId === 'read_orders');
  expect(records).toHaveLength(3);
  return { warden, dir, records };
}

const recordedOf = (r: DecisionRecord) => recordedRequestOf(r.details[RECORDED_REQUEST_KEY], r)!;

describe('decision records of a session', () => {
  let unread: Run;
  let read: Run;
  beforeAll(async () => {
    unread = await run("'support' in agent.roles && !session.tainted");
    read = await run("recent_count(session, 'high') < 3");
  }, 60_000);
  afterAll(async () => {
    await unread?.warden.close();
    await read?.warden.close();
  });

  it('leave the history out when no policy reads it, and list it as not recorded', () => {
    const third = recordedOf(unread.records[2]!);
    expect(third.request.session).toMatchObject({ callsUsed: 2, tainted: false });
    expect(third.request.session).not.toHaveProperty('recent');
    expect(third.redacted).toContainEqual(['session', 'recent']);
    // Nothing of the entries is stored: no call's time ("at") anywhere in the record.
    expect(JSON.stringify(unread.records[2]!.details)).not.toContain('"at":');
    expect(JSON.stringify(read.records[2]!.details)).toContain('"at":');
  });

  it('keep the history when a policy in force reads it', () => {
    const third = recordedOf(read.records[2]!);
    expect((third.request.session as { recent: Array<{ tool: string }> }).recent.map((e) => e.tool)).toEqual(['read_orders', 'read_orders']);
    expect(third.redacted).not.toContainEqual(['session', 'recent']);
  });

  it('replay a candidate that reads the history as undetermined where it was left out, and decided where it was kept', async () => {
    const dir = join(unread.dir, 'candidate');
    mkdirSync(dir);
    // Denies a session's third read: it would change the third record of each run.
    writeFileSync(join(dir, 'reads.yaml'), policy("recent_count(session, 'read') < 2"));
    const candidate = (await loadPolicyFolder(dir)).policySet!;
    const withoutHistory = await replay(scanPages(unread.warden.store, {}), { current: unread.warden.policySet, candidate });
    expect(withoutHistory.changed).toBe(0);
    expect(withoutHistory.undetermined).toBe(3);
    expect(withoutHistory.undeterminedBy).toEqual([expect.objectContaining({ rule: 'reads/reads', path: 'session.recent', count: 3 })]);
    const withHistory = await replay(scanPages(read.warden.store, {}), { current: read.warden.policySet, candidate });
    expect(withHistory.undetermined).toBe(0);
    expect(withHistory.changed).toBe(1);
    expect(withHistory.transitions.find((t) => t.transition === 'allow→deny')?.count).toBe(1);
  });
});
