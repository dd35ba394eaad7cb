import { EFFECTS, type Effect } from '../../../model/effect.js';
import type { DecisionRecord } from '../../../store/records.js';
import type { Store } from '../../../store/store.js';
import { withStore, type StoreSource } from '../state.js';
import { csvRow, iso, oneLine, oneOf, parseCount, parseInstant, streamStdout, type StreamOut } from '../text-output.js';
import { EXIT } from '../usage-error.js';

// `warden audit verify` is in audit-verify.ts.

/** Records read per page when streaming the log. */
const PAGE = 2_000;
/** How often `tail --follow` looks for new records. */
const FOLLOW_INTERVAL_MS = 500;

export interface ExportOptions extends StoreSource {
  since?: string;
  until?: string;
  agent?: string;
  tool?: string;
  tenant?: string;
  effect?: string;
  format?: string;
}

/** The CSV columns of `warden audit export --format csv`, in order. */
export const CSV_COLUMNS = [
  'seq',
  'id',
  'time',
  'kind',
  'request_id',
  'tenant',
  'session_id',
  'agent_id',
  'user_id',
  'action',
  'resource_id',
  'effect',
  'outcome',
  'stage',
  'policy',
  'rule',
  'policy_version',
  'reason',
  'approval_id',
  'break_glass',
  'latency_us',
  'hash',
] as const;

function csvFields(r: DecisionRecord): Array<string | number | undefined> {
  return [
    r.seq,
    r.id,
    iso(r.time),
    r.kind,
    r.requestId,
    r.tenant,
    r.sessionId,
    r.agentId,
    r.userId,
    r.action,
    r.resourceId,
    r.effect,
    r.outcome,
    r.stage,
    r.policy,
    r.rule,
    r.policyVersion,
    r.reason,
    r.approvalId,
    r.breakGlass,
    r.latencyUs,
    r.hash,
  ];
}

interface ExportFilter {
  agentId?: string;
  tool?: string;
  tenant?: string;
  effect?: Effect;
  since?: number;
  until?: number;
}

/** The same conditions as the store's queryDecisions, applied to records read in seq order. */
function matches(r: DecisionRecord, f: ExportFilter): boolean {
  return (
    (f.agentId === undefined || r.agentId === f.agentId) &&
    (f.tool === undefined || r.resourceId === f.tool) &&
    (f.tenant === undefined || r.tenant === f.tenant) &&
    (f.effect === undefined || r.effect === f.effect) &&
    (f.since === undefined || r.time >= f.since) &&
    (f.until === undefined || r.time <= f.until)
  );
}

/**
 * `warden audit export`: the decision log (already redacted) as JSON lines or CSV, in seq order.
 * It streams: the store is read a page at a time and each page is written before the next is
 * read, so a log of any size exports in constant memory. Records appended while exporting are
 * left out, so the export is the log as it stood when the command started.
 */
export async function auditExportCommand(options: ExportOptions): Promise<number> {
  const now = Date.now();
  const format = oneOf('--format', options.format ?? 'jsonl', ['jsonl', 'csv'] as const)!;
  const filter: ExportFilter = {
    agentId: options.agent,
    tool: options.tool,
    tenant: options.tenant,
    effect: oneOf('--effect', options.effect, EFFECTS),
    since: options.since === undefined ? undefined : parseInstant('--since', options.since, now),
    until: options.until === undefined ? undefined : parseInstant('--until', options.until, now),
  };
  return withStore(options, async (store) => {
    const out = streamStdout();
    if (format === 'csv') await out.write(csvRow([...CSV_COLUMNS]));
    const [first, last] = await bounds(store, filter);
    let after = first - 1;
    while (after < last && !out.closed) {
      const page = await store.scanDecisions(after, Math.min(PAGE, last - after));
      if (page.length === 0) break;
      for (const record of page) {
        if (record.seq > last) break;
        if (!matches(record, filter)) continue;
        if (!(await out.write(format === 'csv' ? csvRow(csvFields(record)) : `${JSON.stringify(record)}\n`))) break;
      }
      after = page[page.length - 1]!.seq;
    }
    return EXIT.ok;
  });
}

/**
 * The seq range that can hold matching records: from the first match to the last, both found
 * through the store's indexes, capped at the head of the log when the export started. The scan
 * between them reads by primary key, so the export is linear in the range whatever the filter.
 */
async function bounds(store: Store, f: ExportFilter): Promise<[number, number]> {
  const head = (await store.lastDecision())?.seq ?? 0;
  if (Object.values(f).every((v) => v === undefined)) return [1, head];
  const query = { agentId: f.agentId, tool: f.tool, tenant: f.tenant, effect: f.effect, since: f.since, until: f.until, limit: 1 };
  const [first] = await store.queryDecisions({ ...query, order: 'asc' });
  const [last] = await store.queryDecisions({ ...query, order: 'desc' });
  if (!first || !last) return [1, 0];
  return [first.seq, Math.min(last.seq, head)];
}

export interface TailOptions extends StoreSource {
  lines?: string;
  follow?: boolean;
}

/** `time  effect  agent → tool  reason`, one record per line. */
export function formatTailLine(r: DecisionRecord): string {
  return `${iso(r.time)}  ${r.effect.padEnd(16)}  ${r.agentId} → ${r.resourceId}  ${oneLine(r.reason)}`;
}

/**
 * `warden audit tail`: the last n records, one line each; with --follow, then every new record
 * as it is written (polling), until SIGINT or SIGTERM, which end it with exit 0.
 */
export async function auditTailCommand(options: TailOptions): Promise<number> {
  const n = parseCount('-n', options.lines ?? '20', 0, 10_000);
  return withStore(options, async (store) => {
    const out = streamStdout();
    const last = n === 0 ? [] : (await store.queryDecisions({ order: 'desc', limit: n })).reverse();
    for (const record of last) await out.write(`${formatTailLine(record)}\n`);
    if (!options.follow) return EXIT.ok;
    let after = last.length > 0 ? last[last.length - 1]!.seq : ((await store.lastDecision())?.seq ?? 0);
    await follow(out, async () => {
      for (;;) {
        const page = await store.queryDecisions({ afterSeq: after, order: 'asc', limit: PAGE });
        for (const record of page) if (!(await out.write(`${formatTailLine(record)}\n`))) return;
        if (page.length > 0) after = page[page.length - 1]!.seq;
        if (page.length < PAGE) return;
      }
    });
    return EXIT.ok;
  });
}

/** Calls `poll` every FOLLOW_INTERVAL_MS until SIGINT/SIGTERM or until the reader goes away. */
async function follow(out: StreamOut, poll: () => Promise<void>): Promise<void> {
  let stop: () => void = () => undefined;
  let stopped = false;
  const onSignal = () => {
    stopped = true;
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    while (!stopped && !out.closed) {
      await poll();
      if (stopped || out.closed) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FOLLOW_INTERVAL_MS);
        stop = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
