import { useState, type FormEvent } from 'react';
import { sessionFromToken } from '../auth';
import { useApp } from '../context';
import { describeError } from '../wizard/submit';

export function SignIn() {
  const { config, api, signIn, signOutReason } = useApp();
  const [user, setUser] = useState('alice');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [tokenError, setTokenError] = useState<string | null>(null);

  const devSignIn = async (e: FormEvent) => {
    e.preventDefault();
    if (!user.trim()) {
      setError('Enter a user name.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { token: jwt } = await api.localToken(user.trim());
      const s = sessionFromToken(jwt);
      if (!s) throw new Error('The server returned an unusable token.');
      signIn(s);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const pasteSignIn = (e: FormEvent) => {
    e.preventDefault();
    const s = sessionFromToken(token);
    if (!s) {
      setTokenError('That is not a valid, unexpired JWT with a "sub" claim.');
      return;
    }
    signIn(s);
  };

  return (
    <div className="signin">
      <h1>Sign in</h1>
      <p className="muted">
        API: <code>{config.apiUrl}</code>
      </p>
      {signOutReason && (
        <p className="notice" role="status">
          {signOutReason}
        </p>
      )}
      {config.localAuth && (
        <form className="card" onSubmit={devSignIn} aria-labelledby="dev-signin-title">
          <h2 id="dev-signin-title">Dev sign-in (local stack)</h2>
          <p className="muted">Gets a development token from <code>/_local/token</code>.</p>
          <div className="field">
            <label htmlFor="dev-user">User name</label>
            <input
              id="dev-user"
              value={user}
              onChange={(e) => setUser(e.target.value)}
              autoComplete="username"
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? 'dev-user-error' : undefined}
            />
            {error && (
              <p id="dev-user-error" className="field-error">
                {error}
              </p>
            )}
          </div>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Signing in...' : 'Sign in'}
          </button>
        </form>
      )}
      <form className="card" onSubmit={pasteSignIn} aria-labelledby="token-signin-title">
        <h2 id="token-signin-title">Use an access token</h2>
        <p className="muted">For a deployed stack: paste a JWT issued by its identity provider.</p>
        <div className="field">
          <label htmlFor="paste-token">Access token (JWT)</label>
          <textarea
            id="paste-token"
            rows={3}
            value={token}
            onChange={(e) => {
              setToken(e.target.value);
              setTokenError(null);
            }}
            aria-invalid={tokenError ? true : undefined}
            aria-describedby={tokenError ? 'paste-token-error' : undefined}
          />
          {tokenError && (
            <p id="paste-token-error" className="field-error">
              {tokenError}
            </p>
          )}
        </div>
        <button type="submit" className="btn">
          Use token
        </button>
      </form>
    </div>
  );
}
