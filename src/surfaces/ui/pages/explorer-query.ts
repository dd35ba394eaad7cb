/**
 * The decision-log explorer's search, as it lives in the page's address: `#/log?agent=…&q=…`.
 * Reloading, bookmarking or sharing the address gives the same search.
 */

/** The filters, in the order the form shows them; each is a `GET /v1/audit` parameter of the same name. */
export const FILTER_KEYS = ['q', 'agent', 'tool', 'effect', 'tenant', 'session', 'request', 'policy', 'rule', 'since', 'until'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

/** The route of the explorer page. */
export const EXPLORER_PATH = 'log';

/** Time ranges offered; `since` is sent as a duration back from now, so "last hour" stays the last hour. */
export const TIME_PRESETS = [
  { value: '', label: 'Any time' },
  { value: '15m', label: 'Last 15 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
] as const;

/** The filters of an address hash (`#/log?agent=x`): unknown parameters and empty values dropped. */
export function filtersOf(hash: string): Filters {
  const query = hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : '';
  const params = new URLSearchParams(query);
  const filters: Filters = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (value) filters[key] = value;
  }
  return filters;
}

/** The query string of `filters` (no leading `?`), in FILTER_KEYS order so equal searches give equal addresses. */
export function queryOf(filters: Filters): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key]?.trim();
    if (value) params.set(key, value);
  }
  return params.toString();
}

export const hashOf = (filters: Filters): string => {
  const query = queryOf(filters);
  return `#/${EXPLORER_PATH}${query ? `?${query}` : ''}`;
};

/** A `datetime-local` input's value (local time, no zone) as an ISO instant; undefined when empty or invalid. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** An ISO instant as a `datetime-local` value in the browser's zone (empty for a duration or garbage). */
export function isoToLocalInput(value: string | undefined): string {
  if (!value || !/^\d{4}-/.test(value)) return '';
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return '';
  const local = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** Whether `since` is one of the presets (else the range is custom: absolute From and To). */
export const isPreset = (since: string | undefined): boolean => TIME_PRESETS.some((p) => p.value === (since ?? ''));
