/**
 * The wizard's submit flows, written against small injected dependencies so that they can be
 * unit-tested without a browser, a server or real time.
 */
import { ApiError, isApiError } from '../api/client';
import type { Campaign, CampaignEvent, CampaignStatus } from '../api/types';
import { retryWithBackoff, type BackoffOptions } from '../lib/backoff';
import { isQuotaExceeded } from '../lib/quota';

export type SubmitStage = 'creating' | 'starting';

/** Backoff used by the wizard's own start call (fallback path). */
export const START_RETRY: BackoffOptions & { retries: number } = {
  retries: 4,
  baseMs: 500,
  maxMs: 4000,
  factor: 2,
  jitter: 'equal',
};

export interface StartDeps {
  startPhase: (id: string, phase: string) => Promise<unknown>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  retry?: Partial<typeof START_RETRY>;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/** 409 PHASE_ALREADY_RUNNING / PHASE_ALREADY_COMPLETED mean someone (the server) already started it. */
export function isAlreadyStarted(e: unknown): boolean {
  return (
    isApiError(e, 409, 'PHASE_ALREADY_RUNNING') || isApiError(e, 409, 'PHASE_ALREADY_COMPLETED')
  );
}

/**
 * Errors worth another try of the start call: other 409s, 422 (pre-start validation), 429/503.
 * A 429 QUOTA_EXCEEDED is not: the quota does not free itself within the retry budget.
 */
export function isRetryableStartError(e: unknown): boolean {
  if (!(e instanceof ApiError)) return false;
  if (isAlreadyStarted(e) || isQuotaExceeded(e)) return false;
  return e.status === 409 || e.status === 422 || e.status === 429 || e.status === 503 || e.status === 0;
}

/**
 * POST …/phases/{phase}/start with bounded exponential-backoff retries on 409/422 (and
 * throttling). Resolves 'started' or 'already_running'; rejects with the last error otherwise.
 */
export async function startWithRetry(
  id: string,
  phase: string,
  deps: StartDeps,
): Promise<'started' | 'already_running'> {
  const cfg = { ...START_RETRY, ...deps.retry };
  try {
    await retryWithBackoff(() => deps.startPhase(id, phase), {
      ...cfg,
      random: deps.random,
      sleep: deps.sleep,
      onRetry: deps.onRetry,
      shouldRetry: isRetryableStartError,
      retryAfterMs: (e) => (e instanceof ApiError ? e.retryAfterMs : undefined),
    });
    return 'started';
  } catch (e) {
    if (isAlreadyStarted(e)) return 'already_running';
    throw e;
  }
}

export type Outcome =
  | { kind: 'started'; campaign: Campaign; automatically: boolean; via: 'event' | 'status' | 'start_call' }
  | { kind: 'failed'; campaign: Campaign; reason: string; via: 'event' | 'status' | 'start_call' }
  | { kind: 'created'; campaign: Campaign };

export type WaitResult =
  | { kind: 'started'; event: CampaignEvent }
  | { kind: 'failed'; event: CampaignEvent }
  | { kind: 'timeout' };

export interface FullAutoDeps extends StartDeps {
  /** Subscribe to every campaign of the caller ('*'); resolves on the server's ack. */
  subscribeAll: () => Promise<void>;
  createCampaign: () => Promise<Campaign>;
  /** Resolves on phase_auto_started / auto_start_failed for `id` (including ones already buffered), or on timeout. */
  waitForOutcome: (id: string, timeoutMs: number) => Promise<WaitResult>;
  getStatus: (id: string) => Promise<CampaignStatus>;
  onStage: (stage: SubmitStage, campaign?: Campaign) => void;
  /** How long to wait for the auto-start event before falling back (default 5 s). */
  eventTimeoutMs?: number;
  log?: (msg: string, extra?: unknown) => void;
}

export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    const d = e.details.map((x) => `${x.field}: ${x.problem}`).join('; ');
    return `${e.code}${e.message ? ` — ${e.message}` : ''}${d ? ` (${d})` : ''}`;
  }
  if (e && typeof e === 'object') {
    const o = e as { code?: unknown; message?: unknown };
    if (o.code || o.message) return [o.code, o.message].filter(Boolean).join(' — ');
  }
  return String(e);
}

/**
 * Full Auto: subscribe '*' → create (mode full_sequence, Idempotency-Key) → wait for the
 * server's auto-start event. Without an event in time: read /status; if the auto-start is still
 * pending, start discovery ourselves (409 PHASE_ALREADY_RUNNING counts as success).
 */
export async function runFullAuto(deps: FullAutoDeps): Promise<Outcome> {
  const log = deps.log ?? (() => {});
  deps.onStage('creating');
  try {
    await deps.subscribeAll();
  } catch (e) {
    // Not fatal: the status/start fallback below still gets the campaign started.
    log('subscribe * failed; relying on the status fallback', e);
  }
  const campaign = await deps.createCampaign();
  deps.onStage('starting', campaign);

  const waited = await deps.waitForOutcome(campaign.id, deps.eventTimeoutMs ?? 5000);
  if (waited.kind === 'started') {
    return { kind: 'started', campaign, automatically: true, via: 'event' };
  }
  if (waited.kind === 'failed') {
    return { kind: 'failed', campaign, reason: describeError(waited.event.data), via: 'event' };
  }

  log('no auto-start event in time; checking /status');
  let status: CampaignStatus | null = null;
  try {
    status = await deps.getStatus(campaign.id);
  } catch (e) {
    log('status check failed', e);
  }
  if (status) {
    const discovery = status.phases.find((p) => p.phase === 'discovery');
    if (discovery && (discovery.status === 'running' || discovery.status === 'completed')) {
      return { kind: 'started', campaign, automatically: discovery.trigger === 'auto', via: 'status' };
    }
    if (status.autoStart.status === 'failed' || status.autoStart.status === 'cancelled') {
      return {
        kind: 'failed',
        campaign,
        reason: describeError(status.autoStart.error ?? status.autoStart.status),
        via: 'status',
      };
    }
  }

  try {
    const r = await startWithRetry(campaign.id, 'discovery', deps);
    return { kind: 'started', campaign, automatically: r === 'already_running', via: 'start_call' };
  } catch (e) {
    return { kind: 'failed', campaign, reason: describeError(e), via: 'start_call' };
  }
}
