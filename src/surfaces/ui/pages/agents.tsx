import { useCallback, useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { dateTime, Dl, EffectBadge, ErrorNote, Field, time, useInterval, useLoad } from '../components';
import { requestHref } from '../links';
import type { Agent, DecisionRecord, Incident, Me } from '../types';
import { BreakGlassPanel } from './break-glass';

type AgentDetail = Agent & { recent: DecisionRecord[]; incidents: Incident[] };
type AgentRow = Agent & { activity: { window: string; calls: number; denied: number; lastSeen?: number; capped: boolean } };

/** How often the agents and incidents are read again: a suspension shows within this. */
const REFRESH_MS = 10_000;
const SEVERITIES: Array<Incident['severity']> = ['critical', 'high', 'medium', 'low'];

export function AgentsPage({ me }: { me: Me }) {
  const agents = useLoad(() => api<AgentRow[]>('/v1/agents?activity=true'));
  const incidents = useLoad(() => api<Incident[]>('/v1/incidents?limit=1000'));
  const [selected, setSelected] = useState<string>();
  const refresh = useCallback(() => {
    agents.reload();
    incidents.reload();
  }, [agents.reload, incidents.reload]);
  useInterval(refresh, REFRESH_MS);

  return (
    <>
      <h1>Agents</h1>
      <div class={selected ? 'split' : ''}>
        <section aria-labelledby="agents-title">
          <h2 id="agents-title" class="visually-hidden">
            All agents
          </h2>
          <ErrorNote error={agents.error} />
          <div class="table-wrap">
            <table aria-label="Agents" class="stack">
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">Roles</th>
                  <th scope="col" class="num">Calls (1 h)</th>
                  <th scope="col" class="num">Denial rate</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">Trust</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {agents.data?.map((a) => (
                  <tr key={a.id} class={selected === a.id ? 'selected' : ''} data-agent-id={a.id}>
                    <th scope="row">
                      <button type="button" class="link" onClick={() => setSelected(a.id)} aria-label={`Open agent ${a.id}`}>
                        {a.id}
                      </button>
                    </th>
                    <td data-label="Tenant">{a.tenant ?? '—'}</td>
                    <td data-label="Roles">{a.roles.join(', ') || '—'}</td>
                    <td data-label="Calls (1 h)" class="num">
                      {a.activity.calls}
                      {a.activity.capped ? '+' : ''}
                    </td>
                    <td data-label="Denial rate" class="num">
                      {a.activity.calls ? `${((a.activity.denied / a.activity.calls) * 100).toFixed(0)}%` : '—'}
                    </td>
                    <td data-label="Last seen">{a.activity.lastSeen ? time(a.activity.lastSeen) : 'not in the last hour'}</td>
                    <td data-label="Trust">
                      <span class={`badge trust-${a.trust}`}>{a.trust}</span>
                    </td>
                    <td data-label="Status">
                      <span class={`badge status-${a.status}`}>{a.status}</span>
                      {a.statusReason && a.status === 'suspended' && <div class="muted small">{a.statusReason}</div>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        {selected && (
          <AgentPanel
            key={selected}
            id={selected}
            me={me}
            onClose={() => setSelected(undefined)}
            onChanged={() => {
              agents.reload();
              incidents.reload();
            }}
          />
        )}
      </div>
      <BreakGlassPanel me={me} agentIds={agents.data?.map((a) => a.id) ?? []} />
      <section aria-labelledby="incidents-title">
        <h2 id="incidents-title">Incidents</h2>
        <ErrorNote error={incidents.error} />
        <IncidentGroups incidents={incidents.data ?? []} />
      </section>
    </>
  );
}

/**
 * Incidents grouped by type and severity, the most severe first, with filters: a hundred alike
 * are one line with a count, and the one critical incident stays on top.
 */
function IncidentGroups({ incidents }: { incidents: Incident[] }) {
  const [severity, setSeverity] = useState('');
  const [type, setType] = useState('');
  const types = useMemo(() => [...new Set(incidents.map((i) => i.type))].sort(), [incidents]);
  const groups = useMemo(() => {
    const by = new Map<string, { type: string; severity: Incident['severity']; items: Incident[] }>();
    for (const i of incidents) {
      if ((severity && i.severity !== severity) || (type && i.type !== type)) continue;
      const key = `${i.severity}\u0000${i.type}`;
      const g = by.get(key) ?? { type: i.type, severity: i.severity, items: [] };
      g.items.push(i);
      by.set(key, g);
    }
    return [...by.values()].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || b.items.length - a.items.length || a.type.localeCompare(b.type));
  }, [incidents, severity, type]);
  return (
    <>
      <form class="filters" aria-label="Filter incidents" onSubmit={(e) => e.preventDefault()}>
        <Field label="Severity">
          <select name="severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
            <option value="">all</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Type">
          <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="">all</option>
            {types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </Field>
      </form>
      {groups.length === 0 ? (
        <p class="muted">{incidents.length ? 'No incidents match.' : 'No incidents.'}</p>
      ) : (
        <ul class="incidents" aria-label="Incidents by type and severity">
          {groups.map((g) => (
            <li key={`${g.severity}-${g.type}`} data-incident-group={`${g.severity}/${g.type}`}>
              <details>
                <summary>
                  <span class={`badge severity-${g.severity}`}>{g.severity}</span> {g.type} <span class="count">{g.items.length}</span>{' '}
                  <span class="muted">latest {dateTime(Math.max(...g.items.map((i) => i.time)))}</span>
                </summary>
                <IncidentList incidents={g.items.slice(0, 20)} />
                {g.items.length > 20 && <p class="muted small">and {g.items.length - 20} more like these.</p>}
              </details>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function IncidentList({ incidents }: { incidents: Incident[] }) {
  if (incidents.length === 0) return <p class="muted">No incidents.</p>;
  return (
    <ul class="incidents">
      {incidents.map((i) => (
        <li key={i.id}>
          <details>
            <summary>
              <span class={`badge severity-${i.severity}`}>{i.severity}</span> {i.type} · <strong>{i.agentId}</strong> · <span class="muted">{dateTime(i.time)}</span>
            </summary>
            <Dl
              items={[
                ['Incident', <code>{i.id}</code>],
                ['Description', i.description],
                ['Reported by', i.reportedBy],
                ['Tenant', i.tenant ?? '—'],
                ['Decision', i.decisionId ? <code>{i.decisionId}</code> : '—'],
              ]}
            />
          </details>
        </li>
      ))}
    </ul>
  );
}

function AgentPanel({ id, me, onClose, onChanged }: { id: string; me: Me; onClose: () => void; onChanged: () => void }) {
  const detail = useLoad(() => api<AgentDetail>(`/v1/agents/${encodeURIComponent(id)}`), [id]);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const a = detail.data;

  const change = async (action: 'suspend' | 'resume') => {
    if (!reason.trim()) {
      setError(new Error('Give a reason: it is written to the decision log.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await api(`/v1/agents/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: { reason: reason.trim() } });
      setReason('');
      detail.reload();
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card detail" aria-labelledby="agent-title">
      <header class="row">
        <h2 id="agent-title">{id}</h2>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </header>
      <ErrorNote error={detail.error} />
      {a && (
        <>
          <Dl
            items={[
              ['Status', <span class={`badge status-${a.status}`}>{a.status}</span>],
              ...(a.statusReason ? ([['Why', a.statusReason]] as Array<[string, string]>) : []),
              ['Trust', a.trust],
              ['Roles', a.roles.join(', ') || '—'],
              ['Tenant', a.tenant ?? '—'],
              ['Source', a.source],
              ['Updated', dateTime(a.updatedAt)],
            ]}
          />
          <form class="vote" onSubmit={(e) => e.preventDefault()} aria-label={`Suspend or resume ${id}`}>
            {!me.can.admin && (
              <p class="note" role="note">
                Suspending and resuming agents needs the admin role.
              </p>
            )}
            <label class="field">
              <span>Reason (written to the decision log)</span>
              <input name="reason" value={reason} disabled={!me.can.admin || busy} onInput={(e) => setReason(e.currentTarget.value)} />
            </label>
            <div class="buttons">
              {a.status === 'active' ? (
                <button type="button" class="deny" disabled={!me.can.admin || busy} onClick={() => change('suspend')}>
                  Suspend
                </button>
              ) : (
                <button type="button" class="approve" disabled={!me.can.admin || busy} onClick={() => change('resume')}>
                  Resume
                </button>
              )}
            </div>
            <ErrorNote error={error} />
          </form>
          <h3>Recent activity</h3>
          {a.recent.length ? (
            <ul class="activity">
              {a.recent.map((r) => (
                <li key={r.seq}>
                  <span class="muted">{time(r.time)}</span> <EffectBadge effect={r.effect} />{' '}
                  <a href={requestHref(r.requestId)}>
                    <code>{r.resourceId}</code>
                  </a>{' '}
                  <span class="small">{r.reason}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No decisions yet.</p>
          )}
          <h3>Incidents</h3>
          <IncidentList incidents={a.incidents} />
        </>
      )}
    </section>
  );
}
