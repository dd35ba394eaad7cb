/**
 * Replay benchmark: `warden replay` over a decision log of BENCH_RECORDS (1,000,000) records.
 *
 *   npm run bench:replay       (builds, then node bench/replay/run.js)
 *
 * Environment knobs (optional): BENCH_RECORDS=1000000, BENCH_TEMPLATES=5000 (distinct requests),
 * BENCH_ANCHOR=200000 (requests in the anchor loop), BENCH_THREADS=1,2 (one replay per count, in that order),
 * BENCH_KEEP=1 (keep the temp database). results.md is rewritten only by a run of 1,000,000 records.
 *
 * The log. A temp SQLite file gets the gateway's schema (SqliteStore.open), then BENCH_RECORDS
 * rows by raw better-sqlite3 INSERTs (prepared statement, one transaction per 10,000 rows; the
 * hash columns are filler: replay reads, it does not verify). The rows are made from
 * BENCH_TEMPLATES requests put through the real request recording (enforcement/recorded-request.ts
 * with the default redactor), each given a fresh seq, id and time: 200 tools, 50 agents in 5
 * tenants, sessions with history, guard signals. Of the rows, ~10% are outcome records (skipped
 * by replay), ~5% were written before the log kept the request (legacy: rebuilt from columns),
 * ~3% carry an e-mail argument the redactor masked (a candidate rule reads it: undetermined).
 *
 * The policies: 10 per-tool-group policies (400 rules over the 200 tools; conditions on args,
 * roles, trust, session and tenant) plus the built-in guard policies. The candidate lowers the
 * refund threshold of one policy, adds a rule reading the e-mail argument, and drops one rule.
 *
 * The run. The log is replayed exactly as `warden replay --db` does (surfaces/cli/replay-parallel.ts),
 * once per thread count of BENCH_THREADS: its seq range split across that many worker threads (1:
 * no worker, the CLI's default; `--workers 2`: two), each opening the log read-only, loading the
 * policy folders and replaying its share; the counts are merged. Timed end to end: workers
 * started, log read and parsed, every record decided twice, counted. CPU is the process's (every
 * thread), per record: on a shared machine it moves less than the wall time does.
 *
 * Anchor (same run, same machine): the raw PDP decide loop — `decide` with the current and the
 * candidate set on the same requests, already in memory as ActionRequests: what replay would cost
 * if reading the log were free. The ratio says how much of replay's time is the log.
 *
 * Output: a Markdown table on stdout, also written to bench/replay/results.md.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';

import { createRedactor } from '../../dist/audit/redact.js';
import { recordedRequest } from '../../dist/enforcement/recorded-request.js';
import { compactRecordedRequest } from '../../dist/model/compact-recorded-request.js';
import { guardPolicyOptions } from '../../dist/guards/default-policies.js';
import { decide } from '../../dist/policy/decide.js';
import { loadPolicyFolder } from '../../dist/policy/load.js';
import { replayInParallel } from '../../dist/surfaces/cli/replay-parallel.js';
import { decisionParams } from '../../dist/store/sqlite/rows.js';
import { SqliteStore } from '../../dist/store/sqlite/sqlite-store.js';
import { fmtInt, fmtRatio, versionOf } from '../common.js';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const RECORDS = Number(env.BENCH_RECORDS ?? 1_000_000);
const TEMPLATES = Number(env.BENCH_TEMPLATES ?? 5_000);
const ANCHOR = Number(env.BENCH_ANCHOR ?? 200_000);
const THREADS = String(env.BENCH_THREADS ?? '1,2').split(',').map(Number);
const TOOLS = 200;
const TENANTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];

// ---------------------------------------------------------------------------------------------
// policies

function policyText(group, variant) {
  const rules = [];
  for (let t = group * 20; t < group * 20 + 20; t++) {
    const tool = `tool_${t}`;
    const limit = variant === 'candidate' && group === 3 ? 250 : 500;
    rules.push(`  - { id: allow-${t}, effect: allow, tools: [${tool}], when: "'role_${t % 7}' in agent.roles && args.amount <= ${limit}" }`);
    rules.push(`  - { id: cap-${t}, effect: deny, tools: [${tool}], when: "args.amount > 5000 || (session.callsUsed > 40 && !trust_at_least('high'))" }`);
    if (!(variant === 'candidate' && group === 5 && t % 20 === 3)) {
      rules.push(`  - { id: hold-${t}, effect: require_approval, tools: [${tool}], when: "args.amount > 1000 && tenant != 'acme'" }`);
    }
    rules.push(`  - { id: tenant-${t}, effect: deny, tools: [${tool}], when: "has(args.tenant) && args.tenant != tenant" }`);
  }
  if (variant === 'candidate' && group === 0) {
    rules.push(`  - { id: no-outside-mail, effect: deny, tools: ["tool_1*"], when: "has(args.email) && !args.email.endsWith('@acme.example')" }`);
  }
  return `id: group-${group}\nversion: "${variant === 'candidate' ? 2 : 1}"\nrules:\n${rules.join('\n')}\n`;
}

/** Writes the variant's policy folder (the replay workers load it, as `warden replay` does) and loads it. */
async function policyFolder(dir, variant) {
  mkdirSync(dir, { recursive: true });
  for (let g = 0; g < 10; g++) writeFileSync(join(dir, `group-${g}.yaml`), policyText(g, variant));
  const { policySet, diagnostics } = await loadPolicyFolder(dir, guardPolicyOptions(true));
  if (!policySet) throw new Error(`bench policies do not compile: ${JSON.stringify(diagnostics.slice(0, 3))}`);
  return policySet;
}

// ---------------------------------------------------------------------------------------------
// the log

let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = (list) => list[Math.floor(rand() * list.length)];

function template(i, redactor, current) {
  const tool = `tool_${Math.floor(rand() * TOOLS)}`;
  const agentN = Math.floor(rand() * 50);
  const tenant = TENANTS[agentN % TENANTS.length];
  const args = { order_id: `o-${i}`, amount: Math.round(rand() * 6000), note: 'customer asked twice' };
  if (i % 33 === 0) args.email = `user${i}@example.org`;
  if (i % 17 === 0) args.tenant = pick(TENANTS);
  const callsUsed = Math.floor(rand() * 60);
  const request = {
    requestId: `req-${i}`,
    tenant,
    sessionId: `s-${i % 997}`,
    actor: { agent: { id: `agent-${agentN}`, roles: [`role_${agentN % 7}`, 'support'], trust: pick(['low', 'medium', 'high']), tenant }, user: { id: `user-${i % 300}`, roles: [], verified: false } },
    action: 'tool.call',
    resource: { type: 'tool', id: tool, tenant, attributes: {} },
    args,
    context: {},
    tool: { name: tool, risk: pick(['low', 'medium', 'high']), effect: pick(['read', 'write', 'external']), tags: [] },
    session: {
      callsUsed,
      spend: 0,
      tainted: false,
      recent: Array.from({ length: Math.min(callsUsed, 5) }, (_, k) => ({ tool: `tool_${(i + k) % TOOLS}`, effect: 'read', risk: 'low', at: '2026-11-02T09:59:00.000Z' })),
      tools: Array.from({ length: Math.min(callsUsed, 8) }, (_, k) => `tool_${(i * 3 + k) % TOOLS}`),
      denials: [],
      privateData: false,
    },
    signals: {
      injection: { prompt: { score: 0, suspicious: false, critical: false, kinds: [], findings: [] }, args: { score: 0, suspicious: false, critical: false, kinds: [], findings: [] } },
      taint: { session: false, sensitive_args: [], sources: [] },
      trifecta: false,
    },
  };
  const decision = decide(current, request, { now: new Date('2026-11-02T10:00:00Z') });
  const loggedArgs = redactor.redact(args);
  const details = { via: 'http' };
  if (decision.matched.length) details.matched = decision.matched;
  const legacy = i % 20 === 7;
  // Stored as the product stores it: the difference from what the record's columns predict.
  const columns = { tenant, sessionId: request.sessionId, agentId: request.actor.agent.id, userId: request.actor.user.id, action: 'tool.call', resourceType: 'tool', resourceId: tool };
  if (!legacy) details.pdpInput = compactRecordedRequest(recordedRequest(request, args, loggedArgs, redactor, false), columns);
  return {
    request,
    row: {
      kind: 'decision',
      requestId: request.requestId,
      tenant,
      sessionId: request.sessionId,
      agentId: request.actor.agent.id,
      userId: request.actor.user.id,
      action: 'tool.call',
      resourceType: 'tool',
      resourceId: tool,
      effect: decision.effect,
      reason: decision.reason,
      stage: 'policy',
      policy: decision.policy,
      rule: decision.rule,
      policyVersion: decision.policyVersion,
      bundle: decision.bundle,
      obligations: decision.obligations,
      outcome: decision.effect === 'allow' ? 'executed' : decision.effect === 'deny' ? 'denied' : 'pending',
      latencyUs: 180,
      args: loggedArgs,
      details,
    },
  };
}

async function writeLog(file, current) {
  await SqliteStore.open(file, { backgroundCheckpoints: false }).close();
  const redactor = createRedactor();
  const templates = Array.from({ length: TEMPLATES }, (_, i) => template(i, redactor, current));
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const columns = Object.keys(decisionParams({ ...templates[0].row, seq: 1, id: 'x', time: 0, prevHash: '', hash: '' }));
  const insert = db.prepare(`INSERT INTO decisions (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
  // The JSON columns of each template, serialised once.
  const params = templates.map((t) => decisionParams({ ...t.row, seq: 0, id: '', time: 0, prevHash: '', hash: '' }));
  const outcome = decisionParams({ ...templates[0].row, kind: 'outcome', seq: 0, id: '', time: 0, prevHash: '', hash: '', details: {} });
  const start = Date.parse('2026-11-01T10:00:00Z');
  const batch = db.transaction((from, to) => {
    for (let seq = from; seq < to; seq++) {
      const base = seq % 10 === 0 ? outcome : params[seq % TEMPLATES];
      insert.run({ ...base, seq, id: `dec_${seq.toString(16).padStart(12, '0')}`, time: start + seq * 50, prev_hash: 'sha256:bench', hash: 'sha256:bench' });
    }
  });
  for (let seq = 1; seq <= RECORDS; seq += 10_000) batch(seq, Math.min(seq + 10_000, RECORDS + 1));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return templates.map((t) => t.request);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), 'warden-bench-replay-'));
  const file = join(dir, 'log.db');
  const current = await policyFolder(join(dir, 'current'), 'current');
  const candidate = await policyFolder(join(dir, 'candidate'), 'candidate');
  const loadBefore = os.loadavg()[0];

  let t = performance.now();
  const requests = await writeLog(file, current);
  const writeMs = performance.now() - t;
  const bytes = statSync(file).size;

  // Anchor: the PDP alone, both sets, on the same requests held in memory.
  const now = new Date('2026-11-02T10:00:00Z');
  for (let i = 0; i < 20_000; i++) {
    decide(current, requests[i % requests.length], { now });
    decide(candidate, requests[i % requests.length], { now });
  }
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  t = performance.now();
  let c = cpu();
  for (let i = 0; i < ANCHOR; i++) {
    const r = requests[i % requests.length];
    decide(current, r, { now });
    decide(candidate, r, { now });
  }
  const anchor = { ms: performance.now() - t, cpuMs: cpu() - c };
  const anchorPerSecond = ANCHOR / (anchor.ms / 1000);

  // Replay, as `warden replay --db <file>` runs it: the seq range split across worker threads.
  const base = { url: `sqlite:${file}`, filter: {}, currentDir: join(dir, 'current'), candidateDir: join(dir, 'candidate'), defaultGuards: true, samples: 5 };
  const runs = [];
  for (const threads of THREADS) {
    t = performance.now();
    c = cpu();
    const report = await replayInParallel(base, { current, candidate }, { threads });
    runs.push({ threads, report, ms: performance.now() - t, cpuMs: cpu() - c });
  }
  const report = runs[0].report;
  // Every run must count the same: the thread count changes the speed, never the report.
  const counts = (r) => JSON.stringify({ ...r, elapsedMs: 0, recordsPerSecond: 0 });
  const differing = runs.filter((r) => counts(r.report) !== counts(report)).map((r) => r.threads);

  const cpus = os.cpus();
  const perRecord = (cpuMs, n) => ((cpuMs * 1000) / n).toFixed(1);
  const lines = [
    '# Warden replay benchmark',
    '',
    `Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${os.platform()} ${os.release()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; Warden ${versionOf('warden')}`,
    `Log: ${fmtInt(RECORDS)} records (${fmtInt(TEMPLATES)} distinct requests), ${(bytes / 2 ** 20).toFixed(0)} MiB SQLite, written in ${(writeMs / 1000).toFixed(1)} s (${fmtInt(RECORDS / (writeMs / 1000))} rows/s, raw INSERTs)`,
    `Policies: ${current.rules.length} rules (current), ${candidate.rules.length} (candidate), built-in guard policies included`,
    '',
    '| run | records | time s | records/s | CPU µs/record | ratio to anchor (records/s) |',
    '|---|---:|---:|---:|---:|---:|',
    `| anchor: decide × 2 sets, requests in memory | ${fmtInt(ANCHOR)} | ${(anchor.ms / 1000).toFixed(1)} | ${fmtInt(anchorPerSecond)} | ${perRecord(anchor.cpuMs, ANCHOR)} | 1 |`,
    ...runs.map((r) => {
      const perSecond = r.report.read / (r.ms / 1000);
      return `| replay (${r.threads === 1 ? '1 thread, the default' : `${r.threads} threads, --workers ${r.threads}`}): read-only log → decide × 2 → report | ${fmtInt(r.report.read)} | ${(r.ms / 1000).toFixed(1)} | ${fmtInt(perSecond)} | ${perRecord(r.cpuMs, r.report.read)} | ${fmtRatio(perSecond / anchorPerSecond)} |`;
    }),
    '',
    `Report: ${fmtInt(report.replayed)} replayed, ${fmtInt(report.unchanged)} unchanged, ${fmtInt(report.changed)} changed (${report.transitions.map((x) => `${x.transition} ${fmtInt(x.count)}`).join(', ')}), ${fmtInt(report.undetermined)} undetermined (${fmtInt(report.legacy.undetermined)} of ${fmtInt(report.legacy.replayed)} legacy); skipped ${Object.entries(report.skipped).map(([k, v]) => `${fmtInt(v)} ${k}`).join(', ')}${runs.length > 1 ? (differing.length ? ` — DIFFERS with ${differing.join(', ')} threads` : `; the same with ${runs.map((r) => r.threads).join(' and ')} threads`) : ''}`,
    '',
    ...runs.map((r) => `Target: 1,000,000 records in under 60 s, ${r.threads === 1 ? '1 thread' : `${r.threads} threads`} — ${r.report.read >= 1_000_000 ? (r.ms < 60_000 ? 'PASS' : 'FAIL') : 'not measured (fewer records)'}: ${(r.ms / 1000).toFixed(1)} s`),
    `Load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${os.loadavg()[0].toFixed(2)} on ${cpus.length} cores (shared machine).`,
  ];
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(text);
  if (RECORDS === 1_000_000) writeFileSync(join(here, 'results.md'), text);
  else console.log('(results.md not written: only a run of 1,000,000 records rewrites it)');
  if (env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${file}`);
}

await main();
