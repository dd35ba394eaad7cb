import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, qs } from '../api';
import { DecisionsChart } from '../chart';
import { Card, dateTime, EffectBadge, ErrorNote, shortHash, time, useInterval, useLoad } from '../components';
import { requestHref } from '../links';
import type { ChainStatus, Compliance, DecisionRecord } from '../types';

/** What a chart bar or a top-N entry drills into: the log records of that minute, tool or agent. */
type Drill = { title: string; query: Record<string, string | number | undefined> };

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function OverviewPage() {
  const compliance = useLoad(() => api<Compliance>('/v1/compliance'));
  const chain = useLoad(() => api<ChainStatus>('/v1/audit/verify'));
  const reload = useCallback(() => {
    compliance.reload();
    chain.reload();
  }, [compliance.reload, chain.reload]);
  useInterval(reload, 10_000);
  const c = compliance.data;
  const [drill, setDrill] = useState<Drill>();
  const since = c ? c.window : undefined;

  return (
    <>
      <h1>Overview</h1>
      <ErrorNote error={compliance.error} />
      {c && (
        <div class="grid">
          <Card title="Decisions per minute" class="wide">
            <DecisionsChart
              series={c.series}
              now={Date.now()}
              onPick={(from, to, label) => setDrill({ title: `Decisions of the minute ${label}`, query: { since: new Date(from).toISOString(), until: new Date(to - 1).toISOString() } })}
            />
          </Card>
          {drill && <DrillDown key={JSON.stringify(drill)} drill={drill} onClose={() => setDrill(undefined)} />}
          <Card title="Denial rate">
            <p class={`big status-${c.status}`}>{pct(c.denialRate)}</p>
            <Meter value={c.denialRate} warning={c.thresholds.warning} critical={c.thresholds.critical} />
            <p class="small">
              Status <strong class={`status-${c.status}`}>{c.status}</strong> over the last {c.window}: {c.totals.decisions} decisions, {c.totals.deny} denied. Thresholds: warning {pct(c.thresholds.warning)}, critical{' '}
              {pct(c.thresholds.critical)}.
            </p>
          </Card>
          <Card title="Pending approvals">
            <p class="big">{c.pendingApprovals}</p>
            <p class="small">
              <a href="#/approvals">Open the approval queue</a>
            </p>
          </Card>
          <Card title="Audit chain">
            <ErrorNote error={chain.error} />
            {chain.data ? <ChainCard status={chain.data} /> : <p class="muted">verifying…</p>}
          </Card>
          <Card title="Policy bundle in force">
            <p>
              <code title={c.policyBundle.bundle}>{shortHash(c.policyBundle.bundle)}</code>
            </p>
            <p class="small">
              {c.policyBundle.policies.length} policies ({c.policyBundle.policies.filter((p) => p.mode === 'shadow').length} in shadow mode). <a href="#/policies">Policies</a>
            </p>
          </Card>
          <Card title="Top denied tools">
            <TopList
              items={c.topDeniedTools.map((t) => [t.tool, t.count])}
              empty="No denials in the window."
              onPick={(tool) => setDrill({ title: `Denied calls of ${tool}`, query: { tool, effect: 'deny', since } })}
            />
          </Card>
          <Card title="Top denied agents">
            <TopList
              items={c.topOffendingAgents.map((t) => [t.agentId, t.count])}
              empty="No denials in the window."
              onPick={(agent) => setDrill({ title: `Denied calls of ${agent}`, query: { agent, effect: 'deny', since } })}
            />
          </Card>
          <Card title="Suspended agents">
            {c.suspendedAgents.length ? (
              <ul class="plain">
                {c.suspendedAgents.map((a) => (
                  <li key={a.id}>
                    <strong>{a.id}</strong> <span class="muted small">{a.reason}</span>
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">None.</p>
            )}
          </Card>
        </div>
      )}
    </>
  );
}

/** The chain's status: intact or every problem, and the checkpoint verification started from. */
function ChainCard({ status: s }: { status: ChainStatus }) {
  const problems = [
    ...s.breaks.map((b) => `record #${b.seq}: ${b.problem}`),
    ...s.checkpointProblems.map((p) => `checkpoint #${p.seq} (${p.source}): ${p.problem}`),
  ];
  const more = s.breakCount - s.breaks.length;
  return (
    <>
      <p class={`big ${s.ok ? 'status-healthy' : 'status-critical'}`}>{s.ok ? 'intact' : 'BROKEN'}</p>
      <p class="small">
        Head {s.head ? `#${s.head.seq} ${shortHash(s.head.hash)}` : '— (no records)'}.{' '}
        {s.verifiedFrom > 0 ? `${s.checked} records verified since checkpoint #${s.verifiedFrom}.` : `${s.checked} records verified.`}
      </p>
      {s.checkpoint ? (
        <p class="small" data-testid="last-checkpoint">
          Last verified checkpoint: <strong>#{s.checkpoint.seq}</strong> {shortHash(s.checkpoint.hash)}, signed {dateTime(Date.parse(s.checkpoint.time))} by <code>{s.checkpoint.keyId}</code>
          {s.checkpoint.anchored ? ', anchored' : ', in the database'}
          {s.checkpoint.signatureChecked ? '' : ' (signature not checked)'}.
        </p>
      ) : (
        <p class="small muted" data-testid="last-checkpoint">
          {s.signing ? 'No checkpoint signed yet.' : 'No signed checkpoints (audit.checkpoints is off): removing the newest records or rewriting the chain cannot be detected.'}
        </p>
      )}
      {problems.length > 0 && (
        <ul class="plain small" aria-label="Chain problems">
          {problems.slice(0, 5).map((p) => (
            <li key={p}>{p}</li>
          ))}
          {problems.length + more > 5 && <li class="muted">… and {problems.length + more - 5} more (run warden audit verify)</li>}
        </ul>
      )}
    </>
  );
}

/** The newest requests behind a bar or a top-N entry, each linked to its request page. */
function DrillDown({ drill, onClose }: { drill: Drill; onClose: () => void }) {
  const records = useLoad(() => api<DecisionRecord[]>(`/v1/audit${qs({ ...drill.query, limit: 20 })}`), []);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section class="card wide" aria-labelledby="drill-title">
      <header class="row">
        <h2 id="drill-title" ref={heading} tabIndex={-1}>
          {drill.title}
        </h2>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </header>
      <ErrorNote error={records.error} />
      {records.data?.length === 0 && <p class="muted">No records (they may be outside your tenant).</p>}
      <ul class="plain drill" aria-label={drill.title}>
        {records.data?.map((r) => (
          <li key={r.seq}>
            <a href={requestHref(r.requestId)}>
              {time(r.time)} · {r.resourceId} by {r.agentId}
            </a>{' '}
            <EffectBadge effect={r.effect} /> <span class="muted small">{r.reason}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function TopList({ items, empty, onPick }: { items: Array<[string, number]>; empty: string; onPick: (name: string) => void }) {
  if (items.length === 0) return <p class="muted">{empty}</p>;
  const max = Math.max(...items.map((i) => i[1]));
  return (
    <ol class="top">
      {items.slice(0, 5).map(([name, n]) => (
        <li key={name}>
          <button type="button" class="link name" onClick={() => onPick(name)} aria-label={`${name}: ${n}. Show these requests`}>
            {name}
          </button>
          <span class="bar" aria-hidden="true">
            <span style={{ width: `${(n / max) * 100}%` }} />
          </span>
          <span class="n">{n}</span>
        </li>
      ))}
    </ol>
  );
}

/** The denial rate against the warning and critical thresholds. */
function Meter({ value, warning, critical }: { value: number; warning: number; critical: number }) {
  const scale = Math.max(critical * 1.5, value, 0.01);
  const at = (x: number) => `${Math.min(100, (x / scale) * 100)}%`;
  return (
    <div class="meter" role="meter" aria-valuemin={0} aria-valuemax={1} aria-valuenow={value} aria-label="Denial rate against thresholds">
      <span class="fill" style={{ width: at(value) }} />
      <span class="mark warning" style={{ left: at(warning) }} title={`warning ${pct(warning)}`} />
      <span class="mark critical" style={{ left: at(critical) }} title={`critical ${pct(critical)}`} />
    </div>
  );
}
