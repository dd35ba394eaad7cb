import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';
import type { Approval, Me } from './types';

const POLL_MS = 10_000;

/**
 * The pending approvals this person may decide, for the nav badge; polled while signed in. New
 * ones (not those already there when the page opened) raise a browser notification when the
 * person allowed them.
 */
export function useDecidablePending(me: Me | null | undefined): number | undefined {
  const [count, setCount] = useState<number>();
  const known = useRef<Set<string> | undefined>(undefined);
  useEffect(() => {
    if (!me?.can.approve) {
      setCount(undefined);
      return;
    }
    let live = true;
    const poll = async () => {
      try {
        const pending = (await api<Approval[]>('/v1/approvals?status=pending&limit=200')).filter((a) => a.canDecide !== false);
        if (!live) return;
        const fresh = known.current ? pending.filter((a) => !known.current!.has(a.id)) : [];
        known.current = new Set(pending.map((a) => a.id));
        setCount(pending.length);
        if (fresh.length) notify(fresh);
      } catch {
        // The badge is a hint: the Approvals page shows the error itself.
      }
    };
    void poll();
    const id = setInterval(poll, POLL_MS);
    return () => {
      live = false;
      clearInterval(id);
    };
  }, [me?.id, me?.can.approve]);
  return count;
}

function notify(fresh: Approval[]): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  const first = fresh[0]!;
  const body = fresh.length === 1 ? `${first.tool} for ${first.agentId}: ${first.reason}` : `${fresh.length} new requests wait for your decision`;
  const n = new Notification('Warden: approval needed', { body, tag: `warden-approval-${first.id}` });
  n.onclick = () => {
    window.focus();
    location.hash = '#/approvals';
  };
}

/** Whether the page could ask for notifications (the question needs a click to be asked). */
export const canAskForNotifications = () => typeof Notification !== 'undefined' && Notification.permission === 'default';
