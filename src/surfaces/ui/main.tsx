import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, session, UNAUTHORIZED_EVENT } from './api';
import { AgentsPage } from './pages/agents';
import { ExplorerPage } from './pages/explorer';
import { ApprovalsPage } from './pages/approvals';
import { LivePage } from './pages/live';
import { LoginPage } from './pages/login';
import { OverviewPage } from './pages/overview';
import { PoliciesPage } from './pages/policies';
import { RequestPage } from './pages/request';
import { useDecidablePending } from './pending-approvals';
import { SessionPage } from './pages/session';
import type { Me } from './types';
import './styles.css';

const PAGES = [
  { path: 'overview', label: 'Overview' },
  { path: 'live', label: 'Live decisions' },
  { path: 'log', label: 'Decision log' },
  { path: 'approvals', label: 'Approvals' },
  { path: 'agents', label: 'Agents' },
  { path: 'policies', label: 'Policies' },
  { path: 'sessions', label: 'Session timeline' },
] as const;

/** Pages reached by links rather than the nav, shown under the nav entry they belong to. */
const SUBPAGES: Record<string, { under: (typeof PAGES)[number]['path']; label: string }> = { requests: { under: 'live', label: 'Request' } };

/** `#/approvals` → ['approvals']; `#/sessions/run-42` → ['sessions', 'run-42']. */
function useRoute(): string[] {
  const parse = () =>
    location.hash
      .replace(/^#\/?/, '')
      .replace(/\?.*$/, '') // a page's own state (the explorer's search: #/log?agent=x)
      .split('/')
      .filter(Boolean)
      .map((p) => decodeURIComponent(p));
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [loginError, setLoginError] = useState<string>();
  const route = useRoute();

  const signIn = async (token: string) => {
    try {
      const who = await api<Me>('/v1/me', { token });
      session.set(token);
      setLoginError(undefined);
      setMe(who);
    } catch (e) {
      setLoginError(e instanceof ApiError && e.status === 403 ? e.message : e instanceof ApiError && e.status === 401 ? 'That token was not accepted.' : (e as Error).message);
    }
  };
  const signOut = () => {
    session.clear();
    setMe(null);
  };

  useEffect(() => {
    const token = session.token;
    if (token) api<Me>('/v1/me').then(setMe, () => setMe(null));
    else setMe(null);
    const expired = () => {
      session.clear();
      setLoginError('Your session ended: the token is no longer accepted. Sign in again.');
      setMe(null);
    };
    window.addEventListener(UNAUTHORIZED_EVENT, expired);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, expired);
  }, []);

  const page = route[0] ?? 'overview';
  const sub = SUBPAGES[page];
  const current = PAGES.find((p) => p.path === (sub?.under ?? page)) ?? PAGES[0];
  const pending = useDecidablePending(me);
  useEffect(() => {
    document.title = me ? `${sub?.label ?? current.label} · Warden` : 'Sign in · Warden';
  }, [me, current, sub]);
  // A page change moves focus to the new page's heading, so screen readers announce it and
  // keyboard users start from the top of the content (not from the nav link they left).
  const routeKey = route.join('/');
  const firstRoute = useRef(true);
  useEffect(() => {
    if (!me) return;
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    const heading = document.querySelector<HTMLElement>('main h1');
    if (!heading) return;
    if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
    heading.focus();
  }, [routeKey, !!me]);

  if (me === undefined) return <p class="loading">Loading…</p>;
  if (me === null) return <LoginPage onSubmit={signIn} error={loginError} />;

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand" aria-label="Warden">
          <span aria-hidden="true">◆</span> Warden
        </span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={p.path === current.path ? (sub ? 'true' : 'page') : undefined}>
                  {p.label}
                  {p.path === 'approvals' && pending ? (
                    <>
                      <span class="nav-badge" aria-hidden="true">
                        {pending}
                      </span>
                      <span class="visually-hidden"> ({pending} waiting for your decision)</span>
                    </>
                  ) : null}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span title={`roles: ${me.roles.join(', ')}; tenant: ${me.tenant}`}>
            {me.id} <span class="muted">({me.can.admin ? 'admin' : me.can.approve ? 'approver' : 'viewer'}{me.tenant === '*' ? '' : `, ${me.tenant}`})</span>
          </span>
          <button type="button" class="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page === 'requests' && route[1] ? (
          <RequestPage key={route[1]} id={route[1]} />
        ) : (
          <>
            {current.path === 'overview' && <OverviewPage />}
            {current.path === 'live' && <LivePage me={me} />}
            {current.path === 'log' && <ExplorerPage me={me} />}
            {current.path === 'approvals' && <ApprovalsPage me={me} />}
            {current.path === 'agents' && <AgentsPage me={me} />}
            {current.path === 'policies' && <PoliciesPage me={me} />}
            {current.path === 'sessions' && <SessionPage id={route[1]} />}
          </>
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
