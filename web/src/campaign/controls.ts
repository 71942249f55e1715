/**
 * Phase controls on the campaign page: which buttons a phase shows for its status, their labels,
 * and what the user is told after each answer. Pure, so every rule is unit-tested.
 *
 * Invariants: a phase shows only actions the API can accept in its current state (API.md);
 * a 409 always means "the state changed elsewhere", so it is explained and the page refreshes.
 */
import { ApiError } from '../api/client';
import type { AutoStart, Campaign, Phase, PhaseAction, Recovery } from '../api/types';
import { quotaInfo } from '../lib/quota';

export type ControlKind = 'start' | 'start_again' | 'pause' | 'resume' | 'stop' | 'cancel_auto_start';

export interface Control {
  kind: ControlKind;
  /** The API route it calls. */
  action: PhaseAction;
  /** Visible text and accessible name, e.g. "Pause discovery". */
  label: string;
  /** Shown (disabled, with a spinner) while the call is in flight. */
  busyLabel: string;
  /** A short explanation (tooltip / description). */
  hint: string;
  primary: boolean;
}

/** The sweeper fails a phase with STALLED after this many fruitless re-drives (BEHAVIOUR.md). */
export const MAX_REDRIVES = 3;

export const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** The auto-start of `phase`: its own record, else the top-level one when it is for that phase. */
export function phaseAutoStart(c: Pick<Campaign, 'autoStart'>, phase: Phase): AutoStart | null {
  if (phase.autoStart) return phase.autoStart;
  return (c.autoStart.phase ?? 'discovery') === phase.phase ? c.autoStart : null;
}

function control(kind: ControlKind, phase: string): Control {
  switch (kind) {
    case 'start':
      return { kind, action: 'start', label: `Start ${phase}`, busyLabel: `Starting ${phase}...`, hint: `Start ${phase} now.`, primary: true };
    case 'start_again':
      return {
        kind,
        action: 'start',
        label: `Start ${phase} again`,
        busyLabel: `Starting ${phase} again...`,
        hint: `Runs ${phase} again from the beginning: its results so far and those of every later phase are discarded.`,
        primary: true,
      };
    case 'pause':
      return { kind, action: 'pause', label: `Pause ${phase}`, busyLabel: `Pausing ${phase}...`, hint: 'No new chunk starts; the one in flight finishes and counts.', primary: false };
    case 'resume':
      return { kind, action: 'resume', label: `Resume ${phase}`, busyLabel: `Resuming ${phase}...`, hint: 'Continues with the next chunk: nothing is redone or skipped.', primary: true };
    case 'stop':
      return { kind, action: 'stop', label: `Stop ${phase}`, busyLabel: `Stopping ${phase}...`, hint: 'Stops for good: the output so far is kept and nothing starts after it. You can start it again.', primary: false };
    case 'cancel_auto_start':
      return {
        kind,
        action: 'stop',
        label: `Stop ${phase}`,
        busyLabel: `Cancelling the auto-start of ${phase}...`,
        hint: `Cancels the queued automatic start of ${phase}; you can start it yourself later.`,
        primary: false,
      };
  }
}

/** The buttons of phase `index`, in display order (API.md's allowed transitions). */
export function phaseControls(c: Pick<Campaign, 'phases' | 'autoStart'>, index: number): Control[] {
  const p = c.phases[index];
  if (!p) return [];
  const name = p.phase;
  switch (p.status) {
    case 'running':
      return [control('pause', name), control('stop', name)];
    case 'paused':
      return [control('resume', name), control('stop', name)];
    case 'failed':
    case 'stopped':
      return [control('start_again', name)];
    case 'completed':
      return [];
    default: {
      // not_started (or a legacy "queued"): a queued auto-start can be cancelled; otherwise it can
      // be started once every earlier phase completed.
      if (phaseAutoStart(c, p)?.status === 'queued') return [control('cancel_auto_start', name)];
      const earlierDone = c.phases.slice(0, index).every((x) => x.status === 'completed');
      return earlierDone ? [control('start', name)] : [];
    }
  }
}

/** The success toast after a 202. */
export function successText(kind: ControlKind, phase: string): string {
  switch (kind) {
    case 'start':
      return `${cap(phase)} started`;
    case 'start_again':
      return `${cap(phase)} started again`;
    case 'pause':
      return `${cap(phase)} paused`;
    case 'resume':
      return `${cap(phase)} resumed`;
    case 'stop':
      return `${cap(phase)} stopped`;
    case 'cancel_auto_start':
      return `Auto-start of ${phase} cancelled`;
  }
}

const VERB: Record<ControlKind, string> = {
  start: 'start',
  start_again: 'start again',
  pause: 'pause',
  resume: 'resume',
  stop: 'stop',
  cancel_auto_start: 'cancel the auto-start of',
};

export interface Outcome {
  /** Toast kind: `info` when what the user wanted already happened elsewhere. */
  tone: 'error' | 'info';
  text: string;
  /** The page's copy is stale: read the campaign again. */
  refresh: boolean;
  /** Keep the error beside the button (details, quota, correlation id). */
  keep: boolean;
}

/** What to tell the user when a control call fails. */
export function failureOutcome(kind: ControlKind, phase: string, e: unknown): Outcome {
  const P = cap(phase);
  const elsewhere = ' (it was changed elsewhere, e.g. in another tab, by Full Auto or by the server); the page now shows its current state.';
  if (e instanceof ApiError && e.status === 409) {
    switch (e.code) {
      case 'PHASE_ALREADY_RUNNING':
        return { tone: 'info', text: `${P} is already running${elsewhere}`, refresh: true, keep: false };
      case 'PHASE_ALREADY_COMPLETED':
        return { tone: 'info', text: `${P} has already completed${elsewhere}`, refresh: true, keep: false };
      case 'PHASE_ORDER':
        return { tone: 'error', text: `${P} cannot start before the phases before it have completed${elsewhere}`, refresh: true, keep: false };
      case 'PHASE_NOT_RUNNING':
        return { tone: 'error', text: `Could not ${VERB[kind]} ${phase}: it is not running any more${elsewhere}`, refresh: true, keep: false };
      case 'PHASE_NOT_PAUSED':
        return { tone: 'error', text: `Could not resume ${phase}: it is not paused any more${elsewhere}`, refresh: true, keep: false };
      default:
        return { tone: 'error', text: `Could not ${VERB[kind]} ${phase}: ${e.code} — ${e.message}`, refresh: true, keep: true };
    }
  }
  const quota = quotaInfo(e);
  if (quota) return { tone: 'error', text: `Could not ${VERB[kind]} ${phase}: ${quota.text} ${quota.retry}`, refresh: false, keep: true };
  if (e instanceof ApiError) {
    return { tone: 'error', text: `Could not ${VERB[kind]} ${phase}: ${e.code}`, refresh: e.status === 404, keep: true };
  }
  return { tone: 'error', text: `Could not ${VERB[kind]} ${phase}: ${String(e)}`, refresh: false, keep: false };
}

const RECOVERY: Record<string, string> = {
  stalled_phase: 're-sent the next chunk',
  stale_queued: 're-sent the queued start',
  stream_failure: 're-sent the next chunk after a stream failure',
};

/** "Recovered: re-sent the next chunk (1 of 3)". */
export function recoveryText(r: Recovery): string {
  return `Recovered: ${RECOVERY[r.reason] ?? `re-drove it (${r.reason})`} (${r.redrives} of ${MAX_REDRIVES})`;
}

/** Why a phase failed, in words (STALLED gets its own explanation). */
export function failureText(error: Phase['error']): string | null {
  if (!error) return null;
  if (typeof error === 'string') return error;
  const details = (error.details ?? []).map((d) => `${d.field}: ${d.problem}`).join('; ');
  const base =
    error.code === 'STALLED'
      ? `Stalled: no progress after ${MAX_REDRIVES} automatic re-drives${error.message ? ` (${error.message})` : ''}. Start it again to run it from the beginning.`
      : [error.code, error.message].filter(Boolean).join(' — ') || 'no reason given';
  return details ? `${base} · ${details}` : base;
}
