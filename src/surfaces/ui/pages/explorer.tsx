import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { EffectBadge, EffectSelect, ErrorNote, Field, time } from '../components';
import { requestHref } from '../links';
import type { DecisionRecord, Me } from '../types';
import { useMedia, useVirtualRows } from '../virtual-rows';
import { exportSelection, searchPage } from './explorer-data';
import { filtersOf, hashOf, isoToLocalInput, isPreset, localInputToIso, queryOf, TIME_PRESETS, type FilterKey, type Filters } from './explorer-query';
import './explorer.css';

/** Row heights in px (explorer.css gives rows exactly these): one line wide, a small card narrow. */
const ROW_HEIGHT = { wide: 36, narrow: 88 };
const NARROW = '(max-width: 720px)';
/** Load the next page when the last drawn row is this close to the end of what is loaded. */
const AHEAD = 40;

const TEXT_FIELDS: Array<[FilterKey, string, string?]> = [
  ['agent', 'Agent'],
  ['tool', 'Tool'],
  ['session', 'Session'],
  ['request', 'Request id'],
  ['policy', 'Policy'],
  ['rule', 'Rule'],
];

/** The search in the address, following back/forward and edits of the address. */
function useAddressFilters(): Filters {
  const [filters, setFilters] = useState(() => filtersOf(location.hash));
  useEffect(() => {
    const on = () => setFilters((old) => (queryOf(old) === queryOf(filtersOf(location.hash)) ? old : filtersOf(location.hash)));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return filters;
}

/**
 * The decision log explorer: the whole log searched on the server (`GET /v1/audit`), newest first,
 * paged by cursor as the table is scrolled; the search kept in the address; the selection exported.
 */
export function ExplorerPage({ me }: { me: Me }) {
  const filters = useAddressFilters();
  const key = queryOf(filters);
  const [records, setRecords] = useState<DecisionRecord[]>([]);
  const [next, setNext] = useState<string>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  const [exporting, setExporting] = useState<string>();
  /** Bumped by each new search: answers to an older one are dropped. */
  const generation = useRef(0);
  const busy = useRef(false);

  const load = useCallback(
    (cursor: string | undefined) => {
      const gen = generation.current;
      busy.current = true;
      setLoading(true);
      searchPage(filters, cursor).then(
        (page) => {
          if (gen !== generation.current) return;
          setRecords((old) => (cursor ? [...old, ...page.records] : page.records));
          setNext(page.next);
          setError(undefined);
        },
        (e: unknown) => gen === generation.current && setError(e),
      ).finally(() => {
        if (gen !== generation.current) return;
        busy.current = false;
        setLoading(false);
      });
    },
    [key],
  );

  useEffect(() => {
    generation.current++;
    setRecords([]);
    setNext(undefined);
    load(undefined);
  }, [key]);

  const narrow = useMedia(NARROW);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualRows({ count: records.length, rowHeight: narrow ? ROW_HEIGHT.narrow : ROW_HEIGHT.wide, getScrollElement: () => scroller.current });
  const items = virtual.getVirtualItems();
  const lastDrawn = items[items.length - 1]?.index ?? -1;
  useEffect(() => {
    if (next && !busy.current && !error && lastDrawn >= records.length - AHEAD) load(next);
  }, [lastDrawn, next, records.length, error]);

  const top = items[0]?.start ?? 0;
  const bottom = virtual.getTotalSize() - (items[items.length - 1]?.end ?? 0);

  const download = async (format: 'jsonl' | 'csv') => {
    setExporting(`Preparing the ${format.toUpperCase()} export of the whole selection…`);
    try {
      await exportSelection(filters, format);
      setExporting(`The ${format.toUpperCase()} export was handed to the browser.`);
    } catch (e) {
      setExporting(undefined);
      setError(e);
    }
  };

  return (
    <section aria-labelledby="log-title" class="explorer">
      <header class="row">
        <h1 id="log-title">Decision log</h1>
      </header>
      <p class="muted small">Searches every record of the log on the server, newest first. The search is kept in the address: reload or share it.</p>
      <SearchForm filters={filters} me={me} />
      <ErrorNote error={error} />
      <div class="explorer-bar">
        <p class="muted small" role="status" aria-live="polite">
          {statusText(records.length, loading, !!next)}
        </p>
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => void download('csv')} disabled={records.length === 0}>
            Export CSV
          </button>
          <button type="button" class="secondary" onClick={() => void download('jsonl')} disabled={records.length === 0}>
            Export JSON Lines
          </button>
        </div>
      </div>
      {exporting && (
        <p class="muted small" role="status">
          {exporting}
        </p>
      )}
      <div class="log-scroll" ref={scroller}>
        <table class="records log-table" aria-label="Decision records, newest first" aria-rowcount={next ? -1 : records.length + 1}>
          <colgroup>
            <col class="c-time" />
            <col class="c-effect" />
            <col class="c-agent" />
            <col class="c-tool" />
            <col class="c-tenant" />
            <col class="c-rule" />
            <col class="c-reason" />
          </colgroup>
          <thead>
            <tr aria-rowindex={1}>
              <th scope="col">Time</th>
              <th scope="col">Effect</th>
              <th scope="col">Agent</th>
              <th scope="col">Tool</th>
              <th scope="col">Tenant</th>
              <th scope="col">Policy / rule</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {top > 0 && <Spacer height={top} />}
            {items.map((item) => {
              const r = records[item.index]!;
              return (
                <tr key={r.seq} class={`log-row effect-row-${r.effect}`} aria-rowindex={item.index + 2} data-seq={r.seq}>
                  <td class="c-time">
                    <a href={requestHref(r.requestId)}>
                      {time(r.time)}
                      <span class="visually-hidden"> — request {r.requestId}</span>
                    </a>
                  </td>
                  <td class="c-effect">
                    <EffectBadge effect={r.effect} />
                    {r.kind === 'outcome' && <span class="muted small"> outcome</span>}
                  </td>
                  <td class="c-agent" title={r.agentId}>
                    {r.agentId}
                    <span class="narrow-only"> · {r.resourceId}</span>
                  </td>
                  <td class="c-tool" title={r.resourceId}>
                    {r.resourceId}
                  </td>
                  <td class="c-tenant" title={r.tenant}>
                    {r.tenant}
                  </td>
                  <td class="c-rule" title={[r.policy, r.rule].filter(Boolean).join(' / ')}>
                    {[r.policy, r.rule].filter(Boolean).join(' / ') || '—'}
                  </td>
                  <td class="c-reason" title={r.reason}>
                    {r.reason}
                  </td>
                </tr>
              );
            })}
            {bottom > 0 && <Spacer height={bottom} />}
            {records.length === 0 && !loading && (
              <tr>
                <td colSpan={7} class="muted">
                  {error ? 'The search failed (see above).' : 'No record matches this search.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {next && (
        <button type="button" class="secondary load-older" onClick={() => !busy.current && load(next)} disabled={loading}>
          Load older records
        </button>
      )}
    </section>
  );
}

function Spacer({ height }: { height: number }) {
  return (
    <tr class="log-spacer" aria-hidden="true">
      <td colSpan={7} style={{ height: `${height}px` }} />
    </tr>
  );
}

function statusText(count: number, loading: boolean, more: boolean): string {
  if (loading && count === 0) return 'Searching…';
  if (count === 0) return 'No records match.';
  const n = count.toLocaleString();
  if (loading) return `${n} records loaded; loading older ones…`;
  return more ? `${n} records loaded, newest first; scroll for older ones.` : `${n} records: every record of this search.`;
}

/** The form: edits stay in the form until Search puts them in the address (which runs the search). */
function SearchForm({ filters, me }: { filters: Filters; me: Me }) {
  const [draft, setDraft] = useState<Filters>(filters);
  const [custom, setCustom] = useState(!isPreset(filters.since));
  useEffect(() => {
    setDraft(filters);
    setCustom(!isPreset(filters.since));
  }, [queryOf(filters)]);
  const set = (k: FilterKey) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });

  const submit = (e: Event) => {
    e.preventDefault();
    const target = hashOf(draft);
    if (location.hash !== target) location.hash = target;
  };
  const clear = () => {
    setDraft({});
    setCustom(false);
    location.hash = hashOf({});
  };
  const range = custom ? 'custom' : (draft.since ?? '');
  const pickRange = (e: Event) => {
    const value = (e.currentTarget as HTMLSelectElement).value;
    if (value === 'custom') {
      setCustom(true);
      setDraft({ ...draft, since: undefined, until: undefined });
    } else {
      setCustom(false);
      setDraft({ ...draft, since: value || undefined, until: undefined });
    }
  };

  return (
    <form class="filters explorer-filters" role="search" aria-label="Search the decision log" onSubmit={submit}>
      <Field label="Words in the reason">
        <input name="q" type="search" value={draft.q ?? ''} onInput={set('q')} placeholder="e.g. refund limit" />
      </Field>
      {TEXT_FIELDS.map(([k, label]) => (
        <Field key={k} label={label}>
          <input name={k} value={draft[k] ?? ''} onInput={set(k)} autoComplete="off" />
        </Field>
      ))}
      <Field label="Effect">
        <EffectSelect value={draft.effect ?? ''} anyLabel="any" onChange={set('effect')} />
      </Field>
      <Field label="Tenant">
        {me.tenant === '*' ? (
          <input name="tenant" value={draft.tenant ?? ''} onInput={set('tenant')} placeholder="every tenant" autoComplete="off" />
        ) : (
          <input name="tenant" value={me.tenant} readOnly aria-readonly="true" />
        )}
      </Field>
      <Field label="Time range">
        <select name="range" value={range} onChange={pickRange}>
          {TIME_PRESETS.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
          <option value="custom">Between two dates…</option>
        </select>
      </Field>
      {custom && (
        <>
          <Field label={`From (${zoneName()})`}>
            <input name="since" type="datetime-local" value={isoToLocalInput(draft.since)} onInput={(e) => setDraft({ ...draft, since: localInputToIso(e.currentTarget.value) })} />
          </Field>
          <Field label={`To (${zoneName()})`}>
            <input name="until" type="datetime-local" value={isoToLocalInput(draft.until)} onInput={(e) => setDraft({ ...draft, until: localInputToIso(e.currentTarget.value) })} />
          </Field>
        </>
      )}
      <div class="buttons explorer-actions">
        <button type="submit">Search</button>
        <button type="button" class="secondary" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
  );
}

const zoneName = () => Intl.DateTimeFormat().resolvedOptions().timeZone;
