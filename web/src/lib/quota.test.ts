import { describe, expect, it } from 'vitest';
import { ApiError, parseRetryAfter } from '../api/client';
import { formatWait, quotaInfo, quotaName } from './quota';

const q = (details: { field: string; problem: string }[], retryAfterMs?: number) =>
  new ApiError({ status: 429, code: 'QUOTA_EXCEEDED', message: 'quota exceeded', details, retryAfterMs });

describe('quota', () => {
  it('names quotas', () => {
    expect(quotaName('quota.activeCampaigns')).toBe('active campaigns');
    expect(quotaName('quota.domainsPerDay')).toBe('domains generated today');
    expect(quotaName('quota.someNewThing')).toBe('some new thing');
  });

  it('formats waits, rounding up', () => {
    expect(formatWait(0)).toBe('1 s');
    expect(formatWait(45_000)).toBe('45 s');
    expect(formatWait(61_000)).toBe('2 min');
    expect(formatWait(3_600_000)).toBe('1 h');
    expect(formatWait(3_900_000)).toBe('1 h 5 min');
  });

  it('says what is used and when to retry', () => {
    const i = quotaInfo(q([{ field: 'quota.activeCampaigns', problem: '20 of 20 in use' }], 30_000), 1000, (t) => `T${t}`);
    expect(i).toEqual({ text: 'Quota reached — active campaigns: 20 of 20 in use.', retry: 'Try again in 30 s (at T31000).', retryAt: 31_000 });
    const noReset = quotaInfo(q([{ field: 'quota.activeCampaigns', problem: '20 of 20 in use' }]));
    expect(noReset?.retry).toMatch(/finished or been stopped/);
    expect(noReset?.retryAt).toBeNull();
    expect(quotaInfo(q([]))?.text).toBe('Quota reached — quota exceeded.');
  });

  it('is null for anything but 429 QUOTA_EXCEEDED', () => {
    expect(quotaInfo(new ApiError({ status: 429, code: 'THROTTLED', message: 't' }))).toBeNull();
    expect(quotaInfo(new Error('x'))).toBeNull();
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:05:00 GMT', now)).toBe(300_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
