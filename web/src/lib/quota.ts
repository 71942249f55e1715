/**
 * 429 QUOTA_EXCEEDED in words: which per-user limit (API.md "Limits"), how much of it is used,
 * and when to try again (`Retry-After`, when the server sets one).
 */
import { ApiError } from '../api/client';

const QUOTA_NAMES: Record<string, string> = {
  activeCampaigns: 'active campaigns',
  domainsPerDay: 'domains generated today',
  dailyDomains: 'domains generated today',
  connections: 'open live-update connections',
  subscriptions: 'live-update subscriptions',
};

/** "quota.activeCampaigns" → "active campaigns"; unknown names are split from camelCase. */
export function quotaName(field: string): string {
  const key = field.replace(/^quota\./, '');
  return QUOTA_NAMES[key] ?? key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

/** "45 s", "3 min", "2 h 5 min" (rounded up, never "0 s"). */
export function formatWait(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  const m = min % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

export interface QuotaInfo {
  /** e.g. "Quota reached — active campaigns: 20 of 20 in use." */
  text: string;
  /** e.g. "Try again in 3 min (at 10:32:05)." or advice when the quota has no reset time. */
  retry: string;
  /** Epoch ms after which a retry can succeed, when the server said so. */
  retryAt: number | null;
}

export function isQuotaExceeded(e: unknown): boolean {
  return e instanceof ApiError && e.status === 429 && e.code === 'QUOTA_EXCEEDED';
}

/** null unless `e` is a 429 QUOTA_EXCEEDED. */
export function quotaInfo(
  e: unknown,
  now = Date.now(),
  clock: (t: number) => string = (t) => new Date(t).toLocaleTimeString(),
): QuotaInfo | null {
  if (!(e instanceof ApiError) || !isQuotaExceeded(e)) return null;
  const quotas = e.details.filter((d) => d.field.startsWith('quota.'));
  const parts = quotas.length ? quotas.map((d) => `${quotaName(d.field)}: ${d.problem}`) : [e.message || 'a per-user limit'];
  const text = `Quota reached — ${parts.join('; ')}.`;
  if (e.retryAfterMs !== undefined) {
    const retryAt = now + e.retryAfterMs;
    return { text, retry: `Try again in ${formatWait(e.retryAfterMs)} (at ${clock(retryAt)}).`, retryAt };
  }
  const active = quotas.some((d) => d.field === 'quota.activeCampaigns');
  const retry = active
    ? 'Try again when one of your running or paused campaigns has finished or been stopped.'
    : 'Try again later.';
  return { text, retry, retryAt: null };
}
