import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, session, UNAUTHORIZED_EVENT } from './api';
import { AgentsPage } from './pages/agents';
import { ApprovalsPage } from './pages/approvals';
import { LivePage } from './pages/live';
import { LoginPage } from './pages/login';
import { OverviewPage } from './pages/overview';
import { PoliciesPage } from './pages/policies';
import { SessionPage } from './pages/session';
import type { Me } from './types';
import './styles.css';

const PAGES = [
  { path: 'overview', label: 'Overview' },
  { path: 'live', label: 'Live decisions' },
  { path: 'approvals', label: 'Approvals' },
  { path: 'agents', label: 'Agents' },
  { path: 'policies', label: 'Policies' },
  { path: 'sessions', label: 'Session timeline' },
] as const;

/** `#/approvals` → ['approvals']; `#/sessions/run-42` → ['sessions', 'run-42']. */
function useRoute(): string[] {
  const parse = () =>
    location.hash
      .replace(/^#\/?/, '')
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
  const current = PAGES.find((p) => p.path === page) ?? PAGES[0];
  useEffect(() => {
    document.title = me ? `${current.label} · Warden` : 'Sign in · Warden';
  }, [me, current]);

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
                <a href={`#/${p.path}`} aria-current={p.path === current.path ? 'page' : undefined}>
                  {p.label}
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
        {current.path === 'overview' && <OverviewPage />}
        {current.path === 'live' && <LivePage me={me} />}
        {current.path === 'approvals' && <ApprovalsPage me={me} />}
        {current.path === 'agents' && <AgentsPage me={me} />}
        {current.path === 'policies' && <PoliciesPage me={me} />}
        {current.path === 'sessions' && <SessionPage id={route[1]} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
