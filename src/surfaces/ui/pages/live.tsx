import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, followDecisions, type StreamState } from '../api';
import { EffectBadge, ErrorNote, Field, latency, time } from '../components';
import { RecordDetail } from '../record-detail';
import { EFFECTS, type DecisionRecord, type Effect, type Me } from '../types';

/** Rows kept in the page; older ones are in the audit log (`GET /v1/audit`). */
const KEEP = 500;

const STATE_TEXT: Record<StreamState, string> = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', stopped: 'paused' };

export function LivePage({ me }: { me: Me }) {
  const [records, setRecords] = useState<DecisionRecord[]>([]);
  const [error, setError] = useState<unknown>();
  const [state, setState] = useState<StreamState>('connecting');
  const [paused, setPaused] = useState(false);
  const [filters, setFilters] = useState({ agent: '', tool: '', tenant: '', effect: '' as Effect | '' });
  const [selected, setSelected] = useState<DecisionRecord>();

  useEffect(() => {
    if (paused) return;
    let stop: (() => void) | undefined;
    let cancelled = false;
    // The newest records first, then everything written after them, as it happens.
    api<DecisionRecord[]>('/v1/audit?limit=100').then(
      (initial) => {
        if (cancelled) return;
        setRecords((old) => merge(old, initial));
        const after = Math.max(0, ...initial.map((r) => r.seq));
        stop = followDecisions(after, (r) => setRecords((old) => merge(old, [r])), setState);
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
      records.filter(
        (r) =>
          (!filters.agent || r.agentId.includes(filters.agent)) &&
          (!filters.tool || r.resourceId.includes(filters.tool)) &&
          (!filters.tenant || r.tenant === filters.tenant) &&
          (!filters.effect || r.effect === filters.effect),
      ),
    [records, filters],
  );
  const options = useMemo(() => ({ agents: unique(records.map((r) => r.agentId)), tools: unique(records.map((r) => r.resourceId)), tenants: unique(records.map((r) => r.tenant)) }), [records]);
  const set = (k: keyof typeof filters) => (e: Event) => setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement).value });

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
            <select name="effect" value={filters.effect} onChange={set('effect')}>
              <option value="">all</option>
              {EFFECTS.map((e) => (
                <option key={e} value={e}>
                  {e}
                </option>
              ))}
            </select>
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
          {visible.length} of {records.length} records shown; newest first.
        </p>
        <div class="table-wrap">
          <table class="records" aria-label="Decisions, newest first">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Effect</th>
                <th scope="col">Agent</th>
                <th scope="col">Tool</th>
                <th scope="col">Tenant</th>
                <th scope="col">Reason</th>
                <th scope="col" class="num">Latency</th>
              </tr>
            </thead>
            <tbody>
              {visible.map((r) => (
                <tr key={r.seq} class={`effect-row-${r.effect} ${selected?.seq === r.seq ? 'selected' : ''}`} data-request-id={r.requestId}>
                  <td>
                    <button type="button" class="link" onClick={() => setSelected(r)} aria-label={`Open record ${r.seq}: ${r.effect} ${r.resourceId} by ${r.agentId}`}>
                      {time(r.time)}
                    </button>
                  </td>
                  <td>
                    <EffectBadge effect={r.effect} />
                    {r.kind === 'outcome' && <span class="muted small"> outcome</span>}
                  </td>
                  <td>{r.agentId}</td>
                  <td>{r.resourceId}</td>
                  <td>{r.tenant}</td>
                  <td class="reason-cell" title={r.reason}>
                    <div>{r.reason}</div>
                  </td>
                  <td class="num">{latency(r.latencyUs)}</td>
                </tr>
              ))}
              {visible.length === 0 && (
                <tr>
                  <td colSpan={7} class="muted">
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

function merge(old: DecisionRecord[], incoming: DecisionRecord[]): DecisionRecord[] {
  const seen = new Set(old.map((r) => r.seq));
  const fresh = incoming.filter((r) => !seen.has(r.seq));
  if (fresh.length === 0) return old;
  return [...fresh, ...old].sort((a, b) => b.seq - a.seq).slice(0, KEEP);
}

const unique = (values: string[]) => [...new Set(values)].sort();
