/** Helpers every benchmark shares: percentiles, timer overhead, versions, number formatting. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The p-th percentile of an ascending array (nearest rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/** 95 % Wilson score interval [low, high] of k successes in n trials (sound at 0 and n, unlike k/n ± 1.96·se). */
export function wilson(k, n, z = 1.96) {
  if (n === 0) return [NaN, NaN];
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** The installed version of a package, or of Warden itself. */
export function versionOf(pkg) {
  try {
    const file = pkg === 'warden' ? join(root, 'package.json') : join(root, 'node_modules', pkg, 'package.json');
    return JSON.parse(readFileSync(file, 'utf8')).version;
  } catch {
    return '?';
  }
}

export const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
/** Nanoseconds as microseconds with sensible precision. */
export const fmtUs = (ns) => (Number.isNaN(ns) ? '—' : (ns / 1000).toFixed(ns < 10_000 ? 2 : ns < 1_000_000 ? 1 : 0));
export const fmtRatio = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/**
 * The raw-INSERT reference the decision-log benches compare against: one prepared INSERT of every
 * column of `decisions`, and the row of a decision-record `template` without the columns each row
 * sets itself (seq, id, time, request_id, prev_hash, hash). Throws when the table has a column this
 * mapping does not know (the store's schema moved on).
 */
export function rawDecisionInsert(db, template, label) {
  const columns = db.prepare('PRAGMA table_info(decisions)').all().map((c) => c.name);
  const insert = db.prepare(`INSERT INTO decisions (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
  const orNull = (v) => (v === undefined ? null : v);
  const json = (v) => (v === undefined ? null : JSON.stringify(v));
  const t = template;
  const params = {
    kind: t.kind, trace_id: orNull(t.traceId), tenant: t.tenant, session_id: orNull(t.sessionId), agent_id: t.agentId,
    user_id: orNull(t.userId), service_id: orNull(t.serviceId), action: t.action, resource_type: t.resourceType,
    resource_id: t.resourceId, effect: t.effect, reason: t.reason, stage: t.stage, policy: orNull(t.policy), rule: orNull(t.rule),
    policy_version: orNull(t.policyVersion), bundle: orNull(t.bundle), obligations: JSON.stringify(t.obligations), outcome: t.outcome,
    latency_us: t.latencyUs, args: JSON.stringify(t.args), result_summary: json(t.resultSummary), approval_id: orNull(t.approvalId),
    break_glass: orNull(t.breakGlass), decision_id: orNull(t.decisionId), details: JSON.stringify(t.details),
  };
  const missing = columns.filter((c) => !(c in params) && !['seq', 'id', 'time', 'request_id', 'prev_hash', 'hash'].includes(c));
  if (missing.length) throw new Error(`${label}: columns not mapped: ${missing.join(', ')}`);
  return { insert, params };
}
