import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { EFFECTS, type Effect, type Json } from './types';

export const EFFECT_LABEL: Record<Effect, string> = { allow: 'allow', deny: 'deny', require_approval: 'approval' };

/** The effect filter of the explorer and the live view: `anyLabel` names the empty choice. */
export function EffectSelect({ value, anyLabel, onChange }: { value: string; anyLabel: string; onChange: (e: Event) => void }) {
  return (
    <select name="effect" value={value} onChange={onChange}>
      <option value="">{anyLabel}</option>
      {EFFECTS.map((e) => (
        <option key={e} value={e}>
          {e}
        </option>
      ))}
    </select>
  );
}

export function EffectBadge({ effect }: { effect: Effect }) {
  return <span class={`badge effect-${effect}`}>{EFFECT_LABEL[effect] ?? effect}</span>;
}

/**
 * Every time on the dashboard carries its date and zone: operators in several zones compare them
 * with logs and tickets. `time` is the compact form for tables (day, month, time, zone).
 */
const compact = new Intl.DateTimeFormat(undefined, { day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZoneName: 'short' });
const full = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZoneName: 'short' });
export const time = (ms: number) => compact.format(ms);
export const dateTime = (ms: number) => full.format(ms);
export const shortHash = (h: string | undefined) => (h ? `${h.slice(0, 15)}…${h.slice(-6)}` : '—');

export function duration(ms: number): string {
  if (ms <= 0) return 'expired';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}

export const latency = (us: number) => (us < 1000 ? `${us} µs` : `${(us / 1000).toFixed(1)} ms`);

export function JsonView({ value, label }: { value: Json | undefined; label?: string }) {
  return (
    <pre class="json" aria-label={label} tabIndex={0}>
      {value === undefined ? '—' : JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export function Card({ title, children, class: extra }: { title: string; children: ComponentChildren; class?: string }) {
  const id = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section class={`card ${extra ?? ''}`} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** Loads once on mount (and on `reload()`); keeps the last value while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { data?: T; error?: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** Calls `fn` every `ms` while the page is shown. */
export function useInterval(fn: () => void, ms: number): void {
  useEffect(() => {
    const id = setInterval(fn, ms);
    return () => clearInterval(id);
  }, [fn, ms]);
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

export function Dl({ items }: { items: Array<[string, ComponentChildren]> }) {
  return (
    <dl class="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? '—'}</dd>
        </div>
      ))}
    </dl>
  );
}
