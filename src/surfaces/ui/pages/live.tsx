import { memo } from 'preact/compat';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, followDecisions, type StreamState } from '../api';
import { EffectBadge, EffectSelect, ErrorNote, Field, latency, time } from '../components';
import { RecordDetail } from '../record-detail';
import type { DecisionRecord, Effect, Me } from '../types';
import { useMedia, useVirtualRows } from '../virtual-rows';

/** Rows kept in the page; older ones are in the decision log (#/log). */
const KEEP = 10_000;
const ROW_HEIGHT = { wide: 34, narrow: 78 };
const NARROW = '(max-width: 720px)';

const STATE_TEXT: Record<StreamState, string> = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', stopped: 'paused' };

/**
 * A row of the Live page: a decision, with what became of it when the call ran (the outcome
 * record of a side-effecting call is folded into its decision's row: one call, one row).
 */
type Row = DecisionRecord & { completedBy?: DecisionRecord };

export function LivePage({ me }: { me: Me }) {
  const [rows, setRows] = useState<Row[]>([]);
  const [error, setError] = useState<unknown>();
  const [state, setState] = useState<StreamState>('connecting');
  const [paused, setPaused] = useState(false);
  const [filters, setFilters] = useState({ agent: '', tool: '', tenant: '', effect: '' as Effect | '' });
  const [selected, setSelected] = useState<Row>();

  useEffect(() => {
    if (paused) return;
    let stop: (() => void) | undefined;
    let cancelled = false;
    // The newest records first, then everything written after them, as it happens.
    api<DecisionRecord[]>('/v1/audit?limit=100').then(
      (initial) => {
        if (cancelled) return;
        setRows((old) => merge(old, [...initial].reverse()));
        const after = Math.max(0, ...initial.map((r) => r.seq));
        stop = followDecisions(after, (batch) => setRows((old) => merge(old, batch)), setState);
      },
      (e: unknown) => setError(e),
    );
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [paused]);

  const visible = useMemo(
    () =>
      filters.agent || filters.tool || filters.tenant || filters.effect
        ? rows.filter(
            (r) =>
              (!filters.agent || r.agentId.includes(filters.agent)) &&
              (!filters.tool || r.resourceId.includes(filters.tool)) &&
              (!filters.tenant || r.tenant === filters.tenant) &&
              (!filters.effect || r.effect === filters.effect),
          )
        : rows,
    [rows, filters],
  );
  // The suggestions change rarely: recomputed from the newest rows, at most every 2 s.
  const options = useMemo(() => {
    const recent = rows.slice(0, 1000);
    return { agents: unique(recent.map((r) => r.agentId)), tools: unique(recent.map((r) => r.resourceId)), tenants: unique(recent.map((r) => r.tenant)) };
  }, [rows.length > 0, Math.floor(Date.now() / 2000)]);
  const set = (k: keyof typeof filters) => (e: Event) => setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement).value });

  const narrow = useMedia(NARROW);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualRows({ count: visible.length, rowHeight: narrow ? ROW_HEIGHT.narrow : ROW_HEIGHT.wide, getScrollElement: () => scroller.current });
  const items = virtual.getVirtualItems();
  const top = items[0]?.start ?? 0;
  const bottom = virtual.getTotalSize() - (items[items.length - 1]?.end ?? 0);
  const columns = narrow ? 1 : 7;

  return (
    <div class={selected ? 'split' : ''}>
      <section aria-labelledby="live-title">
        <header class="row">
          <h1 id="live-title">Live decisions</h1>
          <p class={`stream stream-${paused ? 'stopped' : state}`} role="status" aria-live="polite">
            <span aria-hidden="true">●</span> {paused ? 'paused' : STATE_TEXT[state]}
          </p>
          <button type="button" class="secondary" onClick={() => setPaused(!paused)} aria-pressed={paused}>
            {paused ? 'Resume' : 'Pause'}
          </button>
        </header>
        <ErrorNote error={error} />
        <form class="filters" aria-label="Filter decisions" onSubmit={(e) => e.preventDefault()}>
          <Field label="Agent">
            <input name="agent" list="agents-list" value={filters.agent} onInput={set('agent')} />
          </Field>
          <Field label="Tool">
            <input name="tool" list="tools-list" value={filters.tool} onInput={set('tool')} />
          </Field>
          <Field label="Tenant">
            {me.tenant === '*' ? (
              <select name="tenant" value={filters.tenant} onChange={set('tenant')}>
                <option value="">all</option>
                {options.tenants.map((t) => (
                  <option key={t} value={t}>
                    {t || '(none)'}
                  </option>
                ))}
              </select>
            ) : (
              <input name="tenant" value={me.tenant} readOnly aria-readonly="true" />
            )}
          </Field>
          <Field label="Effect">
            <EffectSelect value={filters.effect} anyLabel="all" onChange={set('effect')} />
          </Field>
          <datalist id="agents-list">
            {options.agents.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
          <datalist id="tools-list">
            {options.tools.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </form>
        <p class="muted small">
          {visible.length} of {rows.length} calls shown (those seen since the page opened, at most {KEEP.toLocaleString()}); newest first. <a href="#/log">Search the whole decision log</a>.
        </p>
        <div class="live-scroll" ref={scroller}>
          <table class={`records live-table ${narrow ? 'live-narrow' : ''}`} aria-label="Decisions, newest first" aria-rowcount={visible.length + 1}>
            {!narrow && (
              <colgroup>
                <col class="c-time" />
                <col class="c-effect" />
                <col class="c-agent" />
                <col class="c-tool" />
                <col class="c-tenant" />
                <col />
                <col class="c-latency" />
              </colgroup>
            )}
            <thead>
              {narrow ? (
                <tr aria-rowindex={1}>
                  <th scope="col">Decision</th>
                </tr>
              ) : (
                <tr aria-rowindex={1}>
                  <th scope="col">Time</th>
                  <th scope="col">Status</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Tool</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">Reason</th>
                  <th scope="col" class="num">Latency</th>
                </tr>
              )}
            </thead>
            <tbody>
              {top > 0 && <Spacer height={top} columns={columns} />}
              {items.map((item) => {
                const r = visible[item.index]!;
                return <LiveRow key={r.seq} row={r} index={item.index} narrow={narrow} selected={selected?.seq === r.seq} onOpen={setSelected} />;
              })}
              {bottom > 0 && <Spacer height={bottom} columns={columns} />}
              {visible.length === 0 && (
                <tr>
                  <td colSpan={columns} class="muted">
                    No decisions yet. They appear here as they are made.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
      {selected && <RecordDetail record={selected} onClose={() => setSelected(undefined)} />}
    </div>
  );
}

/** One call; redrawn only when its record, its outcome or its selection changes. */
const LiveRow = memo(function LiveRow({ row: r, index, narrow, selected, onOpen }: { row: Row; index: number; narrow: boolean; selected: boolean; onOpen: (r: Row) => void }) {
  const when = time(r.time);
  const outcome = r.completedBy?.outcome ?? r.outcome;
  const open = (
    <button type="button" class="link" onClick={() => onOpen(r)} aria-label={`Open record ${r.seq} of ${when}: ${r.effect} ${r.resourceId} by ${r.agentId}, ${outcome}`}>
      {when}
    </button>
  );
  const status = (
    <>
      <EffectBadge effect={r.effect} /> <span class="muted small">{outcome}</span>
    </>
  );
  if (narrow) {
    return (
      <tr class={`live-row effect-row-${r.effect} ${selected ? 'selected' : ''}`} aria-rowindex={index + 2} data-request-id={r.requestId}>
        <td>
          <div class="live-line">
            {open} {status}
          </div>
          <div class="live-line">
            <strong>{r.agentId}</strong> · <code>{r.resourceId}</code>
          </div>
          <div class="live-line live-reason" title={r.reason}>
            {r.reason}
          </div>
        </td>
      </tr>
    );
  }
  return (
    <tr class={`live-row effect-row-${r.effect} ${selected ? 'selected' : ''}`} aria-rowindex={index + 2} data-request-id={r.requestId}>
      <td>{open}</td>
      <td>{status}</td>
      <td title={r.agentId}>{r.agentId}</td>
      <td title={r.resourceId}>{r.resourceId}</td>
      <td title={r.tenant}>{r.tenant}</td>
      <td class="live-reason" title={r.reason}>
        {r.reason}
      </td>
      <td class="num">{latency(r.completedBy?.latencyUs ?? r.latencyUs)}</td>
    </tr>
  );
});

function Spacer({ height, columns }: { height: number; columns: number }) {
  return (
    <tr class="live-spacer" aria-hidden="true">
      <td colSpan={columns} style={{ height: `${height}px` }} />
    </tr>
  );
}

/**
 * Adds records (oldest first, as the stream sends them) to the rows (newest first). New ones are
 * prepended without re-sorting; an outcome record completes the row of its decision instead of
 * taking a row of its own.
 */
function merge(old: Row[], incoming: readonly DecisionRecord[]): Row[] {
  let rows = old;
  const fresh: Row[] = [];
  const newest = old[0]?.seq ?? 0;
  for (const r of incoming) {
    if (r.seq <= newest && old.some((o) => o.seq === r.seq)) continue;
    if (r.kind === 'outcome' && r.decisionId) {
      const inFresh = fresh.findIndex((f) => f.id === r.decisionId);
      if (inFresh >= 0) {
        fresh[inFresh] = { ...fresh[inFresh]!, completedBy: r };
        continue;
      }
      // The decision is one of the newest rows: looked for among the first few hundred only.
      const at = rows.slice(0, 500).findIndex((o) => o.id === r.decisionId);
      if (at >= 0) {
        if (rows === old) rows = [...old];
        rows[at] = { ...rows[at]!, completedBy: r };
        continue;
      }
    }
    fresh.push(r);
  }
  if (fresh.length === 0) return rows;
  fresh.sort((a, b) => b.seq - a.seq);
  const merged = fresh[fresh.length - 1]!.seq > newest ? [...fresh, ...rows] : [...fresh, ...rows].sort((a, b) => b.seq - a.seq);
  return merged.length > KEEP ? merged.slice(0, KEEP) : merged;
}

const unique = (values: string[]) => [...new Set(values)].sort();
