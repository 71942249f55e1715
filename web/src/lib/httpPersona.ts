/**
 * The `http` persona's config (API.md): form values ↔ request body, with client checks that
 * mirror the server's ranges. Every field but the user agent has a server default; the form
 * starts from those defaults and sends every value explicitly (port only when given).
 */
import type { HttpPersonaConfig } from '../api/types';

export const HTTP_LIMITS = {
  userAgentChars: 256,
  headers: 20,
  port: [1, 65535],
  timeoutMs: [100, 30_000],
  concurrency: [1, 128],
  rateLimitPerSecond: [1, 1000],
  maxBodyKiB: [1, 1024],
  followRedirects: [0, 5],
} as const;

/** Headers the client may not set (the phase sets them itself), as the server refuses them. */
export const FORBIDDEN_HEADERS = ['host', 'content-length', 'transfer-encoding'];

export interface HttpPersonaForm {
  userAgent: string;
  /** "Name: value", one per line. */
  headers: string;
  scheme: 'https' | 'http';
  /** Empty → the scheme's default (443/80). */
  port: string;
  timeoutMs: string;
  concurrency: string;
  rateLimitPerSecond: string;
  /** KiB (the API takes bytes). */
  maxBodyKiB: string;
  followRedirects: string;
}

export type HttpField = keyof HttpPersonaForm;

export const HTTP_DEFAULTS: HttpPersonaForm = {
  userAgent: 'Mozilla/5.0 (compatible; CampaignBot/1.0)',
  headers: '',
  scheme: 'https',
  port: '',
  timeoutMs: '5000',
  concurrency: '16',
  rateLimitPerSecond: '50',
  maxBodyKiB: '256',
  followRedirects: '3',
};

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** "Name: value" lines → {name: value}, or the first problem. */
export function parseHeaders(text: string): { headers: Record<string, string>; error?: string } {
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length > HTTP_LIMITS.headers) return { headers, error: `At most ${HTTP_LIMITS.headers} headers (you have ${lines.length}).` };
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = (i < 0 ? line : line.slice(0, i)).trim();
    if (i < 0 || !TOKEN.test(name)) return { headers, error: `Write each header as “Name: value”: ${line}` };
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.includes(lower)) return { headers, error: `${name} is set by the phase itself and cannot be configured.` };
    if (seen.has(lower)) return { headers, error: `${name} is given twice.` };
    seen.add(lower);
    headers[name] = line.slice(i + 1).trim();
  }
  return { headers };
}

function intIn(s: string, [min, max]: readonly [number, number]): number | null {
  const t = s.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= min && n <= max ? n : null;
}

const range = ([min, max]: readonly [number, number], unit = '') => `A whole number from ${min.toLocaleString('en')} to ${max.toLocaleString('en')}${unit}.`;

export function validateHttpPersona(f: HttpPersonaForm): { errors: Partial<Record<HttpField, string>>; config?: HttpPersonaConfig } {
  const e: Partial<Record<HttpField, string>> = {};
  const ua = f.userAgent.trim();
  if (!ua) e.userAgent = 'Enter a user agent.';
  else if (Array.from(ua).length > HTTP_LIMITS.userAgentChars) e.userAgent = `At most ${HTTP_LIMITS.userAgentChars} characters.`;
  const { headers, error } = parseHeaders(f.headers);
  if (error) e.headers = error;
  if (f.scheme !== 'https' && f.scheme !== 'http') e.scheme = 'https or http.';
  const port = f.port.trim() === '' ? undefined : intIn(f.port, HTTP_LIMITS.port);
  if (port === null) e.port = `${range(HTTP_LIMITS.port)} Leave it empty for ${f.scheme === 'http' ? 80 : 443}.`;
  const timeoutMs = intIn(f.timeoutMs, HTTP_LIMITS.timeoutMs);
  if (timeoutMs === null) e.timeoutMs = range(HTTP_LIMITS.timeoutMs, ' ms');
  const concurrency = intIn(f.concurrency, HTTP_LIMITS.concurrency);
  if (concurrency === null) e.concurrency = range(HTTP_LIMITS.concurrency);
  const rate = intIn(f.rateLimitPerSecond, HTTP_LIMITS.rateLimitPerSecond);
  if (rate === null) e.rateLimitPerSecond = range(HTTP_LIMITS.rateLimitPerSecond, ' per second');
  const kib = intIn(f.maxBodyKiB, HTTP_LIMITS.maxBodyKiB);
  if (kib === null) e.maxBodyKiB = range(HTTP_LIMITS.maxBodyKiB, ' KiB');
  const redirects = intIn(f.followRedirects, HTTP_LIMITS.followRedirects);
  if (redirects === null) e.followRedirects = range(HTTP_LIMITS.followRedirects);
  if (Object.keys(e).length) return { errors: e };
  return {
    errors: e,
    config: {
      userAgent: ua,
      headers,
      scheme: f.scheme,
      ...(typeof port === 'number' ? { port } : {}),
      timeoutMs: timeoutMs!,
      concurrency: concurrency!,
      rateLimitPerSecond: rate!,
      maxBodyBytes: kib! * 1024,
      followRedirects: redirects!,
    },
  };
}

/** A 422 detail's field (e.g. "config.headers.Host", "config.maxBodyBytes") → the form field. */
export function httpFieldFor(field: string): HttpField | null {
  const key = field.replace(/^(body\.)?config\./, '').split(/[.[]/)[0];
  if (key === 'maxBodyBytes') return 'maxBodyKiB';
  return key in HTTP_DEFAULTS ? (key as HttpField) : null;
}
