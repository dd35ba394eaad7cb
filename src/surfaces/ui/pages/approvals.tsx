import { useCallback, useState } from 'preact/hooks';
import { api } from '../api';
import { dateTime, duration, ErrorNote, JsonView, useInterval, useLoad } from '../components';
import type { Approval, Json, Me } from '../types';

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
        <ErrorNote error={pending.error} />
        <p class={notice ? 'ok' : 'visually-hidden'} role="status" aria-live="polite">
          {notice}
        </p>
        {pending.data?.length === 0 && <p class="muted">Nothing is waiting for approval.</p>}
        <div class="approvals">
          {pending.data?.map((a) => (
            <PendingApproval key={a.id} approval={a} me={me} timeLeft={a.expiresInMs - (Date.now() - loadedAt)}
              onDone={(message) => {
                setNotice(message);
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
          <table aria-label="Decided approvals">
            <thead>
              <tr>
                <th scope="col">Requested</th>
                <th scope="col">Agent</th>
                <th scope="col">Tool</th>
                <th scope="col">Status</th>
                <th scope="col">Votes</th>
                <th scope="col">Settled</th>
              </tr>
            </thead>
            <tbody>
              {history.data?.map((a) => (
                <tr key={a.id}>
                  <td>{dateTime(a.createdAt)}</td>
                  <td>{a.agentId}</td>
                  <td>{a.tool}</td>
                  <td>
                    <span class={`badge status-${a.status}`}>{a.status}</span>
                  </td>
                  <td>
                    {a.votes.map((v) => (
                      <div key={v.approver + v.at}>
                        {v.vote === 'approve' ? '✔' : '✘'} {v.approver}: <span class="muted">{v.reason}</span>
                      </div>
                    ))}
                  </td>
                  <td>{a.settledAt ? dateTime(a.settledAt) : '—'}</td>
                </tr>
              ))}
              {history.data?.length === 0 && (
                <tr>
                  <td colSpan={6} class="muted">
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

function PendingApproval({ approval: a, me, timeLeft, onDone }: { approval: Approval; me: Me; timeLeft: number; onDone: (message: string) => void }) {
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
      setError(e);
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
