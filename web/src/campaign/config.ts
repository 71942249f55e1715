/**
 * When `PUT /campaigns/{id}/config` can change what (DECISIONS.md #27): nothing while a phase is
 * running or paused; a phase's own section (e.g. `keywords`) not once that phase completed;
 * personas and proxies between phases, so a later phase can be configured after an earlier one.
 */
import type { Campaign, Phase } from '../api/types';

export function activePhase(c: Pick<Campaign, 'phases'>): Phase | null {
  return c.phases.find((p) => p.status === 'running' || p.status === 'paused') ?? null;
}

/** null when it can change, else why not (in words). */
export function sectionLock(c: Pick<Campaign, 'phases'>, section: string): string | null {
  const active = activePhase(c);
  if (active) return `${active.phase} is ${active.status}: stop it or wait for it to finish to change this.`;
  const own = c.phases.find((p) => p.phase === section);
  if (own?.status === 'completed') return `${section} has completed: its configuration can no longer change.`;
  return null;
}

export function resourcesLock(c: Pick<Campaign, 'phases'>): string | null {
  const active = activePhase(c);
  return active ? `${active.phase} is ${active.status}: stop it or wait for it to finish to change this.` : null;
}
