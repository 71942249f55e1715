import { describe, expect, it } from 'vitest';
import type { Campaign, Phase, PhaseStatus, Readiness } from '../api/types';
import { fullAutoStop, pendingReadiness, problemText } from './readiness';

const phase = (name: string, status: PhaseStatus): Phase => ({ phase: name, status, trigger: null, progress: { done: 0, total: 0 }, startedAt: null, completedAt: null, error: null });
const noDns = { field: 'config.personaIds', problem: 'a persona of kind dns is required' };
const readiness: Readiness[] = [
  { phase: 'discovery', ready: true, problems: [] },
  { phase: 'validation', ready: false, problems: [noDns] },
  { phase: 'keywords', ready: false, problems: [{ field: 'config.keywords', problem: 'required' }] },
];
const camp = (mode: Campaign['mode'], statuses: PhaseStatus[]): Pick<Campaign, 'mode' | 'phases' | 'readiness'> => ({
  mode,
  phases: ['discovery', 'validation', 'keywords'].map((n, i) => phase(n, statuses[i])),
  readiness,
});

describe('readiness', () => {
  it('lists what each phase that can still start needs', () => {
    const r = pendingReadiness(camp('step_by_step', ['running', 'not_started', 'stopped']));
    expect(r.map((x) => [x.phase, x.ready])).toEqual([
      ['validation', false],
      ['keywords', false],
    ]);
    expect(r[0].problems).toEqual([noDns]);
    expect(pendingReadiness({ phases: [phase('discovery', 'not_started')] })).toEqual([]);
  });

  it('Full Auto stops before the first phase it reaches that is not ready', () => {
    expect(fullAutoStop(camp('full_sequence', ['running', 'not_started', 'not_started']))?.phase).toBe('validation');
    expect(fullAutoStop(camp('full_sequence', ['not_started', 'not_started', 'not_started']))?.phase).toBe('validation');
    expect(fullAutoStop({ ...camp('full_sequence', ['completed', 'completed', 'not_started']) })?.phase).toBe('keywords');
    expect(fullAutoStop(camp('step_by_step', ['running', 'not_started', 'not_started']))).toBeNull();
    // Already stopped there: the failure is shown, not a prediction.
    expect(fullAutoStop(camp('full_sequence', ['completed', 'failed', 'not_started']))).toBeNull();
    const failedThere = camp('full_sequence', ['completed', 'not_started', 'not_started']);
    failedThere.phases[1] = { ...failedThere.phases[1], autoStart: { status: 'failed', attempts: 1, requestedAt: null, startedAt: null, latencyMs: null, error: null } };
    expect(fullAutoStop(failedThere)).toBeNull();
    expect(fullAutoStop({ ...camp('full_sequence', ['running', 'not_started', 'not_started']), readiness: readiness.map((r) => ({ ...r, ready: true })) })).toBeNull();
  });

  it('puts problems in words', () => {
    expect(problemText([noDns])).toBe('config.personaIds: a persona of kind dns is required');
    expect(problemText([])).toMatch(/not ready/);
  });
});
