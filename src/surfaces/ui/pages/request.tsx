import { api, qs } from '../api';
import { dateTime, Dl, EffectBadge, ErrorNote, JsonView, latency, useLoad } from '../components';
import { sessionHref } from '../links';
import { Signals } from '../record-detail';
import type { Approval, DecisionRecord, Json } from '../types';

const list = (v: Json | undefined): string[] => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : []);

/**
 * Everything about one request, in the order it happened: what was decided and why, what the
 * guards found, who voted, what ran and what came back. The records come from the decision log
 * (`GET /v1/audit?request=`), the votes from the approval they name.
 */
export function RequestPage({ id }: { id: string }) {
  const data = useLoad(async () => {
    const records = (await api<DecisionRecord[]>(`/v1/audit${qs({ request: id, limit: 100 })}`)).sort((a, b) => a.seq - b.seq);
    const approvalIds = [...new Set(records.map((r) => r.approvalId).filter((a): a is string => !!a))];
    const approvals = await Promise.all(approvalIds.map((a) => api<Approval>(`/v1/approvals/${encodeURIComponent(a)}`).catch(() => undefined)));
    return { records, approvals: approvals.filter((a): a is Approval => !!a) };
  }, [id]);
  const records = data.data?.records ?? [];
  const decision = records.find((r) => r.kind === 'decision');
  const finals = records.filter((r) => r.kind === 'outcome' || r.outcome === 'executed' || r.outcome === 'error');
  const last = records[records.length - 1];

  return (
    <>
      <h1 tabIndex={-1}>
        Request <code class="wrap">{id}</code>
      </h1>
      <ErrorNote error={data.error} />
      {data.data && records.length === 0 && <p class="muted">No record of this request in the decision log (or not one you may see).</p>}
      {decision && (
        <section class="card request-card" aria-labelledby="request-decision">
          <h2 id="request-decision">Decision</h2>
          <p class="reason">
            <EffectBadge effect={decision.effect} /> {decision.reason}
          </p>
          <Dl
            items={[
              ['Time', dateTime(decision.time)],
              ['Agent', decision.agentId],
              ['Tool', <code>{decision.resourceId}</code>],
              ['Tenant', decision.tenant],
              ['Session', decision.sessionId ? <a href={sessionHref(decision.sessionId)}>{decision.sessionId}</a> : '—'],
              ['User', decision.userId ?? '—'],
              ['Ended at stage', decision.stage],
              ['Rule', decision.rule ? `${decision.policy ?? '?'} v${decision.policyVersion ?? '?'} / ${decision.rule}` : '—'],
              ['Now', last ? last.outcome : '—'],
            ]}
          />
          <h3>Explanation</h3>
          {list(decision.details.matched).length ? (
            <ul>
              {list(decision.details.matched).map((m) => (
                <li key={m}>
                  <code>{m}</code>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No rule matched{decision.stage !== 'policy' ? ` (the request ended at the ${decision.stage} stage, before the policy)` : ''}.</p>
          )}
          {list(decision.details.advice).length > 0 && (
            <ul aria-label="Advice">
              {list(decision.details.advice).map((a) => (
                <li key={a}>{a}</li>
              ))}
            </ul>
          )}
          <h3>Guard findings</h3>
          {decision.details.signals !== undefined ? <Signals signals={decision.details.signals} /> : <p class="muted">none</p>}
          <h3>Arguments (redacted)</h3>
          <JsonView value={decision.args} label="Request arguments" />
        </section>
      )}
      {data.data?.approvals.map((a) => (
        <section key={a.id} class="card request-card" aria-labelledby={`request-approval-${a.id}`}>
          <h2 id={`request-approval-${a.id}`}>Approval</h2>
          <p>
            <span class={`badge status-${a.status}`}>{a.status}</span> needs {a.requirement.approvers.join(', ')} (quorum {a.requirement.quorum}); requested {dateTime(a.createdAt)}
            {a.settledAt ? `, settled ${dateTime(a.settledAt)}` : ''}.
          </p>
          {a.votes.length ? (
            <ul aria-label="Approval votes">
              {a.votes.map((v) => (
                <li key={v.approver + v.at}>
                  {v.vote === 'approve' ? 'approved' : 'denied'} by <strong>{v.approver}</strong> at {dateTime(v.at)}: {v.reason}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No votes yet.</p>
          )}
          <p class="small">
            <a href="#/approvals">Approval queue</a>
          </p>
        </section>
      ))}
      {finals.length > 0 && (
        <section class="card request-card" aria-labelledby="request-execution">
          <h2 id="request-execution">Execution</h2>
          {finals.map((r) => {
            const applied = list(r.details.obligationsApplied);
            return (
              <div key={r.seq}>
                <p>
                  <span class={`badge status-${r.outcome}`}>{r.outcome}</span> {dateTime(r.time)} · {latency(r.latencyUs)} · {r.reason}
                </p>
                <h3>Obligations applied</h3>
                {applied.length ? <p>{applied.join(', ')}</p> : r.obligations.length ? <JsonView value={r.obligations as unknown as Json} label="Obligations" /> : <p class="muted">none</p>}
                <h3>Result summary (redacted)</h3>
                {r.resultSummary !== undefined ? <JsonView value={r.resultSummary} label="Result summary" /> : <p class="muted">none</p>}
              </div>
            );
          })}
        </section>
      )}
      {records.length > 0 && (
        <section aria-labelledby="request-records">
          <h2 id="request-records">Decision-log records</h2>
          <ul class="plain">
            {records.map((r) => (
              <li key={r.seq}>
                <code>#{r.seq}</code> {r.kind} <EffectBadge effect={r.effect} /> {r.outcome} · {dateTime(r.time)} · <code class="wrap">{r.id}</code>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}
