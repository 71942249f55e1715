import { describe, expect, it } from 'vitest';
import type { Phase, PhaseStatus } from '../api/types';
import { activePhase, resourcesLock, sectionLock } from './config';

const c = (...s: PhaseStatus[]) => ({
  phases: ['discovery', 'validation', 'keywords'].map((phase, i): Phase => ({ phase, status: s[i], trigger: null, progress: { done: 0, total: 0 }, startedAt: null, completedAt: null, error: null })),
});

describe('config locks', () => {
  it('nothing changes while a phase runs or is paused', () => {
    expect(activePhase(c('completed', 'paused', 'not_started'))?.phase).toBe('validation');
    expect(sectionLock(c('completed', 'running', 'not_started'), 'keywords')).toMatch(/validation is running/);
    expect(resourcesLock(c('paused', 'not_started', 'not_started'))).toMatch(/discovery is paused/);
  });

  it('personas and proxies change between phases; a completed phase keeps its section', () => {
    expect(resourcesLock(c('completed', 'not_started', 'not_started'))).toBeNull();
    expect(sectionLock(c('completed', 'completed', 'not_started'), 'keywords')).toBeNull();
    expect(sectionLock(c('completed', 'completed', 'failed'), 'keywords')).toBeNull();
    expect(sectionLock(c('completed', 'completed', 'completed'), 'keywords')).toMatch(/completed/);
  });
});
