/** Token storage (sessionStorage) and the few JWT claims the UI shows. */
const KEY = 'campaign-autostart.token';

export interface Session {
  token: string;
  sub: string;
  exp: number | null; // epoch seconds
}

export function decodeJwt(token: string): { sub?: string; exp?: number } | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const pad = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const json = decodeURIComponent(
      Array.from(atob(pad), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}

export function sessionFromToken(token: string): Session | null {
  const t = token.trim().replace(/^Bearer\s+/i, '');
  const claims = decodeJwt(t);
  if (!claims || typeof claims.sub !== 'string') return null;
  const exp = typeof claims.exp === 'number' ? claims.exp : null;
  if (exp !== null && exp * 1000 <= Date.now()) return null;
  return { token: t, sub: claims.sub, exp };
}

export function loadSession(): Session | null {
  const t = sessionStorage.getItem(KEY);
  return t ? sessionFromToken(t) : null;
}

export function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, s.token);
  else sessionStorage.removeItem(KEY);
}
