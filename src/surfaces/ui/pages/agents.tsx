import { useState } from 'preact/hooks';
import { api } from '../api';
import { dateTime, Dl, EffectBadge, ErrorNote, time, useLoad } from '../components';
import type { Agent, DecisionRecord, Incident, Me } from '../types';
import { BreakGlassPanel } from './break-glass';

type AgentDetail = Agent & { recent: DecisionRecord[]; incidents: Incident[] };

export function AgentsPage({ me }: { me: Me }) {
  const agents = useLoad(() => api<Agent[]>('/v1/agents'));
  const incidents = useLoad(() => api<Incident[]>('/v1/incidents?limit=100'));
  const [selected, setSelected] = useState<string>();

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
            <table aria-label="Agents">
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">Roles</th>
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
                    <td>{a.tenant ?? '—'}</td>
                    <td>{a.roles.join(', ') || '—'}</td>
                    <td>
                      <span class={`badge trust-${a.trust}`}>{a.trust}</span>
                    </td>
                    <td>
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
        <IncidentList incidents={incidents.data ?? []} />
      </section>
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
                  <span class="muted">{time(r.time)}</span> <EffectBadge effect={r.effect} /> <code>{r.resourceId}</code> <span class="small">{r.reason}</span>
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
