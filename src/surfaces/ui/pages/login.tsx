import { useState } from 'preact/hooks';

export function LoginPage({ onSubmit, error }: { onSubmit: (token: string) => Promise<void>; error?: string }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <main class="login" id="main">
      <form
        class="card"
        aria-labelledby="login-title"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!token.trim()) return;
          setBusy(true);
          await onSubmit(token.trim());
          setBusy(false);
        }}
      >
        <h1 id="login-title">
          <span aria-hidden="true">◆</span> Warden
        </h1>
        <p class="muted">Sign in with your Warden token (a human token from the configuration, or an OIDC access token).</p>
        <label class="field">
          <span>Token</span>
          <input type="password" name="token" autoComplete="current-password" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">The token is kept in this tab only (session storage) and sent to this server only.</p>
      </form>
    </main>
  );
}
