import { describe, expect, it } from 'vitest';
import type { Phase, PhaseStatus } from '../api/types';
import { hitsText, resultFilters, showResults } from './results';

const ph = (phase: string, status: PhaseStatus, done = 0): Phase => ({ phase, status, trigger: null, progress: { done, total: 10 }, startedAt: null, completedAt: null, error: null });

describe('results', () => {
  it('offers the filters of the phases that ran', () => {
    const names = (ps: Phase[]) => resultFilters(ps).map(([, l]) => l);
    expect(names([ph('discovery', 'completed'), ph('validation', 'not_started')])).toEqual(['All']);
    expect(showResults([ph('discovery', 'completed'), ph('validation', 'not_started')])).toBe(false);
    expect(names([ph('discovery', 'completed'), ph('validation', 'running'), ph('keywords', 'not_started')])).toEqual(['All', 'Resolved', 'Unresolved', 'Error', 'Pending']);
    expect(names([ph('discovery', 'completed'), ph('validation', 'completed'), ph('keywords', 'paused', 3)])).toEqual([
      'All',
      'Resolved',
      'Unresolved',
      'Matched',
      'No match',
      'Unreachable',
      'Error',
      'Skipped',
      'Pending',
    ]);
    expect(resultFilters([ph('validation', 'completed'), ph('keywords', 'completed')]).find(([, l]) => l === 'No match')?.[0]).toBe('no_match');
  });

  it('shows hits per term, zeros left out', () => {
    expect(hitsText({ sale: 3, shoes: 0, 'running shoes': 1 })).toBe('sale ×3, running shoes ×1');
    expect(hitsText({})).toBe('—');
    expect(hitsText(undefined)).toBe('—');
  });
});
