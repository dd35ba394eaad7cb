import { useState } from 'preact/hooks';
import { api } from '../api';
import { Card, dateTime, EffectBadge, ErrorNote, Field, JsonView, shortHash, useLoad } from '../components';
import type { Json, Me, Policies, PolicyTests, TryResult } from '../types';
import { DraftImpact } from './draft-impact';

export function PoliciesPage({ me }: { me?: Me } = {}) {
  const policies = useLoad(() => api<Policies>('/v1/policies'));
  const tests = useLoad(() => api<PolicyTests>('/v1/policies/tests'));
  const p = policies.data;

  return (
    <>
      <h1>Policies</h1>
      <ErrorNote error={policies.error} />
      <div class="grid">
        <Card title="Bundle in force" class="wide">
          {p && (
            <>
              <p>
                <code class="wrap">{p.bundle}</code>
              </p>
              {p.replicas && p.replicas.length > 0 && <Replicas replicas={p.replicas} />}
              <h3>History</h3>
              <ol class="history">
                {p.history.map((h, i) => (
                  <li key={h.bundle + h.loadedAt}>
                    <code title={h.bundle}>{shortHash(h.bundle)}</code> <span class="muted">loaded {dateTime(h.loadedAt)}</span> — {h.policies.map((x) => `${x.id} v${x.version}`).join(', ')}
                    {i === p.history.findIndex((x) => x.bundle === p.bundle) && <strong> (in force)</strong>}
                  </li>
                ))}
              </ol>
            </>
          )}
        </Card>
        <Card title="Policy files" class="wide">
          <div class="table-wrap">
            <table aria-label="Policies in force" class="stack">
              <thead>
                <tr>
                  <th scope="col">Policy</th>
                  <th scope="col">Version</th>
                  <th scope="col">Mode</th>
                  <th scope="col">Owner</th>
                  <th scope="col">File</th>
                  <th scope="col">Rules</th>
                </tr>
              </thead>
              <tbody>
                {p?.policies.map((x) => (
                  <tr key={x.id}>
                    <th scope="row" title={x.description}>
                      {x.id}
                    </th>
                    <td data-label="Version">{x.version}</td>
                    <td data-label="Mode">{x.mode === 'shadow' ? <span class="badge status-pending">shadow</span> : 'enforce'}</td>
                    <td data-label="Owner">{x.owner ?? '—'}</td>
                    <td data-label="File">
                      <code class="wrap">{x.file}</code>
                    </td>
                    <td data-label="Rules">
                      <details>
                        <summary>{x.rules.length} rules</summary>
                        <ul class="rules">
                          {x.rules.map((r) => (
                            <li key={r.id}>
                              <EffectBadge effect={r.effect} /> <code>{r.id}</code>
                              {r.tools && <span class="muted"> tools {r.tools.join(', ')}</span>}
                              {r.when && (
                                <div>
                                  <code class="small">when {r.when}</code>
                                </div>
                              )}
                            </li>
                          ))}
                        </ul>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
        <div class="wide cols2">
        <Card title="Policy tests">
          <ErrorNote error={tests.error} />
          {tests.data && (
            <>
              <p>
                <strong class={tests.data.failed ? 'status-critical' : 'status-healthy'}>
                  {tests.data.passed} passed, {tests.data.failed} failed
                </strong>{' '}
                <button type="button" class="secondary" onClick={tests.reload}>
                  Run again
                </button>
              </p>
              {tests.data.diagnostics.map((d) => (
                <p class="error" key={`${d.file}:${d.line}`}>
                  {d.file}:{d.line}: {d.message}
                </p>
              ))}
              <ul class="tests" tabIndex={0} aria-label="Test cases">
                {tests.data.results.map((r) => (
                  <li key={`${r.file}:${r.line}`} class={r.passed ? 'pass' : 'fail'}>
                    <span aria-label={r.passed ? 'passed' : 'failed'}>{r.passed ? '✔' : '✘'}</span> <span class="muted">{r.suite} ›</span> {r.name}
                    {r.failures.map((f) => (
                      <div class="error small" key={f}>
                        {f}
                      </div>
                    ))}
                  </li>
                ))}
              </ul>
            </>
          )}
        </Card>
        <TryRequest />
        </div>
        {me?.can.admin && <DraftImpact />}
      </div>
    </>
  );
}

function TryRequest() {
  const [form, setForm] = useState({ agent: 'refund-agent', tool: 'issue_refund', args: '{"order_id": "o-456", "amount": 250}', context: '{}', session: '' });
  const [result, setResult] = useState<TryResult>();
  const [error, setError] = useState<unknown>();
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const run = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    let args: Json;
    let context: Json;
    try {
      args = JSON.parse(form.args || '{}') as Json;
      context = JSON.parse(form.context || '{}') as Json;
    } catch (x) {
      setError(new Error(`Arguments and context must be JSON objects: ${(x as Error).message}`));
      return;
    }
    try {
      setResult(await api<TryResult>('/v1/policies/try', { method: 'POST', body: { agent_id: form.agent, tool: form.tool, arguments: args, context, ...(form.session.trim() ? { session_id: form.session.trim() } : {}) } }));
    } catch (x) {
      setResult(undefined);
      setError(x);
    }
  };
  const d = result?.decision;

  return (
    <Card title="Try a request">
      <form onSubmit={run} class="try">
        <Field label="Agent">
          <input name="agent" required value={form.agent} onInput={set('agent')} />
        </Field>
        <Field label="Tool">
          <input name="tool" required value={form.tool} onInput={set('tool')} />
        </Field>
        <Field label="Arguments (JSON)">
          <textarea name="args" rows={3} value={form.args} onInput={set('args')} />
        </Field>
        <Field label="Context (JSON)">
          <textarea name="context" rows={1} value={form.context} onInput={set('context')} />
        </Field>
        <Field label="Session (optional)">
          <input name="session" value={form.session} onInput={set('session')} />
        </Field>
        <button type="submit">Evaluate</button>
        <p class="muted small">A dry run of a real call: registry, arguments, tenant, rate limits and session budget, guards, policies, break-glass. Nothing runs, nothing is used up, nothing is logged.</p>
      </form>
      <ErrorNote error={error} />
      {d && (
        <div class="try-result" role="status" aria-live="polite">
          <p>
            <EffectBadge effect={d.effect} /> {d.reason}
          </p>
          {result.would && (
            <p class="small">
              A real call would {result.would}
              {d.stage && d.stage !== 'policy' ? ` (at the ${d.stage} stage)` : ''}.
            </p>
          )}
          {!result.known_tool && <p class="note">No tool of that name is registered: `tool.*` is empty in conditions.</p>}
          {d.explanation && (
            <>
              <p class="small">{d.explanation.summary}</p>
              <div class="table-wrap">
              <table aria-label="How each candidate rule fared">
                <thead>
                  <tr>
                    <th scope="col">Rule</th>
                    <th scope="col">Effect</th>
                    <th scope="col">Result</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {d.explanation.candidates.map((c) => (
                    <tr key={`${c.policy}/${c.rule}`} class={c.outcome === 'matched' ? 'matched' : ''}>
                      <td>
                        <code>
                          {c.policy}/{c.rule}
                        </code>
                        {c.mode === 'shadow' && <span class="muted"> (shadow)</span>}
                      </td>
                      <td>
                        <EffectBadge effect={c.effect} />
                      </td>
                      <td class="nowrap">{c.outcome.replace('_', ' ')}</td>
                      <td class="small">{c.detail}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              </div>
            </>
          )}
          {d.obligations.length > 0 && <JsonView value={d.obligations as unknown as Json} label="Obligations" />}
        </div>
      )}
    </Card>
  );
}

/** Every replica and the bundle it serves; one that serves another bundle is called out. */
function Replicas({ replicas }: { replicas: NonNullable<Policies['replicas']> }) {
  const differing = replicas.filter((r) => r.differs);
  return (
    <>
      <h3>Replicas</h3>
      {differing.length > 0 && (
        <p class="note" role="alert">
          {differing.length} of {replicas.length} replicas serve another bundle than this one: {differing.map((r) => r.id).join(', ')}. A reload may not have reached them, or their policy folders differ.
        </p>
      )}
      <ul class="history" aria-label="Replicas">
        {replicas.map((r) => (
          <li key={r.id}>
            <code>{r.id}</code>
            {r.self && <strong> (this one)</strong>} — bundle <code title={r.bundle}>{shortHash(r.bundle)}</code>
            {r.differs && <strong> differs</strong>} <span class="muted">seen {dateTime(r.seenAt)}</span>
          </li>
        ))}
      </ul>
    </>
  );
}
