/** Folding events and status polls into a campaign, never letting `version` go backwards. */
import type { Campaign, CampaignEvent, CampaignStatus, Phase } from '../api/types';

/**
 * Per-campaign "last applied version" filter for at-least-once delivery. One committed write can
 * produce several events (e.g. `campaign_created` + `auto_start_queued`, both at version 1), so an
 * event is a duplicate when its version is older than the newest seen, or equal to it with a
 * (type, phase) already seen at that version.
 */
export class VersionGate {
  private last = new Map<string, { version: number; keys: Set<string> | 'all' }>();

  /** True (and records it) when the event is new for campaign `id`. */
  accept(id: string, version: number, key = ''): boolean {
    const prev = this.last.get(id);
    if (!prev || version > prev.version) {
      this.last.set(id, { version, keys: new Set([key]) });
      return true;
    }
    if (version < prev.version || prev.keys === 'all' || prev.keys.has(key)) return false;
    prev.keys.add(key);
    return true;
  }

  /** A status snapshot at `version` covers every event up to and including it; never lowers the floor. */
  observe(id: string, version: number): void {
    const prev = this.last.get(id);
    if (!prev || version >= prev.version) this.last.set(id, { version, keys: 'all' });
  }

  get(id: string): number | undefined {
    return this.last.get(id)?.version;
  }
}

export const eventKey = (ev: Pick<CampaignEvent, 'type' | 'phase'>): string => `${ev.type}:${ev.phase ?? ''}`;

function updatePhase(phases: Phase[], name: string, patch: (p: Phase) => Phase): Phase[] {
  let found = false;
  const out = phases.map((p) => {
    if (p.phase !== name) return p;
    found = true;
    return patch(p);
  });
  if (!found) {
    out.push(
      patch({
        phase: name,
        status: 'not_started',
        trigger: null,
        progress: { done: 0, total: 0 },
        startedAt: null,
        completedAt: null,
        error: null,
      }),
    );
  }
  return out;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/**
 * Applies one event unless it is older than the campaign's version. An event describes the state
 * at its version, so one at the current version (a sibling event of the same write, or a
 * snapshot already at that version) is applied idempotently.
 */
export function applyEvent(c: Campaign, ev: CampaignEvent): Campaign {
  if (ev.campaignId !== c.id || ev.version < c.version) return c;
  const next: Campaign = { ...c, version: ev.version, updatedAt: ev.at ?? c.updatedAt };
  const phase = ev.phase ?? 'discovery';
  const d = ev.data ?? {};
  switch (ev.type) {
    case 'mode_changed':
      if (d.to === 'full_sequence' || d.to === 'step_by_step') next.mode = d.to;
      break;
    case 'auto_start_queued':
      next.autoStart = { ...c.autoStart, status: 'queued', phase, error: null };
      break;
    case 'auto_start_cancelled':
      next.autoStart = { ...c.autoStart, status: 'cancelled' };
      break;
    case 'auto_start_failed':
      next.autoStart = {
        ...c.autoStart,
        status: 'failed',
        phase,
        attempts: num(d.attempts) ?? c.autoStart.attempts,
        error: { code: d.code as string | undefined, message: d.message as string | undefined },
      };
      break;
    case 'phase_auto_started':
    case 'phase_started': {
      const auto = ev.type === 'phase_auto_started';
      next.phases = updatePhase(c.phases, phase, (p) => ({
        ...p,
        status: 'running',
        trigger: auto ? 'auto' : 'manual',
        startedAt: p.startedAt ?? ev.at,
      }));
      if (auto) {
        next.autoStart = {
          ...c.autoStart,
          phase,
          status: 'started',
          startedAt: ev.at,
          latencyMs: num(d.latencyMs) ?? c.autoStart.latencyMs,
          attempts: num(d.attempts) ?? c.autoStart.attempts,
        };
      }
      break;
    }
    case 'phase_progress':
      next.phases = updatePhase(c.phases, phase, (p) => ({
        ...p,
        status: p.status === 'not_started' || p.status === 'queued' ? 'running' : p.status,
        progress: { done: num(d.done) ?? p.progress.done, total: num(d.total) ?? p.progress.total },
      }));
      break;
    case 'phase_completed':
      next.phases = updatePhase(c.phases, phase, (p) => {
        const total = num(d.total) ?? p.progress.total;
        return { ...p, status: 'completed', completedAt: ev.at, progress: { done: total, total } };
      });
      break;
    case 'phase_failed':
      next.phases = updatePhase(c.phases, phase, (p) => ({
        ...p,
        status: 'failed',
        error: { code: d.code as string | undefined, message: d.message as string | undefined },
      }));
      break;
    default:
      break;
  }
  return next;
}

/** Merges a /status body (or a subscribe answer) if it is at least as new as what we have. */
export function applyStatus(c: Campaign, s: CampaignStatus): Campaign {
  if (s.campaignId && s.campaignId !== c.id) return c;
  if (s.version < c.version) return c;
  return {
    ...c,
    mode: s.mode ?? c.mode,
    version: s.version,
    autoStart: s.autoStart ?? c.autoStart,
    phases: s.phases ?? c.phases,
    updatedAt: s.updatedAt ?? c.updatedAt,
  };
}
