import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { dateTime, Dl, EffectBadge, JsonView, latency } from './components';
import { requestHref, sessionHref } from './links';
import type { DecisionRecord, Json } from './types';

const list = (v: Json | undefined): string[] => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : []);

/**
 * A guard's finding in words where its shape is known (injection scans: where, score and what
 * was found), else as JSON.
 */
function describeFinding(finding: Json): string {
  if (typeof finding === 'string') return finding;
  if (finding && typeof finding === 'object' && !Array.isArray(finding)) {
    const scans = Object.entries(finding).filter((e): e is [string, { [k: string]: Json }] => {
      const v = e[1];
      return !!v && typeof v === 'object' && !Array.isArray(v) && Array.isArray(v.findings);
    });
    if (scans.length && scans.length === Object.keys(finding).length) {
      return scans
        .map(([where, scan]) => {
          const details = (scan.findings as Json[]).map((f) => (f && typeof f === 'object' && !Array.isArray(f) && typeof f.detail === 'string' ? f.detail : JSON.stringify(f)));
          return `in the ${where}, score ${String(scan.score)}: ${details.join('; ')}`;
        })
        .join(' · ');
    }
  }
  return JSON.stringify(finding);
}

/** Guard findings another layer puts in `details.signals` (injection, taint, sequences, …). */
export function Signals({ signals }: { signals: Json | undefined }) {
  if (!signals || typeof signals !== 'object' || Array.isArray(signals) || Object.keys(signals).length === 0) return null;
  return (
    <ul class="signals" aria-label="Guard findings">
      {Object.entries(signals).map(([guard, finding]) => (
        <li key={guard}>
          <strong>{guard}</strong>: <code class="wrap">{describeFinding(finding)}</code>
        </li>
      ))}
    </ul>
  );
}

/** One decision record in full: what was asked (redacted), which rules, what was done. */
export function RecordDetail({ record, onClose }: { record: DecisionRecord; onClose?: () => void }) {
  const { matched, advice, shadow, signals, obligationsApplied, ...otherDetails } = record.details;
  const heading = useRef<HTMLHeadingElement>(null);
  usePanelFocus(heading, record.seq, onClose);
  return (
    <section class="detail card" aria-labelledby="detail-title">
      <header class="row">
        <h2 id="detail-title" ref={heading} tabIndex={-1}>
          <EffectBadge effect={record.effect} /> {record.resourceId} <span class="muted">by {record.agentId}</span>
        </h2>
        {onClose && (
          <button type="button" class="secondary" onClick={onClose} aria-label="Close the record">
            Close
          </button>
        )}
      </header>
      <p class="reason">{record.reason}</p>
      <p class="small">
        <a href={requestHref(record.requestId)}>Follow this request</a> (decision, votes, execution, result)
      </p>
      <Dl
        items={[
          ['Time', dateTime(record.time)],
          ['Outcome', record.outcome],
          ['Stage', record.stage],
          ['Latency', latency(record.latencyUs)],
          ['Rule', record.rule ? `${record.policy ?? '?'} v${record.policyVersion ?? '?'} / ${record.rule}` : '—'],
          ['Tenant', record.tenant],
          ['Session', record.sessionId ? <a href={sessionHref(record.sessionId)}>{record.sessionId}</a> : '—'],
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
      <ArgsView args={record.args} />
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

/**
 * A record opened in a side panel takes the focus (its heading), Escape closes it, and the focus
 * goes back where it was (the row's button) when it closes.
 */
function usePanelFocus(heading: { current: HTMLElement | null }, key: number, onClose: (() => void) | undefined): void {
  const opener = useRef<Element | null>(null);
  useEffect(() => {
    if (!onClose) return;
    // The control that opened this record (another row, while the panel was already open, too).
    const active = document.activeElement;
    if (active && !heading.current?.closest('section')?.contains(active)) opener.current = active;
    heading.current?.focus();
  }, [key, !!onClose]);
  useEffect(() => {
    if (!onClose) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !e.defaultPrevented) {
        e.preventDefault();
        onClose();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
  useEffect(
    () => () => {
      const back = opener.current;
      // After this render: the Live table may redraw the opener's row in the same render that
      // closes the panel (a new element for the same record), so the row is found again by its id.
      const row = back?.closest('tr')?.getAttribute('data-request-id');
      setTimeout(() => {
        const target = back instanceof HTMLElement && back.isConnected ? back : row ? document.querySelector<HTMLElement>(`tr[data-request-id="${CSS.escape(row)}"] button`) : null;
        target?.focus();
      });
    },
    [],
  );
}

/**
 * Arguments a call was refused before they were checked are kept as a short redacted preview
 * (`{ unvalidated: "<text>" }`): shown as that text, and not at all when there was nothing.
 */
function ArgsView({ args }: { args: Json }) {
  if (args && typeof args === 'object' && !Array.isArray(args) && Object.keys(args).length === 1 && typeof args.unvalidated === 'string') {
    const text = args.unvalidated;
    if (text === '{}' || text === '' || text === 'undefined' || text === 'null') return <p class="muted">none sent</p>;
    return (
      <>
        <p class="small muted">Not checked: the call was refused before its arguments were validated. A redacted preview:</p>
        <pre class="json" tabIndex={0} aria-label="Unvalidated arguments (preview)">
          {text}
        </pre>
      </>
    );
  }
  return <JsonView value={args} label="Request arguments" />;
}
