import { useState } from 'preact/hooks';
import { api } from '../api';
import { Card, EffectBadge, ErrorNote, Field } from '../components';
import { RecordDetail } from '../record-detail';
import type { Effect, ReplayReport, ReplaySample } from '../types';

const WINDOWS = [
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
] as const;

const EXAMPLE = `id: refunds
version: "2"
rules:
  - id: small-refunds
    effect: allow
    tools: [issue_refund]
    when: "args.amount <= 500"
`;

/**
 * The impact of a draft: the draft policy laid over the folder in force, and the recent logged
 * requests decided again with it (POST /v1/policies/replay). Admins only; a tenant's admin sees
 * their tenant's records.
 */
export function DraftImpact() {
  const [form, setForm] = useState({ file: 'draft.yaml', yaml: EXAMPLE, since: '24h' });
  const [report, setReport] = useState<ReplayReport>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const run = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      setReport(await api<ReplayReport>('/v1/policies/replay', { method: 'POST', body: { files: [{ file: form.file, text: form.yaml }], overlay: true, since: form.since } }));
    } catch (x) {
      setReport(undefined);
      setError(x);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Impact of a draft" class="wide">
      <form onSubmit={run} class="try">
        <Field label="Policy file name">
          <input name="file" required value={form.file} onInput={set('file')} />
        </Field>
        <Field label="Draft policy (YAML; replaces the policy of the same id)">
          <textarea name="yaml" rows={8} required value={form.yaml} onInput={set('yaml')} spellcheck={false} />
        </Field>
        <Field label="Recent traffic">
          <select name="since" value={form.since} onChange={set('since')}>
            {WINDOWS.map((w) => (
              <option key={w.value} value={w.value}>
                {w.label}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" disabled={busy}>
          {busy ? 'Replaying…' : 'Replay recent traffic'}
        </button>
        <p class="muted small">Each logged request of the window is decided again with the draft and with the policies in force. Nothing is written or changed. Requests whose decision depends on a value the log does not hold (redacted, or from before the log kept the request as decided) are counted as undetermined, never guessed.</p>
      </form>
      <ErrorNote error={error} />
      {report && <ImpactReport report={report} />}
    </Card>
  );
}

function ImpactReport({ report: r }: { report: ReplayReport }) {
  const [open, setOpen] = useState<number>();
  const rows: Array<{ transition: string; sample: ReplaySample }> = [
    ...r.transitions.flatMap((t) => t.samples.map((sample) => ({ transition: t.transition, sample }))),
    ...r.undeterminedBy.flatMap((u) => u.samples.map((sample) => ({ transition: 'undetermined', sample }))),
  ];
  const selected = rows.find((x) => x.sample.seq === open)?.sample.record;
  return (
    <div role="status" aria-live="polite" class="impact">
      <p>
        <strong>{r.changed}</strong> of {r.replayed} requests would be decided differently; {r.unchanged} unchanged, <strong>{r.undetermined}</strong> undetermined
        {r.read > r.replayed ? ` (${r.read - r.replayed} records not replayed: outcomes, listings, operator actions, dry runs, early endings)` : ''}.
        {r.truncated && ' Only the newest records were read (the bound was reached).'}
      </p>
      {r.transitions.length > 0 && (
        <div class="table-wrap">
          <table aria-label="Changed decisions by transition">
            <thead>
              <tr>
                <th scope="col">From (in force)</th>
                <th scope="col">To (draft)</th>
                <th scope="col">Requests</th>
              </tr>
            </thead>
            <tbody>
              {r.transitions.map((t) => {
                const [from, to] = t.transition.split('→') as [Effect, Effect];
                return (
                  <tr key={t.transition}>
                    <td>
                      <EffectBadge effect={from} />
                    </td>
                    <td>
                      <EffectBadge effect={to} />
                    </td>
                    <td>{t.count}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table aria-label="Example requests">
            <thead>
              <tr>
                <th scope="col">Record</th>
                <th scope="col">Change</th>
                <th scope="col">Agent → tool</th>
                <th scope="col">Tenant</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ transition, sample: s }) => (
                <tr key={`${transition}-${s.seq}`}>
                  <td>
                    {s.record ? (
                      <button type="button" class="link" aria-expanded={open === s.seq} onClick={() => setOpen(open === s.seq ? undefined : s.seq)}>
                        #{s.seq}
                      </button>
                    ) : (
                      `#${s.seq}`
                    )}
                  </td>
                  <td class="nowrap">{transition}</td>
                  <td>
                    {s.agent} → {s.tool}
                  </td>
                  <td>{s.tenant || '—'}</td>
                  <td class="small">{s.unknown ? `${s.unknown.rule} reads ${s.unknown.path}, which the log does not hold` : `${s.current?.rule ?? 'default deny'} → ${s.candidate?.rule ?? 'default deny'}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {selected && <RecordDetail record={selected} onClose={() => setOpen(undefined)} />}
    </div>
  );
}
