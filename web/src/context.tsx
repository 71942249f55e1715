import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiClient } from './api/client';
import { loadSession, saveSession, type Session } from './auth';
import type { AppConfig } from './config';
import { RealtimeClient, type ConnState } from './realtime/socket';

export interface AppCtx {
  config: AppConfig;
  session: Session | null;
  api: ApiClient;
  socket: RealtimeClient | null;
  connState: ConnState;
  signIn: (s: Session) => void;
  signOut: (reason?: string) => void;
  signOutReason: string | null;
}

const Ctx = createContext<AppCtx | null>(null);

export function useApp(): AppCtx {
  const v = useContext(Ctx);
  if (!v) throw new Error('useApp outside AppProvider');
  return v;
}

export function AppProvider({ config, children }: { config: AppConfig; children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [reason, setReason] = useState<string | null>(null);
  const [socket, setSocket] = useState<RealtimeClient | null>(null);
  const [connState, setConnState] = useState<ConnState>('closed');

  const signOut = (why?: string) => {
    saveSession(null);
    setSession(null);
    setReason(why ?? null);
  };
  const signIn = (s: Session) => {
    saveSession(s);
    setReason(null);
    setSession(s);
  };

  // The API client reads the token lazily, so it never needs rebuilding.
  const sessionRef = useRef(session);
  sessionRef.current = session;
  const api = useMemo(
    () =>
      new ApiClient({
        baseUrl: config.apiUrl,
        getToken: () => sessionRef.current?.token ?? null,
        onUnauthorized: () => {
          if (sessionRef.current) signOut('Your session has expired or was rejected. Please sign in again.');
        },
      }),
    [config.apiUrl],
  );

  // One WebSocket per session.
  useEffect(() => {
    if (!session) {
      setSocket(null);
      setConnState('closed');
      return;
    }
    const rt = new RealtimeClient({ url: config.wsUrl, token: session.token });
    const off = rt.onState(setConnState);
    setConnState('connecting');
    rt.start();
    setSocket(rt);
    return () => {
      off();
      rt.stop();
    };
  }, [session?.token, config.wsUrl]);

  // Sign out when the token expires.
  useEffect(() => {
    if (!session?.exp) return;
    const ms = session.exp * 1000 - Date.now();
    const t = setTimeout(() => signOut('Your session has expired. Please sign in again.'), Math.max(0, ms));
    return () => clearTimeout(t);
  }, [session?.exp]);

  const value: AppCtx = { config, session, api, socket, connState, signIn, signOut, signOutReason: reason };
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}
