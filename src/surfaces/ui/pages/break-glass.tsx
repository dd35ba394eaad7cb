import { useState } from 'preact/hooks';
import { api } from '../api';
import { dateTime, duration, ErrorNote, Field, useLoad } from '../components';
import type { BreakGlassGrantView, Me } from '../types';

const DURATIONS = ['15m', '30m', '1h'];

function describeScope(scope: BreakGlassGrantView['scope']): string {
  return [scope.agentId ? `agent ${scope.agentId}` : 'any agent', scope.tool ? `tool ${scope.tool}` : 'any tool', scope.tenant ? `tenant ${scope.tenant}` : 'any tenant'].join(', ');
}

/**
 * Break-glass grants: time-boxed overrides of policy denials. Everyone sees the grants of their
 * tenant (in force and recent); admins grant and revoke them. The server decides: a tenant-scoped
 * admin's grant is confined to their tenant whatever the form says.
 */
export function BreakGlassPanel({ me, agentIds }: { me: Me; agentIds: string[] }) {
  const grants = useLoad(() => api<BreakGlassGrantView[]>('/v1/break-glass'));
  const [notice, setNotice] = useState<string>();
  const changed = (message: string) => {
    setNotice(message);
    grants.reload();
  };

  return (
    <section aria-labelledby="break-glass-title">
      <h2 id="break-glass-title">Break-glass</h2>
      <p class="muted small">An active grant turns policy denials within its scope into allows, each flagged in the decision log. Grants end on their own; revoke one as soon as it is no longer needed.</p>
      {me.can.admin ? (
        <GrantForm me={me} agentIds={agentIds} onGranted={changed} />
      ) : (
        <p class="note" role="note">
          Granting and revoking break-glass needs the admin role; {me.id} can see the grants of {me.tenant === '*' ? 'every tenant' : `tenant ${me.tenant}`}.
        </p>
      )}
      <p class={notice ? 'ok' : 'visually-hidden'} role="status" aria-live="polite">
        {notice}
      </p>
      <ErrorNote error={grants.error} />
      <GrantTable grants={grants.data ?? []} canRevoke={me.can.admin} onRevoked={changed} />
    </section>
  );
}

function GrantForm({ me, agentIds, onGranted }: { me: Me; agentIds: string[]; onGranted: (message: string) => void }) {
  const [reason, setReason] = useState('');
  const [length, setLength] = useState(DURATIONS[0]!);
  const [agent, setAgent] = useState('');
  const [tool, setTool] = useState('');
  const [tenant, setTenant] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const grant = async () => {
    if (!reason.trim()) {
      setError(new Error('Give a reason: it is written to the decision log.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    const scope = { ...(agent.trim() ? { agent_id: agent.trim() } : {}), ...(tool.trim() ? { tool: tool.trim() } : {}), ...(tenant.trim() ? { tenant: tenant.trim() } : {}) };
    try {
      const g = await api<BreakGlassGrantView>('/v1/break-glass', { method: 'POST', body: { reason: reason.trim(), duration: length, scope } });
      setReason('');
      onGranted(`Granted ${g.id} for ${length}: ${describeScope(g.scope)}.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card vote" onSubmit={(e) => e.preventDefault()} aria-label="Grant break-glass">
      <div class="filters">
        <Field label="Agent (empty: any)">
          <input name="agent" list="break-glass-agents" value={agent} disabled={busy} onInput={(e) => setAgent(e.currentTarget.value)} />
        </Field>
        <datalist id="break-glass-agents">
          {agentIds.map((id) => (
            <option key={id} value={id} />
          ))}
        </datalist>
        <Field label="Tool or glob (empty: any)">
          <input name="tool" value={tool} disabled={busy} onInput={(e) => setTool(e.currentTarget.value)} />
        </Field>
        {me.tenant === '*' ? (
          <Field label="Tenant (empty: any)">
            <input name="tenant" value={tenant} disabled={busy} onInput={(e) => setTenant(e.currentTarget.value)} />
          </Field>
        ) : (
          <p class="muted small">Tenant: {me.tenant}</p>
        )}
        <Field label="For">
          <select name="duration" value={length} disabled={busy} onChange={(e) => setLength(e.currentTarget.value)}>
            {DURATIONS.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <Field label="Reason (written to the decision log)">
        <input name="reason" value={reason} disabled={busy} onInput={(e) => setReason(e.currentTarget.value)} />
      </Field>
      <div class="buttons">
        <button type="button" class="deny" disabled={busy} onClick={grant}>
          Grant break-glass
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

function GrantTable({ grants, canRevoke, onRevoked }: { grants: BreakGlassGrantView[]; canRevoke: boolean; onRevoked: (message: string) => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();

  const revoke = async (id: string) => {
    setBusy(id);
    setError(undefined);
    try {
      await api(`/v1/break-glass/${encodeURIComponent(id)}/revoke`, { method: 'POST', body: {} });
      onRevoked(`Revoked ${id}.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <>
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table aria-label="Break-glass grants" class="stack">
          <thead>
            <tr>
              <th scope="col">State</th>
              <th scope="col">Scope</th>
              <th scope="col">Granted by</th>
              <th scope="col">Ends</th>
              <th scope="col">Reason</th>
              {canRevoke && <th scope="col">Revoke</th>}
            </tr>
          </thead>
          <tbody>
            {grants.map((g) => (
              <tr key={g.id} data-grant-id={g.id}>
                <td data-label="State">
                  <span class={`badge grant-${g.state}`}>{g.state}</span>
                </td>
                <td data-label="Scope">{describeScope(g.scope)}</td>
                <td data-label="Granted by">{g.grantedBy}</td>
                <td data-label="Ends">{g.state === 'active' ? `in ${duration(g.expiresAt - Date.now())}` : dateTime(g.revokedAt ?? g.expiresAt)}</td>
                <td data-label="Reason">
                  {g.reason}
                  {g.revokedBy && <div class="muted small">revoked by {g.revokedBy}</div>}
                </td>
                {canRevoke && (
                  <td>
                    {g.state === 'active' && (
                      <button type="button" class="secondary" disabled={busy === g.id} onClick={() => revoke(g.id)} aria-label={`Revoke ${g.id}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
            {grants.length === 0 && (
              <tr>
                <td colSpan={canRevoke ? 6 : 5} class="muted">
                  No break-glass grants in force or in the last 7 days.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}
