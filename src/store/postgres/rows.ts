import type { ApprovalVote } from '../records.js';
import { toVote, type Filter, type Params, type VoteRow } from '../sqlite/rows.js';

/*
 * Rows on Postgres have the shape they have on SQLite (JSON values as TEXT, booleans 0/1, absent
 * fields NULL, times BIGINT read back as numbers), so the records are built by the same mappings
 * (sqlite/rows.ts) and come out byte for byte the same: the hash chain verifies whichever
 * database kept it. What differs is handled here.
 */

export {
  agentParams,
  approvalParams,
  bundleParams,
  credentialParams,
  decisionParams,
  grantParams,
  incidentParams,
  jsonOrNull,
  sessionParams,
  toAgent,
  toApproval,
  toBundle,
  toCredential,
  toDecision,
  toGrant,
  toIncident,
  toSession,
  toToolPin,
  toolPinParams,
  voteParams,
  DECISION_COLUMNS,
  type AgentRow,
  type ApprovalRow,
  type BundleRow,
  type CredentialRow,
  type DecisionRow,
  type GrantRow,
  type IncidentRow,
  type Params,
  type SessionRow,
  type ToolPinRow,
} from '../sqlite/rows.js';

// ---------------------------------------------------------------------------------------------
// columns

/*
 * Every statement names its columns (never SELECT *): a statement is prepared once per
 * connection, and a prepared `SELECT *` fails ("cached plan must not change result type") on every
 * replica still running when a migration adds a column.
 */
export const AGENT_COLUMNS = ['id', 'roles', 'tenant', 'trust', 'status', 'source', 'status_reason', 'created_at', 'updated_at'] as const;
export const CREDENTIAL_COLUMNS = ['key_id', 'agent_id', 'kind', 'hash', 'secret_ref', 'created_at', 'revoked_at'] as const;
export const APPROVAL_COLUMNS = [
  'id', 'status', 'created_at', 'expires_at', 'request_id', 'tenant', 'session_id', 'agent_id', 'user_id', 'action', 'tool',
  'args', 'args_hash', 'args_redacted', 'requirement', 'policy', 'rule', 'reason', 'decision_id', 'result', 'settled_at',
] as const;
export const VOTE_COLUMNS = ['approval_id', 'approver', 'approver_roles', 'vote', 'reason', 'at'] as const;
export const SESSION_COLUMNS = ['id', 'tenant', 'calls_used', 'spend', 'tainted', 'recent', 'flow', 'updated_at'] as const;
export const INCIDENT_COLUMNS = ['id', 'time', 'type', 'severity', 'agent_id', 'tenant', 'decision_id', 'description', 'reported_by'] as const;
export const GRANT_COLUMNS = ['id', 'granted_by', 'reason', 'scope', 'created_at', 'expires_at', 'revoked_at', 'revoked_by'] as const;
export const BUNDLE_COLUMNS = ['bundle', 'loaded_at', 'policies'] as const;
export const TOOL_PIN_COLUMNS = ['tool', 'hash', 'first_seen_at', 'approved_at', 'approved_by', 'definition', 'observed_hash', 'observed_at', 'observed_definition'] as const;
export const CHECKPOINT_COLUMNS = ['seq', 'hash', 'time', 'key_id', 'signature'] as const;

/** `a, b, c` (or `t.a, t.b, t.c`) for a select list or a RETURNING clause. */
export function list(columns: readonly string[], alias?: string): string {
  return columns.map((c) => (alias ? `${alias}.${c}` : c)).join(', ');
}

/** `ON CONFLICT (key) DO UPDATE SET` every other column to the value inserted. */
export function upsertOn(key: string, columns: readonly string[]): string {
  const keys = key.split(',').map((k) => k.trim());
  return `ON CONFLICT (${key}) DO UPDATE SET ${columns.filter((c) => !keys.includes(c)).map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// NUL characters

/**
 * Postgres TEXT cannot hold U+0000, which SQLite keeps and a JavaScript string may contain (a
 * request id, a reason). Such a string is stored as this mark followed by its JSON form, as is a
 * string that starts with the mark (so the encoding is reversible). U+FDD0 is a noncharacter:
 * no text in practice starts with it. JSON text (JSON.stringify) never holds a raw U+0000.
 */
const MARK = '\uFDD0';

export function encodeText(text: string): string {
  return text.includes('\u0000') || text.startsWith(MARK) ? MARK + JSON.stringify(text) : text;
}

export function decodeText(text: string): string {
  return text.startsWith(MARK) ? (JSON.parse(text.slice(1)) as string) : text;
}

/** A statement's parameter: strings encoded (also inside arrays, for unnest). */
export function encodeValue(value: unknown): unknown {
  if (typeof value === 'string') return encodeText(value);
  if (Array.isArray(value)) return value.map((item: unknown) => (typeof item === 'string' ? encodeText(item) : item));
  return value;
}

/** A row as pg returns it, its text columns decoded. */
export function decodeRow<R>(row: Record<string, unknown>): R {
  for (const key in row) {
    const value = row[key];
    if (typeof value === 'string' && value.startsWith(MARK)) row[key] = decodeText(value);
  }
  return row as R;
}

// ---------------------------------------------------------------------------------------------
// statements

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

/** A listing's limit: 100 when not given, never more than 10,000 (nor less than 0), as on SQLite. */
export function clampLimit(limit: number | undefined, fallback = DEFAULT_LIMIT): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.max(0, Math.min(MAX_LIMIT, Math.floor(limit)));
}

/** `INSERT INTO table (a, b) VALUES ($1, $2)` and its values, in the order of `columns`. */
export function insertOf(table: string, columns: readonly string[], params: Params, suffix = ''): { text: string; values: unknown[] } {
  return {
    text: `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})${suffix ? ` ${suffix}` : ''}`,
    values: columns.map((c) => params[c] ?? null),
  };
}

/** One optional filter of a listing: skipped when its value is undefined. */

/** `SELECT <columns> FROM <from> WHERE <the filters that have a value> <orderBy> LIMIT $n`. */
export function filteredSelect(columns: string, from: string, filters: readonly Filter[], orderBy: string, limit: number | undefined): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  for (const [column, op, value] of filters) {
    if (value === undefined) continue;
    values.push(value);
    where.push(`${column} ${op} $${values.length}`);
  }
  values.push(clampLimit(limit));
  return { text: `SELECT ${columns} FROM ${from}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ${orderBy} LIMIT $${values.length}`, values };
}

// ---------------------------------------------------------------------------------------------
// approvals: votes come with their approval, aggregated in the same statement (one snapshot)

/** The select-list item that brings an approval's votes along, oldest first, as JSON. */
export const VOTES_JSON = `COALESCE((SELECT json_agg(json_build_array(v.approver, v.approver_roles, v.vote, v.reason, v.at) ORDER BY v.id)
  FROM approval_votes v WHERE v.approval_id = a.id), '[]') AS votes_json`;

type VoteTuple = [approver: string, approverRoles: string, vote: string, reason: string, at: number];

export function votesOf(json: unknown): ApprovalVote[] {
  return (json as VoteTuple[]).map(([approver, roles, vote, reason, at]) => {
    const row: VoteRow = { approver: decodeText(approver), approver_roles: decodeText(roles), vote: decodeText(vote), reason: decodeText(reason), at: Number(at) };
    return toVote(row);
  });
}
