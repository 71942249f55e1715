/** The results table's filters (by the phases that ran) and hit counts in words. */
import type { Phase, ResultFilter } from '../api/types';

const DNS_FILTERS: [ResultFilter, string][] = [
  ['resolved', 'Resolved'],
  ['unresolved', 'Unresolved'],
];
const HTTP_FILTERS: [ResultFilter, string][] = [
  ['matched', 'Matched'],
  ['no_match', 'No match'],
  ['unreachable', 'Unreachable'],
  ['error', 'Error'],
  ['skipped', 'Skipped'],
];

const ran = (p: Phase | undefined) => !!p && (p.status !== 'not_started' || p.progress.done > 0);

/** The filters that make sense for the phases that ran (All first). */
export function resultFilters(phases: Phase[]): [ResultFilter | null, string][] {
  const validation = phases.find((p) => p.phase === 'validation');
  const keywords = phases.find((p) => p.phase === 'keywords');
  return [[null, 'All'], ...(ran(validation) ? DNS_FILTERS : []), ...(ran(keywords) ? HTTP_FILTERS : [])];
}

export function showResults(phases: Phase[]): boolean {
  return ran(phases.find((p) => p.phase === 'validation'));
}

export function hitsText(hits: Record<string, number> | null | undefined): string {
  const e = Object.entries(hits ?? {}).filter(([, n]) => n > 0);
  return e.length ? e.map(([t, n]) => `${t} ×${n}`).join(', ') : '—';
}

