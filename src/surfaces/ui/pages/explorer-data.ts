import { ApiError, session, UNAUTHORIZED_EVENT } from '../api';
import type { DecisionRecord } from '../types';
import { queryOf, type Filters } from './explorer-query';

/** Records per request while scrolling: a few screens ahead. */
export const PAGE_SIZE = 200;

async function fetchAuthorized(path: string, accept: string): Promise<Response> {
  const token = session.token;
  let response: Response;
  try {
    response = await fetch(path, { headers: { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) }, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, `Warden did not answer: ${(e as Error).message}`);
  }
  if (response.ok) return response;
  const problem = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (response.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  throw new ApiError(response.status, typeof problem?.detail === 'string' ? problem.detail : `${response.status} ${response.statusText}`, problem);
}

/** One page of the search, newest first, and the cursor of the next (older) page. */
export async function searchPage(filters: Filters, cursor: string | undefined, signal?: AbortSignal): Promise<{ records: DecisionRecord[]; next?: string }> {
  if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
  const query = [queryOf(filters), `limit=${PAGE_SIZE}`, cursor ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&');
  const response = await fetchAuthorized(`/v1/audit?${query}`, 'application/json');
  const records = (await response.json()) as DecisionRecord[];
  return { records, next: response.headers.get('x-next-cursor') ?? undefined };
}

/**
 * Downloads every record of the search (not only those loaded) as JSON Lines or CSV. The server
 * streams it; the browser keeps the file in memory until it is saved, so a very large selection
 * is better exported with curl (the same URL).
 */
export async function exportSelection(filters: Filters, format: 'jsonl' | 'csv'): Promise<void> {
  const query = [queryOf(filters), `format=${format}`].filter(Boolean).join('&');
  const response = await fetchAuthorized(`/v1/audit/export?${query}`, format === 'csv' ? 'text/csv' : 'application/x-ndjson');
  const url = URL.createObjectURL(await response.blob());
  try {
    const link = document.createElement('a');
    link.href = url;
    link.download = `warden-audit-${new Date().toISOString().replace(/[:.]/g, '-')}.${format}`;
    document.body.append(link);
    link.click();
    link.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
