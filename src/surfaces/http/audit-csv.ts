import type { DecisionRecord } from '../../store/records.js';

/** The columns of a CSV export: what a spreadsheet reader filters on; JSON Lines has every field. */
const COLUMNS: ReadonlyArray<[header: string, value: (r: DecisionRecord) => unknown]> = [
  ['seq', (r) => r.seq],
  ['id', (r) => r.id],
  ['time', (r) => new Date(r.time).toISOString()],
  ['kind', (r) => r.kind],
  ['request_id', (r) => r.requestId],
  ['tenant', (r) => r.tenant],
  ['session_id', (r) => r.sessionId],
  ['agent_id', (r) => r.agentId],
  ['user_id', (r) => r.userId],
  ['action', (r) => r.action],
  ['tool', (r) => r.resourceId],
  ['effect', (r) => r.effect],
  ['outcome', (r) => r.outcome],
  ['stage', (r) => r.stage],
  ['policy', (r) => r.policy],
  ['rule', (r) => r.rule],
  ['reason', (r) => r.reason],
  ['latency_us', (r) => r.latencyUs],
  ['approval_id', (r) => r.approvalId],
  ['args', (r) => r.args],
  ['hash', (r) => r.hash],
];

/**
 * A cell: RFC 4180 quoting, and text a spreadsheet would run as a formula (starting with = + - @,
 * a tab or a carriage return) prefixed with an apostrophe — the log holds what agents sent, and
 * "=HYPERLINK(…)" in an argument must stay text (OWASP CSV injection). Numbers are written as is.
 */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return String(value);
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The records as CSV lines (CRLF, as RFC 4180), the header first; consumed as the reader asks. */
export async function* csvLines(records: AsyncIterable<DecisionRecord>): AsyncGenerator<string> {
  yield `${COLUMNS.map(([header]) => header).join(',')}\r\n`;
  for await (const record of records) yield `${COLUMNS.map(([, value]) => csvCell(value(record))).join(',')}\r\n`;
}
