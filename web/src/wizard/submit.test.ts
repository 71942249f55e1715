import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import type { Campaign, CampaignEvent, CampaignStatus } from '../api/types';
import { isRetryableStartError, runFullAuto, startWithRetry, type FullAutoDeps, type WaitResult } from './submit';

const err = (status: number, code: string, retryAfterMs?: number) => new ApiError({ status, code, message: code, retryAfterMs });

const campaign = { id: 'c1', name: 'n', mode: 'full_sequence', version: 1 } as unknown as Campaign;

const status = (discovery: string, auto: string, trigger: 'auto' | 'manual' | null = null): CampaignStatus => ({
  campaignId: 'c1',
  mode: 'full_sequence',
  version: 3,
  updatedAt: '',
  autoStart: { status: auto as CampaignStatus['autoStart']['status'], attempts: 1, requestedAt: null, startedAt: null, latencyMs: null, error: auto === 'failed' ? { code: 'INVALID_CONFIG', message: 'proxy disabled' } : null },
  phases: [{ phase: 'discovery', status: discovery as never, trigger, progress: { done: 0, total: 10 }, startedAt: null, completedAt: null, error: null }],
});

const ev = (type: CampaignEvent['type'], data: Record<string, unknown> = {}): CampaignEvent => ({ type, campaignId: 'c1', phase: 'discovery', status: 'running', version: 2, at: '', data });

describe('startWithRetry', () => {
  const noSleep = async () => {};

  it('classifies errors', () => {
    expect(isRetryableStartError(err(409, 'PHASE_ORDER'))).toBe(true);
    expect(isRetryableStartError(err(422, 'INVALID_CONFIG'))).toBe(true);
    expect(isRetryableStartError(err(503, 'UNAVAILABLE'))).toBe(true);
    expect(isRetryableStartError(err(409, 'PHASE_ALREADY_RUNNING'))).toBe(false);
    expect(isRetryableStartError(err(429, 'THROTTLED', 1000))).toBe(true);
    expect(isRetryableStartError(err(429, 'QUOTA_EXCEEDED', 60_000))).toBe(false);
    expect(isRetryableStartError(err(404, 'NOT_FOUND'))).toBe(false);
    expect(isRetryableStartError(new Error('x'))).toBe(false);
  });

  it('treats 409 PHASE_ALREADY_RUNNING as success without retrying', async () => {
    const startPhase = vi.fn(async () => Promise.reject(err(409, 'PHASE_ALREADY_RUNNING')));
    await expect(startWithRetry('c1', 'discovery', { startPhase, sleep: noSleep })).resolves.toBe('already_running');
    expect(startPhase).toHaveBeenCalledTimes(1);
  });

  it('retries 409/422 with exponential backoff, then succeeds', async () => {
    const delays: number[] = [];
    const startPhase = vi
      .fn()
      .mockRejectedValueOnce(err(422, 'INVALID_CONFIG'))
      .mockRejectedValueOnce(err(409, 'IDEMPOTENCY_IN_PROGRESS'))
      .mockResolvedValueOnce(campaign);
    const r = await startWithRetry('c1', 'discovery', { startPhase, sleep: async (ms) => void delays.push(ms), random: () => 0.999999 });
    expect(r).toBe('started');
    expect(startPhase).toHaveBeenCalledTimes(3);
    expect(delays).toEqual([500, 1000]);
  });

  it('gives up after a bounded number of retries and rethrows the last error', async () => {
    const delays: number[] = [];
    const startPhase = vi.fn(async () => Promise.reject(err(422, 'INVALID_CONFIG')));
    await expect(startWithRetry('c1', 'discovery', { startPhase, sleep: async (ms) => void delays.push(ms), random: () => 0.999999 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    expect(startPhase).toHaveBeenCalledTimes(5);
    expect(delays).toEqual([500, 1000, 2000, 4000]);
  });

  it('a late PHASE_ALREADY_RUNNING during retries is still success', async () => {
    const startPhase = vi.fn().mockRejectedValueOnce(err(409, 'PHASE_ORDER')).mockRejectedValueOnce(err(409, 'PHASE_ALREADY_RUNNING'));
    await expect(startWithRetry('c1', 'discovery', { startPhase, sleep: noSleep })).resolves.toBe('already_running');
  });

  it('does not retry other errors', async () => {
    const startPhase = vi.fn(async () => Promise.reject(err(404, 'NOT_FOUND')));
    await expect(startWithRetry('c1', 'discovery', { startPhase, sleep: noSleep })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(startPhase).toHaveBeenCalledTimes(1);
  });
});

describe('runFullAuto', () => {
  function deps(over: Partial<FullAutoDeps> = {}) {
    const calls: string[] = [];
    const d: FullAutoDeps = {
      subscribeAll: vi.fn(async () => void calls.push('subscribe *')),
      createCampaign: vi.fn(async () => {
        calls.push('POST /campaigns');
        return campaign;
      }),
      waitForOutcome: vi.fn(async (): Promise<WaitResult> => {
        calls.push('wait');
        return { kind: 'started', event: ev('phase_auto_started') };
      }),
      getStatus: vi.fn(async () => {
        calls.push('GET status');
        return status('not_started', 'queued');
      }),
      startPhase: vi.fn(async () => {
        calls.push('POST start');
        return campaign;
      }),
      onStage: vi.fn((stage) => void calls.push(`stage ${stage}`)),
      sleep: async () => {},
      ...over,
    };
    return { d, calls };
  }

  it('subscribes before it creates, then waits for phase_auto_started', async () => {
    const { d, calls } = deps();
    const r = await runFullAuto(d);
    expect(r).toMatchObject({ kind: 'started', automatically: true, via: 'event' });
    expect(calls).toEqual(['stage creating', 'subscribe *', 'POST /campaigns', 'stage starting', 'wait']);
    expect(d.waitForOutcome).toHaveBeenCalledWith('c1', 5000);
  });

  it('reports auto_start_failed with its reason', async () => {
    const { d, calls } = deps({
      waitForOutcome: async () => ({ kind: 'failed', event: ev('auto_start_failed', { code: 'INVALID_CONFIG', message: 'proxy disabled', attempts: 1 }) }),
    });
    const r = await runFullAuto(d);
    expect(r).toMatchObject({ kind: 'failed', via: 'event' });
    expect(r.kind === 'failed' && r.reason).toContain('INVALID_CONFIG');
    expect(calls).not.toContain('POST start');
  });

  it('after a timeout: a running discovery found by /status is success', async () => {
    const { d, calls } = deps({ waitForOutcome: async () => ({ kind: 'timeout' }), getStatus: async () => status('running', 'started', 'auto') });
    expect(await runFullAuto(d)).toMatchObject({ kind: 'started', automatically: true, via: 'status' });
    expect(calls).not.toContain('POST start');
  });

  it('after a timeout: a failed autoStart found by /status is failure', async () => {
    const { d } = deps({ waitForOutcome: async () => ({ kind: 'timeout' }), getStatus: async () => status('not_started', 'failed') });
    const r = await runFullAuto(d);
    expect(r).toMatchObject({ kind: 'failed', via: 'status' });
    expect(r.kind === 'failed' && r.reason).toContain('proxy disabled');
  });

  it('after a timeout with the auto-start still queued: starts discovery itself; 409 PHASE_ALREADY_RUNNING is success', async () => {
    const { d, calls } = deps({
      waitForOutcome: async () => ({ kind: 'timeout' }),
      startPhase: vi.fn(async () => {
        calls.push('POST start');
        throw err(409, 'PHASE_ALREADY_RUNNING');
      }),
    });
    expect(await runFullAuto(d)).toMatchObject({ kind: 'started', via: 'start_call' });
    expect(calls.slice(-2)).toEqual(['GET status', 'POST start']);
  });

  it('after a timeout: its own start failing every retry is failure', async () => {
    const startPhase = vi.fn(async () => Promise.reject(err(422, 'INVALID_CONFIG')));
    const { d } = deps({ waitForOutcome: async () => ({ kind: 'timeout' }), startPhase });
    expect(await runFullAuto(d)).toMatchObject({ kind: 'failed', via: 'start_call' });
    expect(startPhase).toHaveBeenCalledTimes(5);
  });

  it('a failed subscription does not stop the create; the fallback still runs', async () => {
    const { d, calls } = deps({
      subscribeAll: async () => Promise.reject(new Error('ws down')),
      waitForOutcome: async () => ({ kind: 'timeout' }),
    });
    expect(await runFullAuto(d)).toMatchObject({ kind: 'started', via: 'start_call' });
    expect(calls).toContain('POST /campaigns');
  });

  it('a failed create propagates (nothing was created)', async () => {
    const { d } = deps({ createCampaign: async () => Promise.reject(err(422, 'INVALID_CONFIG')) });
    await expect(runFullAuto(d)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    expect(d.waitForOutcome).not.toHaveBeenCalled();
  });
});
