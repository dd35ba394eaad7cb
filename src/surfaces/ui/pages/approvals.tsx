import { useCallback, useState } from 'preact/hooks';
import { api, ApiError, qs } from '../api';
import { dateTime, duration, ErrorNote, JsonView, useInterval, useLoad } from '../components';
import { requestHref, sessionHref } from '../links';
import { canAskForNotifications } from '../pending-approvals';
import { Signals } from '../record-detail';
import type { Approval, DecisionRecord, Json, Me } from '../types';

/** A vote that lost a race: kept on the page (the card is gone at the next refresh) until dismissed. */
type Conflict = { id: string; what: string; message: string };

export function ApprovalsPage({ me }: { me: Me }) {
  const [loadedAt, setLoadedAt] = useState(Date.now());
  const pending = useLoad(async () => {
    const list = await api<Approval[]>('/v1/approvals?status=pending&limit=200');
    setLoadedAt(Date.now());
    return list;
  });
  const history = useLoad(async () => (await api<Approval[]>('/v1/approvals?limit=200')).filter((a) => a.status !== 'pending'));
  const [, setNow] = useState(0);
  const [notice, setNotice] = useState<string>();
  const [conflicts, setConflicts] = useState<Conflict[]>([]);
  const [askable, setAskable] = useState(canAskForNotifications);
  const reloadAll = useCallback(() => {
    pending.reload();
    history.reload();
  }, [pending.reload, history.reload]);
  useInterval(reloadAll, 5_000);
  useInterval(
    useCallback(() => setNow((n) => n + 1), []),
    1_000,
  );

  return (
    <>
      <h1>Approvals</h1>
      <section aria-labelledby="pending-title">
        <h2 id="pending-title">
          Waiting for a decision <span class="count">{pending.data?.length ?? 0}</span>
        </h2>
        {!me.can.approve && (
          <p class="note" role="note">
            You are signed in as a viewer ({me.id}): you can see the queue, but approving or denying needs the approver role.
          </p>
        )}
        {me.can.approve && askable && (
          <p class="small">
            <button
              type="button"
              class="secondary"
              onClick={() => {
                void Notification.requestPermission().then(() => setAskable(canAskForNotifications()));
              }}
            >
              Notify me of new approvals
            </button>
          </p>
        )}
        <ErrorNote error={pending.error} />
        <p class={notice ? 'ok' : 'visually-hidden'} role="status" aria-live="polite">
          {notice}
        </p>
        {conflicts.length > 0 && (
          <ul class="plain" aria-label="Votes that came too late">
            {conflicts.map((c) => (
              <li key={c.id} class="note" data-conflict-approval={c.id}>
                {c.what}: {c.message}{' '}
                <button type="button" class="link" onClick={() => setConflicts((all) => all.filter((x) => x.id !== c.id))}>
                  Dismiss
                </button>
              </li>
            ))}
          </ul>
        )}
        {pending.data?.length === 0 && <p class="muted">Nothing is waiting for approval.</p>}
        <div class="approvals">
          {pending.data?.map((a) => (
            <PendingApproval key={a.id} approval={a} me={me} timeLeft={a.expiresInMs - (Date.now() - loadedAt)}
              onDone={(message) => {
                setNotice(message);
                reloadAll();
              }}
              onConflict={(message) => {
                setConflicts((all) => [...all.filter((c) => c.id !== a.id), { id: a.id, what: `${a.tool} for ${a.agentId}`, message }]);
                reloadAll();
              }}
            />
          ))}
        </div>
      </section>
      <section aria-labelledby="history-title">
        <h2 id="history-title">Decided</h2>
        <ErrorNote error={history.error} />
        <div class="table-wrap">
          <table aria-label="Decided approvals" class="stack">
            <thead>
              <tr>
                <th scope="col">Requested</th>
                <th scope="col">Agent</th>
                <th scope="col">Tool</th>
                <th scope="col">Status</th>
                <th scope="col">Votes</th>
                <th scope="col">Arguments (redacted)</th>
                <th scope="col">Result (redacted)</th>
                <th scope="col">Settled</th>
              </tr>
            </thead>
            <tbody>
              {history.data?.map((a) => (
                <tr key={a.id} data-approval-id={a.id}>
                  <td data-label="Requested">
                    <a href={requestHref(a.requestId)} aria-label={`Request of ${dateTime(a.createdAt)}: ${a.tool} for ${a.agentId}`}>
                      {dateTime(a.createdAt)}
                    </a>
                  </td>
                  <td data-label="Agent">{a.agentId}</td>
                  <td data-label="Tool">{a.tool}</td>
                  <td data-label="Status">
                    <span class={`badge status-${a.status}`}>{a.status}</span>
                  </td>
                  <td data-label="Votes">
                    {a.votes.map((v) => (
                      <div key={v.approver + v.at}>
                        {v.vote === 'approve' ? '✔' : '✘'} {v.approver}: <span class="muted">{v.reason}</span>
                      </div>
                    ))}
                  </td>
                  <td data-label="Arguments">
                    <code class="wrap small">{JSON.stringify(a.argsRedacted)}</code>
                  </td>
                  <td data-label="Result">{a.result !== undefined ? <code class="wrap small">{JSON.stringify(a.result)}</code> : <span class="muted">—</span>}</td>
                  <td data-label="Settled">{a.settledAt ? dateTime(a.settledAt) : '—'}</td>
                </tr>
              ))}
              {history.data?.length === 0 && (
                <tr>
                  <td colSpan={8} class="muted">
                    No decided approvals yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

function PendingApproval({ approval: a, me, timeLeft, onDone, onConflict }: { approval: Approval; me: Me; timeLeft: number; onDone: (message: string) => void; onConflict: (message: string) => void }) {
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const blocked = !me.can.approve ? `Approving needs the approver role; ${me.id} is a viewer.` : a.canDecide === false ? (a.cannotDecideBecause ?? 'You may not decide this request.') : undefined;
  const titleId = `approval-${a.id}`;
  const reasonId = `reason-${a.id}`;

  const vote = async (which: 'approve' | 'deny') => {
    if (!reason.trim()) {
      setError(new Error('Give a reason: it is written to the decision log.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const r = await api<{ approval: Approval; execution?: { status: string } }>(`/v1/approvals/${encodeURIComponent(a.id)}/${which}`, { method: 'POST', body: { reason: reason.trim() } });
      onDone(`${which === 'approve' ? 'Approved' : 'Denied'} ${a.tool} for ${a.agentId}: the request is now ${r.approval.status}${r.execution ? ` (execution ${r.execution.status})` : ''}.`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) onConflict(e.message);
      else setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <article class="card approval" aria-labelledby={titleId} data-approval-id={a.id}>
      <h3 id={titleId}>
        <code>{a.tool}</code> for <strong>{a.agentId}</strong>
        {a.userId && <span class="muted"> on behalf of {a.userId}</span>}
      </h3>
      <p class="reason">{a.reason}</p>
      <dl class="facts">
        <div>
          <dt>Time left</dt>
          <dd class={timeLeft < 5 * 60_000 ? 'urgent' : ''}>{duration(timeLeft)}</dd>
        </div>
        <div>
          <dt>Approvers</dt>
          <dd>
            {a.requirement.approvers.join(', ')} (quorum {a.requirement.quorum})
          </dd>
        </div>
        <div>
          <dt>Rule</dt>
          <dd>{a.rule ? `${a.policy ?? '?'} / ${a.rule}` : '—'}</dd>
        </div>
        <div>
          <dt>Tenant</dt>
          <dd>{a.tenant}</dd>
        </div>
        <div>
          <dt>Requested</dt>
          <dd>{dateTime(a.createdAt)}</dd>
        </div>
        <div>
          <dt>Votes so far</dt>
          <dd>{a.votes.length ? a.votes.map((v) => `${v.vote} by ${v.approver}`).join('; ') : 'none'}</dd>
        </div>
      </dl>
      <p class="small">
        <a href={requestHref(a.requestId)}>The request and its record</a>
        {a.sessionId && (
          <>
            {' · '}
            <a href={sessionHref(a.sessionId)}>session {a.sessionId}</a>
          </>
        )}
      </p>
      <Trigger approval={a} />
      <h4>Arguments, frozen (redacted)</h4>
      <JsonView value={a.argsRedacted as Json} label={`Arguments of ${a.tool}`} />
      <form class="vote" onSubmit={(e) => e.preventDefault()} aria-label={`Decide ${a.tool} for ${a.agentId}`}>
        {blocked && (
          <p class="note" role="note">
            {blocked}
          </p>
        )}
        <label class="field" for={reasonId}>
          <span>Reason (written to the decision log)</span>
        </label>
        <textarea id={reasonId} rows={2} value={reason} disabled={!!blocked || busy} onInput={(e) => setReason(e.currentTarget.value)} />
        <div class="buttons">
          <button type="button" class="approve" disabled={!!blocked || busy} onClick={() => vote('approve')}>
            Approve
          </button>
          <button type="button" class="deny" disabled={!!blocked || busy} onClick={() => vote('deny')}>
            Deny
          </button>
        </div>
        <ErrorNote error={error} />
      </form>
    </article>
  );
}

/**
 * What made the gateway hold the call: the guard findings and the user's prompt (both redacted)
 * of the decision record that asked for the approval. Read once per card: the record never changes.
 */
function Trigger({ approval: a }: { approval: Approval }) {
  const record = useLoad(async () => {
    const records = await api<DecisionRecord[]>(`/v1/audit${qs({ request: a.requestId, limit: 20 })}`);
    return records.find((r) => r.id === a.decisionId) ?? records.find((r) => r.approvalId === a.id);
  }, [a.id]);
  const r = record.data;
  if (!r) return null;
  // The request the PDP saw, as recorded for replay (model/recorded-request.ts): already redacted.
  const prompt = at(r.details.pdpInput, 'request', 'context', 'userPrompt');
  if (!prompt && r.details.signals === undefined) return null;
  return (
    <>
      <h4>Why it was held</h4>
      <Signals signals={r.details.signals} />
      {prompt && (
        <>
          <h4>The user's prompt (redacted)</h4>
          <pre class="json" tabIndex={0} aria-label={`Prompt of ${a.tool} for ${a.agentId}`}>
            {prompt}
          </pre>
        </>
      )}
    </>
  );
}

/** A string at `path` in a JSON value, if there is one. */
function at(value: Json | undefined, ...path: string[]): string | undefined {
  let v = value;
  for (const key of path) v = v && typeof v === 'object' && !Array.isArray(v) ? v[key] : undefined;
  return typeof v === 'string' ? v : undefined;
}
