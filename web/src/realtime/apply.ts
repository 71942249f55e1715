/** Folding events and status polls into a campaign, never letting `version` go backwards. */
import type { AutoStart, Campaign, CampaignEvent, CampaignStatus, Phase } from '../api/types';

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
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const NO_AUTO_START: AutoStart = {
  status: 'not_requested',
  attempts: 0,
  requestedAt: null,
  startedAt: null,
  latencyMs: null,
  error: null,
};

/** Statuses a phase leaves again only through "Start again" (which resets it). */
const RESTARTABLE: ReadonlySet<string> = new Set(['failed', 'stopped']);

/**
 * Records an auto-start change on the phase itself (`phases[].autoStart`) and on the top-level
 * `autoStart`, which is the latest request: a new request (`queued`) always takes it over; a
 * later outcome only updates it while it still describes that phase.
 */
function withAutoStart(c: Campaign, next: Campaign, phase: string, patch: (a: AutoStart) => AutoStart, isRequest = false): void {
  next.phases = updatePhase(next.phases, phase, (p) => ({ ...p, autoStart: patch(p.autoStart ?? { ...NO_AUTO_START, phase }) }));
  if (isRequest || (c.autoStart.phase ?? 'discovery') === phase) next.autoStart = { ...patch(c.autoStart), phase };
}

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
  const progress = (p: Phase) => ({ done: num(d.done) ?? p.progress.done, total: num(d.total) ?? p.progress.total });
  switch (ev.type) {
    case 'mode_changed':
      if (d.to === 'full_sequence' || d.to === 'step_by_step') next.mode = d.to;
      break;
    case 'auto_start_queued':
      withAutoStart(c, next, phase, (a) => ({ ...a, status: 'queued', requestedAt: ev.at ?? a.requestedAt, error: null }), true);
      break;
    case 'auto_start_cancelled':
      withAutoStart(c, next, phase, (a) => ({ ...a, status: 'cancelled' }));
      break;
    case 'auto_start_failed':
      withAutoStart(c, next, phase, (a) => ({
        ...a,
        status: 'failed',
        attempts: num(d.attempts) ?? a.attempts,
        error: { code: str(d.code), message: str(d.message), ...(Array.isArray(d.details) ? { details: d.details } : {}) },
      }));
      break;
    case 'phase_auto_started':
    case 'phase_started': {
      const auto = ev.type === 'phase_auto_started';
      const idx = c.phases.findIndex((p) => p.phase === phase);
      // "Start again" on a failed/stopped phase starts from scratch: its output and every later
      // phase are reset (API.md), so the page must not keep showing the old numbers.
      const restart = idx >= 0 && RESTARTABLE.has(c.phases[idx].status);
      next.phases = updatePhase(c.phases, phase, (p) => ({
        ...p,
        status: 'running',
        trigger: auto ? 'auto' : 'manual',
        startedAt: restart ? ev.at : (p.startedAt ?? ev.at),
        completedAt: null,
        error: null,
        ...(restart ? { progress: { done: 0, total: p.progress.total }, summary: undefined, recovery: undefined } : {}),
      }));
      if (restart) {
        next.phases = next.phases.map((p, i) =>
          i > idx ? { ...p, status: 'not_started', trigger: null, progress: { done: 0, total: 0 }, startedAt: null, completedAt: null, error: null, summary: undefined, recovery: undefined } : p,
        );
      }
      if (auto) {
        withAutoStart(c, next, phase, (a) => ({
          ...a,
          status: 'started',
          startedAt: ev.at,
          latencyMs: num(d.latencyMs) ?? a.latencyMs,
          attempts: num(d.attempts) ?? a.attempts,
        }));
      }
      break;
    }
    case 'phase_progress':
      // A chunk already in flight when the phase was paused still lands: keep `paused`.
      next.phases = updatePhase(c.phases, phase, (p) => ({
        ...p,
        status: p.status === 'not_started' || p.status === 'queued' ? 'running' : p.status,
        progress: progress(p),
      }));
      break;
    case 'phase_paused':
      next.phases = updatePhase(c.phases, phase, (p) => ({ ...p, status: 'paused', progress: progress(p) }));
      break;
    case 'phase_resumed':
      next.phases = updatePhase(c.phases, phase, (p) => ({ ...p, status: 'running', progress: progress(p) }));
      break;
    case 'phase_stopped':
      next.phases = updatePhase(c.phases, phase, (p) => ({ ...p, status: 'stopped', progress: progress(p) }));
      break;
    case 'phase_recovered':
      next.phases = updatePhase(c.phases, phase, (p) => ({
        ...p,
        recovery: { reason: str(d.reason) ?? 'unknown', redrives: num(d.redrives) ?? (p.recovery?.redrives ?? 0) + 1, at: ev.at },
      }));
      break;
    case 'phase_completed':
      next.phases = updatePhase(c.phases, phase, (p) => {
        const total = num(d.total) ?? p.progress.total;
        return { ...p, status: 'completed', completedAt: ev.at, error: null, progress: { done: total, total } };
      });
      break;
    case 'phase_failed':
      next.phases = updatePhase(c.phases, phase, (p) => ({
        ...p,
        status: 'failed',
        error: { code: str(d.code), message: str(d.message) },
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
    readiness: s.readiness ?? c.readiness,
    updatedAt: s.updatedAt ?? c.updatedAt,
  };
}
