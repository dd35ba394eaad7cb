import { resolve } from 'node:path';
import type { WardenConfig } from '../../../config/load-config.js';
import { guardPolicyOptions } from '../../../guards/default-policies.js';
import { formatDiagnostic } from '../../../lib/diagnostic.js';
import { loadPolicyFolder } from '../../../policy/load.js';
import type { PolicySet } from '../../../policy/policy-set.js';
import { replay } from '../../../replay/replay.js';
import type { ReplayReport, ReplaySample } from '../../../replay/replay-report.js';
import { gatedFindings, parseGates, type Gate } from '../../../replay/transition-gate.js';
import { scanPages } from '../../../store/decision-pages.js';
import { openReadOnlyLog, type ReadOnlyLog } from '../../../store/open-read-only-log.js';
import { WardenConfigError } from '../../../services/warden.js';
import { readConfig, storeUrlOf } from '../state.js';
import { replayInParallel } from '../replay-parallel.js';
import { formatTable, parseCount, parseInstant } from '../text-output.js';
import { EXIT, UsageError } from '../usage-error.js';

export interface ReplayOptions {
  policies: string;
  current?: string;
  config?: string;
  db?: string;
  since?: string;
  from?: string;
  to?: string;
  tenant?: string;
  agent?: string;
  tool?: string;
  limit?: string;
  samples?: string;
  json?: boolean;
  failOn?: string;
  progress?: boolean;
  dryRuns?: boolean;
  workers?: string;
  /** False with --no-default-guards. */
  defaultGuards?: boolean;
}

/**
 * `warden replay`: decides the logged requests again with the candidate policy folder and with
 * the current one, and reports what would change. Reads the log only (SQLite opened read-only,
 * Postgres without migrating). Exit 0: no transition named by --fail-on occurred; 1: one did;
 * 2: it could not run (options, config, policies that do not load, a store that cannot be read).
 */
export async function replayCommand(options: ReplayOptions): Promise<number> {
  try {
    return await run(options);
  } catch (error) {
    if (error instanceof UsageError || error instanceof WardenConfigError) {
      console.error(`error: ${error.message}`);
      return EXIT.usage;
    }
    console.error(`error: could not replay: ${(error as Error)?.message ?? String(error)}`);
    return EXIT.usage;
  }
}

async function run(options: ReplayOptions): Promise<number> {
  const now = Date.now();
  const gates: Gate[] | undefined = options.failOn === undefined ? undefined : gatesOf(options.failOn);
  if (options.since !== undefined && (options.from !== undefined || options.to !== undefined)) throw new UsageError('pass either --since or --from/--to, not both');
  const from = options.since !== undefined ? parseInstant('--since', options.since, now) : options.from !== undefined ? parseInstant('--from', options.from, now) : undefined;
  const to = options.to !== undefined ? parseInstant('--to', options.to, now) : undefined;
  if (from !== undefined && to !== undefined && from > to) throw new UsageError('--from is after --to');
  const limit = options.limit === undefined ? undefined : parseCount('--limit', options.limit, 1, Number.MAX_SAFE_INTEGER);
  const samples = options.samples === undefined ? 5 : parseCount('--samples', options.samples, 0, 1000);

  const { config, url } = await storeOf(options);
  const currentDir = options.current ?? config?.policiesDir;
  if (!currentDir) throw new UsageError('with --db and no --config, name the policies in force with --current <folder>');
  const defaultGuards = options.defaultGuards !== false && (config?.guards.default_policies ?? true);
  const current = await policiesOf(currentDir, defaultGuards, 'current');
  const candidate = await policiesOf(options.policies, defaultGuards, 'candidate');

  const threads = options.workers === undefined ? undefined : parseCount('--workers', options.workers, 1, 64);
  let log: ReadOnlyLog;
  try {
    log = await openReadOnlyLog(url, { postgres: config?.postgres });
  } catch (error) {
    throw new UsageError(`cannot open the decision log (${url}): ${(error as Error).message}`);
  }
  const filter = { since: from, until: to, tenant: options.tenant, agentId: options.agent, tool: options.tool };
  const progress = options.progress || process.stderr.isTTY ? progressLine() : undefined;
  let report: ReplayReport;
  try {
    if (limit === undefined) {
      // The whole window, in seq order; split across worker threads with --workers.
      await log.close();
      const base = { url, postgres: config?.postgres, filter, currentDir, candidateDir: options.policies, defaultGuards, dryRuns: options.dryRuns, samples };
      report = await replayInParallel(base, { current, candidate }, { threads, from, to, onProgress: progress?.update });
    } else {
      // At most --limit records, oldest first: one ordered reader.
      const pages = scanPages(log, filter, { max: limit });
      report = await replay(pages, { current, candidate, samples, from, to, dryRuns: options.dryRuns, truncated: () => pages.truncated, onProgress: progress?.update });
      await log.close();
    }
  } catch (error) {
    await log.close().catch(() => undefined);
    throw error;
  }
  progress?.done();

  const findings = gates ? gatedFindings(report, gates) : [];
  if (options.json) console.log(JSON.stringify({ ...report, ...(gates ? { gated: findings } : {}) }, null, 2));
  else console.log(formatReport(report, findings, gates !== undefined));
  return findings.length > 0 ? EXIT.problems : EXIT.ok;
}

function gatesOf(text: string): Gate[] {
  try {
    return parseGates(text);
  } catch (error) {
    throw new UsageError(`--fail-on: ${(error as Error).message}`);
  }
}

/** The config (when there is one) and the storage URL to read. */
async function storeOf(options: ReplayOptions): Promise<{ config?: WardenConfig; url: string }> {
  if (options.db !== undefined && options.config !== undefined) throw new UsageError('pass either --db or --config, not both');
  if (options.db !== undefined) {
    if (options.db.trim() === '') throw new UsageError('--db needs a path');
    return { url: `sqlite:${resolve(options.db)}` };
  }
  const config = await readConfig(options.config, true);
  return { config, url: storeUrlOf(config).url };
}

async function policiesOf(dir: string, defaultGuards: boolean, which: 'current' | 'candidate'): Promise<PolicySet> {
  const { policySet, diagnostics } = await loadPolicyFolder(dir, guardPolicyOptions(defaultGuards));
  if (!policySet) {
    const errors = diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    throw new UsageError(`the ${which} policies in ${dir} do not load:\n${errors.join('\n')}`);
  }
  return policySet;
}

/** `read 120,000 records (85,000/s)` on one line of standard error, rewritten as it goes. */
function progressLine(): { update: (read: number, ms: number) => void; done: () => void } {
  let last = 0;
  let shown = false;
  return {
    update(read, ms) {
      if (ms - last < 250) return;
      last = ms;
      shown = true;
      process.stderr.write(`\rread ${read.toLocaleString('en-US')} records (${Math.round((read / Math.max(ms, 1)) * 1000).toLocaleString('en-US')}/s)   `);
    },
    done() {
      if (shown) process.stderr.write('\n');
    },
  };
}

const n = (x: number) => x.toLocaleString('en-US');

function sampleLine(s: ReplaySample): string {
  const rules = s.unknown ? `${s.unknown.rule} reads ${s.unknown.path}` : `${s.current?.rule ?? '(default deny)'} → ${s.candidate?.rule ?? '(default deny)'}`;
  return `    #${s.seq} ${s.id}  ${s.time}  ${s.tenant || '-'}  ${s.agent} → ${s.tool}  ${rules}`;
}

/** The report as tables for a terminal. */
export function formatReport(r: ReplayReport, gated: readonly string[], gating: boolean): string {
  const out: string[] = [];
  out.push(`current   ${r.current.bundle}`);
  out.push(`candidate ${r.candidate.bundle}`);
  const window = r.window.firstSeq !== undefined ? `records #${r.window.firstSeq}–#${r.window.lastSeq}` : 'no records';
  out.push(`window    ${r.window.from ?? 'the start'} → ${r.window.to ?? 'now'} (${window}${r.truncated ? ', stopped at --limit' : ''})`);
  out.push('');
  out.push(`${n(r.read)} records read, ${n(r.replayed)} decided again in ${(r.elapsedMs / 1000).toFixed(1)} s (${n(r.recordsPerSecond)} records/s)`);
  out.push(`  unchanged     ${n(r.unchanged)}${r.reattributed ? ` (${n(r.reattributed)} by another rule)` : ''}`);
  out.push(`  changed       ${n(r.changed)}`);
  out.push(`  undetermined  ${n(r.undetermined)}${r.legacy.replayed ? ` (${n(r.legacy.undetermined)} of ${n(r.legacy.replayed)} records from before the log kept the request as decided)` : ''}`);
  const skipped = Object.entries(r.skipped);
  if (skipped.length) out.push(`  not replayed  ${skipped.map(([why, count]) => `${n(count)} ${why}`).join(', ')}`);
  if (r.transitions.length) {
    out.push('', 'Changes');
    out.push(formatTable(['transition', 'records'], r.transitions.map((t) => [t.transition, n(t.count)])));
    for (const t of r.transitions) {
      out.push(`  ${t.transition}, for example:`);
      for (const s of t.samples) out.push(sampleLine(s));
    }
    out.push('', 'By rule (current → candidate)');
    out.push(formatTable(['transition', 'current rule', 'candidate rule', 'records'], r.rules.map((x) => [x.transition, x.from, x.to, n(x.count)])));
  }
  for (const [title, groups] of [['tool', r.tools], ['agent', r.agents], ['tenant', r.tenants]] as const) {
    if (groups.length === 0) continue;
    out.push('', `By ${title}`);
    out.push(formatTable([title, 'replayed', 'changed', 'undetermined', 'transitions'], groups.map((g) => [g.key || '(none)', n(g.replayed), n(g.changed), n(g.undetermined), Object.entries(g.transitions).map(([t, c]) => `${t} ${n(c)}`).join(', ')])));
  }
  if (r.undeterminedBy.length) {
    out.push('', 'Undetermined: a rule that could apply reads a value the log does not hold');
    out.push(formatTable(['rule', 'reads', 'records'], r.undeterminedBy.map((u) => [u.rule, u.path, n(u.count)])));
    for (const u of r.undeterminedBy) for (const s of u.samples) out.push(sampleLine(s));
  }
  if (gating) out.push('', gated.length ? `FAIL: ${gated.join(', ')} (--fail-on)` : 'OK: no transition named by --fail-on');
  return out.join('\n');
}
