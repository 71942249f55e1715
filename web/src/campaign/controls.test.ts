import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import type { AutoStart, Campaign, Phase, PhaseStatus } from '../api/types';
import { failureOutcome, failureText, phaseControls, recoveryText, successText } from './controls';

const phase = (name: string, status: PhaseStatus, extra: Partial<Phase> = {}): Phase => ({
  phase: name,
  status,
  trigger: null,
  progress: { done: 0, total: 0 },
  startedAt: null,
  completedAt: null,
  error: null,
  ...extra,
});
const auto = (status: AutoStart['status'], ph?: string): AutoStart => ({ status, phase: ph, attempts: 0, requestedAt: null, startedAt: null, latencyMs: null, error: null });
const camp = (phases: Phase[], autoStart = auto('not_requested')): Pick<Campaign, 'phases' | 'autoStart'> => ({ phases, autoStart });
const labels = (c: Pick<Campaign, 'phases' | 'autoStart'>, i: number) => phaseControls(c, i).map((x) => x.label);

describe('phaseControls', () => {
  it('shows each status its buttons', () => {
    const c = camp([phase('discovery', 'running'), phase('validation', 'not_started')]);
    expect(labels(c, 0)).toEqual(['Pause discovery', 'Stop discovery']);
    expect(labels(c, 1)).toEqual([]); // discovery not completed yet
    expect(labels(camp([phase('discovery', 'paused')]), 0)).toEqual(['Resume discovery', 'Stop discovery']);
    expect(labels(camp([phase('discovery', 'failed')]), 0)).toEqual(['Start discovery again']);
    expect(labels(camp([phase('discovery', 'stopped')]), 0)).toEqual(['Start discovery again']);
    expect(labels(camp([phase('discovery', 'completed')]), 0)).toEqual([]);
    expect(labels(camp([phase('discovery', 'not_started')]), 0)).toEqual(['Start discovery']);
  });

  it('offers Start only once every earlier phase completed', () => {
    const c = camp([phase('discovery', 'completed'), phase('validation', 'completed'), phase('keywords', 'not_started')]);
    expect(labels(c, 2)).toEqual(['Start keywords']);
    const notYet = camp([phase('discovery', 'completed'), phase('validation', 'stopped'), phase('keywords', 'not_started')]);
    expect(labels(notYet, 1)).toEqual(['Start validation again']);
    expect(labels(notYet, 2)).toEqual([]);
  });

  it('a queued auto-start shows Stop, which cancels it (per-phase record first, else the top level)', () => {
    const own = camp([phase('discovery', 'completed'), phase('validation', 'not_started', { autoStart: auto('queued') })]);
    expect(phaseControls(own, 1).map((x) => [x.kind, x.action, x.label])).toEqual([['cancel_auto_start', 'stop', 'Stop validation']]);
    const top = camp([phase('discovery', 'not_started')], auto('queued'));
    expect(phaseControls(top, 0).map((x) => x.kind)).toEqual(['cancel_auto_start']);
    // The top-level request of another phase says nothing about discovery.
    const other = camp([phase('discovery', 'completed'), phase('validation', 'not_started')], auto('queued', 'validation'));
    expect(phaseControls(other, 1).map((x) => x.kind)).toEqual(['cancel_auto_start']);
    const cancelled = camp([phase('discovery', 'not_started', { autoStart: auto('cancelled') })], auto('queued', 'validation'));
    expect(labels(cancelled, 0)).toEqual(['Start discovery']);
  });

  it('routes Start again to /start and Stop to /stop', () => {
    expect(phaseControls(camp([phase('discovery', 'failed')]), 0)[0]).toMatchObject({ action: 'start', busyLabel: 'Starting discovery again...' });
    expect(phaseControls(camp([phase('discovery', 'running')]), 0)[1]).toMatchObject({ action: 'stop', busyLabel: 'Stopping discovery...' });
  });
});

describe('answers', () => {
  const e409 = (code: string) => new ApiError({ status: 409, code, message: code });

  it('success toasts', () => {
    expect(successText('pause', 'discovery')).toBe('Discovery paused');
    expect(successText('start_again', 'validation')).toBe('Validation started again');
    expect(successText('cancel_auto_start', 'validation')).toBe('Auto-start of validation cancelled');
  });

  it('every 409 is explained and refreshes the page', () => {
    for (const [kind, code, text] of [
      ['pause', 'PHASE_NOT_RUNNING', 'Could not pause discovery: it is not running any more'],
      ['stop', 'PHASE_NOT_RUNNING', 'Could not stop discovery: it is not running any more'],
      ['resume', 'PHASE_NOT_PAUSED', 'Could not resume discovery: it is not paused any more'],
      ['start', 'PHASE_ORDER', 'Discovery cannot start before the phases before it have completed'],
    ] as const) {
      const o = failureOutcome(kind, 'discovery', e409(code));
      expect(o, code).toMatchObject({ tone: 'error', refresh: true, keep: false });
      expect(o.text).toContain(text);
      expect(o.text).toContain('another tab');
    }
    expect(failureOutcome('start', 'discovery', e409('PHASE_ALREADY_RUNNING'))).toMatchObject({ tone: 'info', refresh: true });
    expect(failureOutcome('start_again', 'discovery', e409('PHASE_ALREADY_COMPLETED'))).toMatchObject({ tone: 'info', refresh: true });
  });

  it('422 and 429 stay beside the button', () => {
    const v = failureOutcome('start', 'validation', new ApiError({ status: 422, code: 'INVALID_CONFIG', message: 'x', details: [{ field: 'config.personaIds', problem: 'no dns persona' }] }));
    expect(v).toMatchObject({ tone: 'error', keep: true, refresh: false, text: 'Could not start validation: INVALID_CONFIG' });
    const q = failureOutcome('resume', 'discovery', new ApiError({ status: 429, code: 'QUOTA_EXCEEDED', message: 'quota', retryAfterMs: 90_000, details: [{ field: 'quota.activeCampaigns', problem: '20 of 20 in use' }] }));
    expect(q).toMatchObject({ keep: true, refresh: false });
    expect(q.text).toMatch(/^Could not resume discovery: Quota reached — active campaigns: 20 of 20 in use\. Try again in 2 min/);
  });

  it('recovery and failure texts', () => {
    expect(recoveryText({ reason: 'stalled_phase', redrives: 1, at: '2026-01-01T00:00:00Z' })).toBe('Recovered: re-sent the next chunk (1 of 3)');
    expect(recoveryText({ reason: 'stale_queued', redrives: 2, at: '2026-01-01T00:00:00Z' })).toBe('Recovered: re-sent the queued start (2 of 3)');
    expect(recoveryText({ reason: 'odd', redrives: 1, at: '2026-01-01T00:00:00Z' })).toContain('odd');
    expect(failureText({ code: 'STALLED', message: 'no progress' })).toMatch(/^Stalled: no progress after 3 automatic re-drives .*Start it again/);
    expect(failureText({ code: 'INVALID_CONFIG', message: 'bad', details: [{ field: 'config.personaIds', problem: 'p' }] })).toBe('INVALID_CONFIG — bad · config.personaIds: p');
    expect(failureText(null)).toBeNull();
  });
});
