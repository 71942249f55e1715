import { useEffect } from 'react';
import { ToastProvider } from './components/Toasts';
import { AppProvider, useApp } from './context';
import type { AppConfig } from './config';
import { CampaignList } from './pages/CampaignList';
import { CampaignPage } from './pages/CampaignPage';
import { NewCampaign } from './pages/NewCampaign';
import { PersonasPage, ProxiesPage } from './pages/Resources';
import { SignIn } from './pages/SignIn';
import { navigate, usePath } from './router';

export function App({ config }: { config: AppConfig }) {
  return (
    <ToastProvider>
      <AppProvider config={config}>
        <Shell />
      </AppProvider>
    </ToastProvider>
  );
}

function Shell() {
  const { session, signOut, connState } = useApp();
  const path = usePath();

  useEffect(() => {
    if (session && (path === '/' || path === '/signin')) navigate('/campaigns');
  }, [session, path]);

  // Move focus to the page heading on navigation (screen readers, keyboard users).
  useEffect(() => {
    const h = document.querySelector<HTMLElement>('main h1');
    if (h) {
      h.tabIndex = -1;
      h.focus({ preventScroll: true });
    }
  }, [path]);

  const nav = [
    ['/campaigns', 'Campaigns'],
    ['/campaigns/new', 'New campaign'],
    ['/personas', 'Personas'],
    ['/proxies', 'Proxies'],
  ] as const;
  const active = (p: string) => (p === '/campaigns' ? path === '/campaigns' || (path.startsWith('/campaigns/') && path !== '/campaigns/new') : path === p);

  return (
    <>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href="#/campaigns">
          Campaign Auto-Start
        </a>
        {session && (
          <nav aria-label="Main">
            <ul>
              {nav.map(([p, l]) => (
                <li key={p}>
                  <a href={`#${p}`} aria-current={active(p) ? 'page' : undefined}>
                    {l}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        {session && (
          <div className="user">
            <span className={`dot dot-${connState}`} title={`Live updates: ${connState}`} aria-hidden="true" />
            <span>
              Signed in as <strong>{session.sub}</strong>
            </span>
            <button type="button" className="btn btn-small" onClick={() => signOut()}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {!session ? <SignIn /> : <Route path={path} />}
      </main>
    </>
  );
}

function Route({ path }: { path: string }) {
  if (path === '/campaigns/new') return <NewCampaign />;
  const m = path.match(/^\/campaigns\/([^/]+)$/);
  if (m) return <CampaignPage key={m[1]} id={decodeURIComponent(m[1])} />;
  if (path === '/personas') return <PersonasPage />;
  if (path === '/proxies') return <ProxiesPage />;
  return <CampaignList />;
}
