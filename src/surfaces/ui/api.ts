import type { DecisionRecord } from './types';

/**
 * The user's own bearer token is the only secret the page holds. It lives in sessionStorage:
 * gone when the tab closes, not shared with other tabs, never put into a URL.
 */
const TOKEN_KEY = 'warden.token';

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** An RFC 9457 problem answered by the API, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problem?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Fired when the server no longer accepts the token: the app goes back to the log-in page. */
export const UNAUTHORIZED_EVENT = 'warden:unauthorized';

export async function api<T>(path: string, options: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const token = options.token ?? session.token;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method: options.method ?? 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, `Warden did not answer: ${(e as Error).message}`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const problem = json && typeof json === 'object' ? (json as Record<string, unknown>) : undefined;
    const detail = typeof problem?.detail === 'string' ? problem.detail : `${response.status} ${response.statusText}`;
    if (response.status === 401 && options.token === undefined) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    throw new ApiError(response.status, detail, problem);
  }
  return json as T;
}

export const qs = (params: Record<string, string | number | undefined>) => {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}` : '';
};

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

/** Reconnect delays: the first retry is quick (a gateway restart), then backs off to a low cap. */
export const RECONNECT_FIRST_MS = 250;
export const RECONNECT_MAX_MS = 3_000;

/**
 * Records as they arrive are handed over at most once per animation frame, as one batch: at 100
 * decisions/s the page renders ~60 times a second whatever the rate, never once per record.
 * A hidden tab gets no frames: its batches go out on a timer instead.
 */
function frameBatcher<T>(deliver: (batch: T[]) => void): { push: (item: T) => void; cancel: () => void } {
  let queue: T[] = [];
  let frame: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    frame = undefined;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const batch = queue;
    queue = [];
    if (batch.length) deliver(batch);
  };
  return {
    push(item) {
      queue.push(item);
      if (frame !== undefined || timer !== undefined) return;
      if (document.visibilityState === 'hidden') timer = setTimeout(flush, 250);
      else frame = requestAnimationFrame(flush);
    },
    cancel() {
      if (frame !== undefined) cancelAnimationFrame(frame);
      if (timer !== undefined) clearTimeout(timer);
      queue = [];
    },
  };
}

/**
 * Follows `GET /v1/events/decisions` (Server-Sent Events). Read with fetch rather than
 * EventSource, which cannot send an Authorization header: the token stays out of URLs and logs.
 * Reconnects after a drop, resuming after the last record seen: first after
 * RECONNECT_FIRST_MS, then backing off to RECONNECT_MAX_MS, back to the start once connected.
 * `onRecords` gets the new records in arrival order, batched per animation frame.
 */
export function followDecisions(after: number, onRecords: (batch: DecisionRecord[]) => void, onState: (s: StreamState, detail?: string) => void): () => void {
  const controller = new AbortController();
  let last = after;
  let stopped = false;
  const batcher = frameBatcher(onRecords);

  const run = async () => {
    let delay = RECONNECT_FIRST_MS;
    while (!stopped) {
      onState(last === after ? 'connecting' : 'reconnecting');
      try {
        const response = await fetch(`/v1/events/decisions${qs({ after: last })}`, {
          headers: { authorization: `Bearer ${session.token ?? ''}`, accept: 'text/event-stream' },
          signal: controller.signal,
          cache: 'no-store',
        });
        if (response.status === 401) {
          window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
          return;
        }
        if (!response.ok || !response.body) throw new Error(`${response.status} ${response.statusText}`);
        onState('live');
        delay = RECONNECT_FIRST_MS;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = 'message';
            let data = '';
            for (const line of frame.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data += line.slice(5).trimStart();
            }
            if (event !== 'decision' || !data) continue;
            const record = JSON.parse(data) as DecisionRecord;
            if (record.seq > last) last = record.seq;
            batcher.push(record);
          }
        }
      } catch (e) {
        if (stopped) return;
        onState('reconnecting', (e as Error).message);
      }
      if (stopped) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
  };
  void run();
  return () => {
    stopped = true;
    batcher.cancel();
    controller.abort();
    onState('stopped');
  };
}
