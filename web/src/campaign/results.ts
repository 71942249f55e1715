/** The results table's filters (by the phases that ran) and hit counts in words. */
import type { Phase, ResultFilter } from '../api/types';

const DNS_FILTERS: [ResultFilter, string][] = [
  ['resolved', 'Resolved'],
  ['unresolved', 'Unresolved'],
];
/** `error` is both a DNS and an HTTP status: the server filters on the latest phase that ran. */
const DNS_ERROR: [ResultFilter, string] = ['error', 'Error'];
const HTTP_FILTERS: [ResultFilter, string][] = [
  ['matched', 'Matched'],
  ['no_match', 'No match'],
  ['unreachable', 'Unreachable'],
  ['error', 'Error'],
  ['skipped', 'Skipped'],
];

const ran = (p: Phase | undefined) => !!p && (p.status !== 'not_started' || p.progress.done > 0);

/**
 * The filters that make sense for the phases that ran (All first, Pending last: no result yet
 * from the latest phase that ran).
 */
export function resultFilters(phases: Phase[]): [ResultFilter | null, string][] {
  const validation = ran(phases.find((p) => p.phase === 'validation'));
  const keywords = ran(phases.find((p) => p.phase === 'keywords'));
  if (!validation && !keywords) return [[null, 'All']];
  return [
    [null, 'All'],
    ...(validation ? DNS_FILTERS : []),
    ...(keywords ? HTTP_FILTERS : [DNS_ERROR]),
    ['pending', 'Pending'],
  ];
}

export function showResults(phases: Phase[]): boolean {
  return ran(phases.find((p) => p.phase === 'validation'));
}

export function hitsText(hits: Record<string, number> | null | undefined): string {
  const e = Object.entries(hits ?? {}).filter(([, n]) => n > 0);
  return e.length ? e.map(([t, n]) => `${t} ×${n}`).join(', ') : '—';
}

