import type { ComponentChildren } from 'preact';
import { dateTime, Dl, EffectBadge, JsonView, latency } from './components';
import type { DecisionRecord, Json } from './types';

const list = (v: Json | undefined): string[] => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : []);

/** Guard findings another layer puts in `details.signals` (injection, taint, sequences, …). */
export function Signals({ signals }: { signals: Json | undefined }) {
  if (!signals || typeof signals !== 'object' || Array.isArray(signals) || Object.keys(signals).length === 0) return null;
  return (
    <ul class="signals" aria-label="Guard findings">
      {Object.entries(signals).map(([guard, finding]) => (
        <li key={guard}>
          <strong>{guard}</strong>: <code>{typeof finding === 'string' ? finding : JSON.stringify(finding)}</code>
        </li>
      ))}
    </ul>
  );
}

/** One decision record in full: what was asked (redacted), which rules, what was done. */
export function RecordDetail({ record, onClose }: { record: DecisionRecord; onClose?: () => void }) {
  const { matched, advice, shadow, signals, obligationsApplied, ...otherDetails } = record.details;
  return (
    <section class="detail card" aria-labelledby="detail-title">
      <header class="row">
        <h2 id="detail-title">
          <EffectBadge effect={record.effect} /> {record.resourceId} <span class="muted">by {record.agentId}</span>
        </h2>
        {onClose && (
          <button type="button" class="secondary" onClick={onClose} aria-label="Close the record">
            Close
          </button>
        )}
      </header>
      <p class="reason">{record.reason}</p>
      <Dl
        items={[
          ['Time', dateTime(record.time)],
          ['Outcome', record.outcome],
          ['Stage', record.stage],
          ['Latency', latency(record.latencyUs)],
          ['Rule', record.rule ? `${record.policy ?? '?'} v${record.policyVersion ?? '?'} / ${record.rule}` : '—'],
          ['Tenant', record.tenant],
          ['Session', record.sessionId ? <a href={`#/sessions/${encodeURIComponent(record.sessionId)}`}>{record.sessionId}</a> : '—'],
          ['User', record.userId ?? '—'],
          ['Request id', <code>{record.requestId}</code>],
          ['Trace id', record.traceId ? <code>{record.traceId}</code> : '—'],
          ['Record', <code>{`#${record.seq} ${record.id}`}</code>],
          ...(record.approvalId ? ([['Approval', <code>{record.approvalId}</code>]] as Array<[string, ComponentChildren]>) : []),
          ...(record.breakGlass ? ([['Break-glass', <code>{record.breakGlass}</code>]] as Array<[string, ComponentChildren]>) : []),
        ]}
      />
      <h3>Matched rules</h3>
      {list(matched).length ? (
        <ul>
          {list(matched).map((m) => (
            <li key={m}>
              <code>{m}</code>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">none {record.stage !== 'policy' ? `(ended at the ${record.stage} stage, before the policy)` : ''}</p>
      )}
      {list(advice).length > 0 && (
        <>
          <h3>Advice</h3>
          <ul>
            {list(advice).map((a) => (
              <li key={a}>{a}</li>
            ))}
          </ul>
        </>
      )}
      {signals !== undefined && (
        <>
          <h3>Guard findings</h3>
          <Signals signals={signals} />
        </>
      )}
      <h3>Obligations</h3>
      {record.obligations.length ? <JsonView value={record.obligations as unknown as Json} label="Obligations" /> : <p class="muted">none</p>}
      {obligationsApplied !== undefined && <p class="small">Applied: {list(obligationsApplied).join(', ')}</p>}
      <h3>Request arguments (redacted)</h3>
      <JsonView value={record.args} label="Request arguments" />
      {record.resultSummary !== undefined && (
        <>
          <h3>Result (summary, redacted)</h3>
          <JsonView value={record.resultSummary} label="Result summary" />
        </>
      )}
      {shadow !== undefined && (
        <>
          <h3>Shadow policies</h3>
          <JsonView value={shadow} label="Shadow results" />
        </>
      )}
      {Object.keys(otherDetails).length > 0 && (
        <>
          <h3>Other details</h3>
          <JsonView value={otherDetails} label="Other details" />
        </>
      )}
    </section>
  );
}
