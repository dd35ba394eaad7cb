import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { EffectBadge, ErrorNote, Field, latency, time, useLoad } from '../components';
import { requestHref, sessionHref } from '../links';
import { RecordDetail, Signals } from '../record-detail';
import type { DecisionRecord, SessionTimeline } from '../types';

/** Every action of one session (a run, a thread) in order, with taint and guard findings. */
export function SessionPage({ id }: { id?: string }) {
  const [input, setInput] = useState(id ?? '');
  useEffect(() => setInput(id ?? ''), [id]);
  const recent = useLoad(async () => (id ? [] : sessionsOf(await api<DecisionRecord[]>('/v1/audit?limit=500'))), [id]);

  return (
    <>
      <h1>Session timeline</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (input.trim()) location.hash = `#/sessions/${encodeURIComponent(input.trim())}`;
        }}
      >
        <Field label="Session id">
          <input name="session" value={input} onInput={(e) => setInput(e.currentTarget.value)} required />
        </Field>
        <button type="submit">Show</button>
      </form>
      {id ? (
        <Timeline key={id} id={id} />
      ) : (
        <section aria-labelledby="recent-sessions">
          <h2 id="recent-sessions">Recent sessions</h2>
          <ErrorNote error={recent.error} />
          {recent.data?.length === 0 && <p class="muted">No sessions in the recent decision log.</p>}
          <ul class="plain">
            {recent.data?.map((s) => (
              <li key={s.id}>
                <a href={sessionHref(s.id)}>{s.id}</a> <span class="muted small">{s.count} actions, last at {time(s.last)}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

function sessionsOf(records: DecisionRecord[]) {
  const by = new Map<string, { id: string; count: number; last: number }>();
  for (const r of records) {
    if (!r.sessionId) continue;
    const s = by.get(r.sessionId) ?? { id: r.sessionId, count: 0, last: 0 };
    s.count++;
    s.last = Math.max(s.last, r.time);
    by.set(r.sessionId, s);
  }
  return [...by.values()].sort((a, b) => b.last - a.last).slice(0, 30);
}

function Timeline({ id }: { id: string }) {
  const data = useLoad(() => api<SessionTimeline>(`/v1/sessions/${encodeURIComponent(id)}`), [id]);
  const [open, setOpen] = useState<number>();
  const t = data.data;
  const tainted = t?.session?.tainted || t?.records.some((r) => r.details.tainted === true || (r.details.taint !== undefined && r.details.taint !== null));

  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">
        Session <code>{id}</code>
      </h2>
      <ErrorNote error={data.error} />
      {t && (
        <>
          <p>
            {t.records.length} records
            {t.session && (
              <>
                {' '}
                · {t.session.callsUsed} calls used · spend {t.session.spend} · tenant {t.session.tenant}
              </>
            )}
            {tainted ? <strong class="badge effect-deny"> tainted</strong> : <span class="muted"> · not tainted</span>}
          </p>
          <ol class="timeline">
            {t.records.map((r) => {
              const signals = r.details.signals;
              return (
                <li key={r.seq} class={`effect-row-${r.effect}`}>
                  <div class="when">
                    <time dateTime={new Date(r.time).toISOString()}>{time(r.time)}</time>
                  </div>
                  <div class="what">
                    <button type="button" class="link" aria-expanded={open === r.seq} onClick={() => setOpen(open === r.seq ? undefined : r.seq)}>
                      <EffectBadge effect={r.effect} /> {r.kind === 'outcome' ? 'outcome of ' : ''}
                      <code>{r.resourceId}</code> by {r.agentId}
                    </button>
                    <span class="muted small">
                      {' '}
                      {r.outcome} · {latency(r.latencyUs)} ·{' '}
                    </span>
                    <a class="small" href={requestHref(r.requestId)} aria-label={`Request ${r.requestId} (${time(r.time)})`}>
                      request
                    </a>
                    <div class="small">{r.reason}</div>
                    {r.details.taint !== undefined && <div class="small">taint: {JSON.stringify(r.details.taint)}</div>}
                    <Signals signals={signals} />
                    {open === r.seq && <RecordDetail record={r} />}
                  </div>
                </li>
              );
            })}
          </ol>
        </>
      )}
    </section>
  );
}
