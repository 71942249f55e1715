/**
 * Readiness (API.md): the pre-start checks of every phase, as the server reports them on each
 * campaign read. Which phases still need something, and where Full Auto will stop.
 */
import type { Campaign, ErrorDetail, Phase } from '../api/types';

export interface PhaseNeeds {
  phase: string;
  status: Phase['status'];
  ready: boolean;
  problems: ErrorDetail[];
}

/** Phases that can still start (not started, failed or stopped), with their checks. */
export function pendingReadiness(c: Pick<Campaign, 'phases' | 'readiness'>): PhaseNeeds[] {
  const out: PhaseNeeds[] = [];
  for (const p of c.phases) {
    if (p.status === 'completed' || p.status === 'running' || p.status === 'paused') continue;
    const r = c.readiness?.find((x) => x.phase === p.phase);
    if (!r) continue;
    out.push({ phase: p.phase, status: p.status, ready: r.ready, problems: r.problems ?? [] });
  }
  return out;
}

/**
 * In Full Auto, the first phase the pipeline will reach but cannot start (its checks fail), or
 * null when nothing blocks it. A failed or stopped phase already ended the auto-advance.
 */
export function fullAutoStop(c: Pick<Campaign, 'mode' | 'phases' | 'readiness'>): PhaseNeeds | null {
  if (c.mode !== 'full_sequence') return null;
  for (const p of c.phases) {
    if (p.status === 'completed' || p.status === 'running' || p.status === 'paused') continue;
    if (p.status === 'failed' || p.status === 'stopped') return null;
    // Its auto-start already failed or was cancelled: the stop happened; the auto-start panel says why.
    if (p.autoStart && (p.autoStart.status === 'failed' || p.autoStart.status === 'cancelled')) return null;
    const r = c.readiness?.find((x) => x.phase === p.phase);
    if (r && !r.ready) return { phase: p.phase, status: p.status, ready: false, problems: r.problems ?? [] };
  }
  return null;
}

export const problemText = (problems: ErrorDetail[]): string =>
  problems.length ? problems.map((d) => `${d.field}: ${d.problem}`).join('; ') : 'not ready (no reason given)';
