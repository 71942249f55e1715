import { describe, expect, it } from 'vitest';
import type { Campaign, CampaignEvent, Readiness } from '../api/types';
import { VersionGate, applyEvent, applyStatus } from './apply';

const base: Campaign = {
  id: 'c1',
  name: 'n',
  mode: 'full_sequence',
  correlationId: 'corr',
  version: 2,
  createdAt: '',
  updatedAt: '',
  config: { personaIds: [], proxyIds: [] },
  phases: [
    { phase: 'discovery', status: 'not_started', trigger: null, progress: { done: 0, total: 100 }, startedAt: null, completedAt: null, error: null },
    { phase: 'validation', status: 'not_started', trigger: null, progress: { done: 0, total: 0 }, startedAt: null, completedAt: null, error: null },
  ],
  autoStart: { status: 'queued', attempts: 0, requestedAt: null, startedAt: null, latencyMs: null, error: null },
};
const ev = (type: CampaignEvent['type'], version: number, data: Record<string, unknown> = {}, phase = 'discovery'): CampaignEvent => ({
  type,
  campaignId: 'c1',
  phase,
  status: null,
  version,
  at: `t${version}`,
  data,
});

describe('VersionGate', () => {
  it('drops duplicates and older versions per campaign', () => {
    const g = new VersionGate();
    expect(g.accept('a', 3)).toBe(true);
    expect(g.accept('a', 3)).toBe(false);
    expect(g.accept('a', 2)).toBe(false);
    expect(g.accept('b', 1)).toBe(true);
    expect(g.accept('a', 4)).toBe(true);
    // several events of one write share a version: distinct (type, phase) keys pass once each
    expect(g.accept('c', 1, 'campaign_created:')).toBe(true);
    expect(g.accept('c', 1, 'auto_start_queued:discovery')).toBe(true);
    expect(g.accept('c', 1, 'auto_start_queued:discovery')).toBe(false);
    expect(g.accept('c', 2, 'phase_auto_started:discovery')).toBe(true);
    expect(g.accept('c', 1, 'phase_progress:discovery')).toBe(false);
    g.observe('a', 10);
    g.observe('a', 5);
    expect(g.get('a')).toBe(10);
    expect(g.accept('a', 9)).toBe(false);
  });
});

describe('applyEvent', () => {
  it('follows an auto-started discovery to completion', () => {
    let c = applyEvent(base, ev('phase_auto_started', 3, { latencyMs: 42, attempts: 1 }));
    expect(c.phases[0]).toMatchObject({ status: 'running', trigger: 'auto', startedAt: 't3' });
    expect(c.autoStart).toMatchObject({ status: 'started', latencyMs: 42 });
    c = applyEvent(c, ev('phase_progress', 4, { done: 40, total: 100 }));
    expect(c.phases[0].progress).toEqual({ done: 40, total: 100 });
    c = applyEvent(c, ev('phase_completed', 5, { total: 100, durationMs: 9 }));
    expect(c.phases[0]).toMatchObject({ status: 'completed', progress: { done: 100, total: 100 } });
    expect(c.version).toBe(5);
  });

  it('never goes backwards: older events are ignored, same-version ones are idempotent', () => {
    const c = applyEvent(base, ev('phase_progress', 5, { done: 50, total: 100 }));
    expect(applyEvent(c, ev('phase_progress', 4, { done: 10, total: 100 }))).toBe(c);
    expect(applyEvent(c, ev('phase_progress', 5, { done: 50, total: 100 }))).toEqual(c);
  });

  it('applies sibling events of one write (same version)', () => {
    let c = applyEvent(base, ev('phase_completed', 3, { total: 100 }));
    c = applyEvent(c, ev('auto_start_queued', 3, {}, 'validation'));
    expect(c.phases[0].status).toBe('completed');
    expect(c.autoStart).toMatchObject({ status: 'queued', phase: 'validation' });
    c = applyEvent(c, ev('auto_start_failed', 4, { code: 'INVALID_CONFIG', message: 'no persona' }, 'validation'));
    expect(c.autoStart).toMatchObject({ status: 'failed', phase: 'validation' });
    expect(c.phases[0].status).toBe('completed');
  });

  it('records auto-start failure and manual starts', () => {
    let c = applyEvent(base, ev('auto_start_failed', 3, { code: 'INVALID_CONFIG', message: 'proxy disabled', attempts: 1 }));
    expect(c.autoStart).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'INVALID_CONFIG' } });
    expect(c.phases[0].status).toBe('not_started');
    c = applyEvent(c, ev('phase_started', 4));
    expect(c.phases[0]).toMatchObject({ status: 'running', trigger: 'manual' });
    expect(c.autoStart.status).toBe('failed');
  });

  it('ignores other campaigns, handles mode changes and later phases', () => {
    expect(applyEvent(base, { ...ev('phase_started', 9), campaignId: 'other' })).toBe(base);
    expect(applyEvent(base, ev('mode_changed', 3, { from: 'full_sequence', to: 'step_by_step' })).mode).toBe('step_by_step');
    const c = applyEvent(base, ev('phase_failed', 3, { code: 'DNS', message: 'boom' }, 'validation'));
    expect(c.phases[1]).toMatchObject({ status: 'failed', error: { code: 'DNS' } });
  });
});

describe('applyEvent: phase control and recovery', () => {
  const running = applyEvent(applyEvent(base, ev('phase_started', 3)), ev('phase_progress', 4, { done: 30, total: 100 }));

  it('pause → a late in-flight chunk → resume → complete', () => {
    let c = applyEvent(running, ev('phase_paused', 5, { done: 40, total: 100 }));
    expect(c.phases[0]).toMatchObject({ status: 'paused', progress: { done: 40, total: 100 } });
    // The chunk already in flight when the pause was committed still counts, and stays paused.
    c = applyEvent(c, ev('phase_progress', 6, { done: 50, total: 100 }));
    expect(c.phases[0]).toMatchObject({ status: 'paused', progress: { done: 50, total: 100 } });
    c = applyEvent(c, ev('phase_resumed', 7, { done: 50, total: 100 }));
    expect(c.phases[0]).toMatchObject({ status: 'running', progress: { done: 50, total: 100 }, trigger: 'manual' });
    c = applyEvent(c, ev('phase_completed', 8, { total: 100 }));
    expect(c.phases[0]).toMatchObject({ status: 'completed', progress: { done: 100, total: 100 } });
  });

  it('an older pause never overrides a newer resume', () => {
    const resumed = applyEvent(running, ev('phase_resumed', 6, { done: 40, total: 100 }));
    expect(applyEvent(resumed, ev('phase_paused', 5, { done: 40, total: 100 }))).toBe(resumed);
  });

  it('stop keeps the output so far; start again resets it and every later phase', () => {
    let c = applyEvent(running, ev('phase_completed', 5, { total: 100 }));
    c = applyEvent(c, ev('phase_started', 6, {}, 'validation'));
    c = applyEvent(c, ev('phase_progress', 7, { done: 20, total: 100 }, 'validation'));
    c = applyEvent(c, ev('phase_stopped', 8, { done: 25, total: 100 }, 'validation'));
    expect(c.phases[1]).toMatchObject({ status: 'stopped', progress: { done: 25, total: 100 } });
    expect(c.phases[0].status).toBe('completed');
    c = applyEvent(c, ev('phase_started', 9, {}, 'validation'));
    expect(c.phases[1]).toMatchObject({ status: 'running', trigger: 'manual', startedAt: 't9', progress: { done: 0, total: 100 }, error: null });
    expect(c.phases[0]).toMatchObject({ status: 'completed', progress: { done: 100, total: 100 } });
    // Applying the same event again changes nothing.
    expect(applyEvent(c, ev('phase_started', 9, {}, 'validation'))).toEqual(c);
  });

  it('start again on a failed phase clears its error and resets the later phases', () => {
    const three = {
      ...base,
      phases: [
        ...base.phases.map((p) => (p.phase === 'discovery' ? { ...p, status: 'failed' as const, progress: { done: 60, total: 100 }, error: { code: 'STALLED', message: 'no progress' } } : p)),
        { ...base.phases[1], phase: 'keywords', status: 'failed' as const, progress: { done: 5, total: 9 } },
      ],
    };
    const c = applyEvent(three, ev('phase_started', 3));
    expect(c.phases[0]).toMatchObject({ status: 'running', error: null, progress: { done: 0, total: 100 } });
    expect(c.phases[2]).toMatchObject({ status: 'not_started', progress: { done: 0, total: 0 }, error: null });
  });

  it('records the sweeper re-drives and a STALLED failure', () => {
    let c = applyEvent(running, ev('phase_recovered', 5, { reason: 'stalled_phase', redrives: 1 }));
    expect(c.phases[0]).toMatchObject({ status: 'running', recovery: { reason: 'stalled_phase', redrives: 1, at: 't5' } });
    c = applyEvent(c, ev('phase_recovered', 6, { reason: 'stream_failure', redrives: 2 }));
    expect(c.phases[0].recovery).toEqual({ reason: 'stream_failure', redrives: 2, at: 't6' });
    c = applyEvent(c, ev('phase_failed', 7, { code: 'STALLED', message: 'no progress after 3 re-drives' }));
    expect(c.phases[0]).toMatchObject({ status: 'failed', error: { code: 'STALLED' } });
  });

  it('keeps each phase its own auto-start; the top level is the latest request', () => {
    let c = applyEvent(base, ev('phase_auto_started', 3, { latencyMs: 42, attempts: 1 }));
    c = applyEvent(c, ev('phase_completed', 4, { total: 100 }));
    c = applyEvent(c, ev('auto_start_queued', 4, {}, 'validation'));
    expect(c.autoStart).toMatchObject({ status: 'queued', phase: 'validation', requestedAt: 't4' });
    expect(c.phases[0].autoStart).toMatchObject({ status: 'started', latencyMs: 42 });
    expect(c.phases[1].autoStart).toMatchObject({ status: 'queued' });
    c = applyEvent(c, ev('auto_start_cancelled', 5, {}, 'validation'));
    expect(c.phases[1].autoStart?.status).toBe('cancelled');
    expect(c.autoStart).toMatchObject({ status: 'cancelled', phase: 'validation' });
    expect(c.phases[0].autoStart?.status).toBe('started');
  });

  it('an outcome for an earlier phase does not overwrite the latest request', () => {
    const c = applyEvent(applyEvent(base, ev('auto_start_queued', 3, {}, 'validation')), ev('auto_start_failed', 4, { code: 'X', message: 'late' }, 'discovery'));
    expect(c.autoStart).toMatchObject({ status: 'queued', phase: 'validation' });
    expect(c.phases[0].autoStart).toMatchObject({ status: 'failed', error: { code: 'X' } });
  });
});

describe('applyStatus', () => {
  it('applies a newer or equal status and ignores an older one', () => {
    const s = { campaignId: 'c1', mode: 'full_sequence' as const, version: 7, autoStart: { ...base.autoStart, status: 'started' as const }, phases: base.phases, updatedAt: 'u' };
    const c = applyStatus(base, s);
    expect(c.version).toBe(7);
    expect(c.autoStart.status).toBe('started');
    expect(applyStatus(c, { ...s, version: 6, autoStart: base.autoStart })).toBe(c);
  });

  it('carries readiness', () => {
    const readiness: Readiness[] = [{ phase: 'validation', ready: false, problems: [{ field: 'config.personaIds', problem: 'a dns persona is required' }] }];
    const s = { campaignId: 'c1', mode: 'full_sequence' as const, version: 3, autoStart: base.autoStart, phases: base.phases, readiness, updatedAt: 'u' };
    expect(applyStatus(base, s).readiness).toEqual(readiness);
    expect(applyStatus({ ...base, readiness }, { ...s, readiness: undefined, version: 4 }).readiness).toEqual(readiness);
  });
});
