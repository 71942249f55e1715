import { describe, expect, it } from 'vitest';
import type { Campaign, CampaignEvent } from '../api/types';
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

describe('applyStatus', () => {
  it('applies a newer or equal status and ignores an older one', () => {
    const s = { campaignId: 'c1', mode: 'full_sequence' as const, version: 7, autoStart: { ...base.autoStart, status: 'started' as const }, phases: base.phases, updatedAt: 'u' };
    const c = applyStatus(base, s);
    expect(c.version).toBe(7);
    expect(c.autoStart.status).toBe('started');
    expect(applyStatus(c, { ...s, version: 6, autoStart: base.autoStart })).toBe(c);
  });
});
