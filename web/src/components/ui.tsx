import type { ReactNode } from 'react';
import type { ErrorInfo, Phase } from '../api/types';

const LABELS: Record<string, string> = {
  not_started: 'Not started',
  queued: 'Queued',
  running: 'Running',
  paused: 'Paused',
  resolved: 'Resolved',
  unresolved: 'Unresolved',
  matched: 'Matched',
  no_match: 'No match',
  unreachable: 'Unreachable',
  error: 'Error',
  pending: 'Pending',
  stopped: 'Stopped',
  completed: 'Completed',
  failed: 'Failed',
  not_requested: 'Not requested',
  started: 'Started',
  skipped: 'Skipped',
  cancelled: 'Cancelled',
  step_by_step: 'Manual',
  full_sequence: 'Full Auto',
  auto: 'Auto',
  manual: 'Manual',
};

export function label(s: string | null | undefined): string {
  if (!s) return '—';
  return LABELS[s] ?? s;
}

export function Badge({ tone, children }: { tone: string; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  return <Badge tone={status}>{label(status)}</Badge>;
}

export function ProgressBar({ phase, expectedTotal }: { phase: Phase; expectedTotal?: number }) {
  const done = phase.progress?.done ?? 0;
  // Before a phase starts the server may report total 0; show the configured size instead.
  const total = phase.progress?.total || expectedTotal || 0;
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : phase.status === 'completed' ? 100 : 0;
  return (
    <div className="progress-wrap">
      <div
        className="progress"
        role="progressbar"
        aria-label={`${phase.phase} progress`}
        aria-valuemin={0}
        aria-valuemax={total || 100}
        aria-valuenow={total ? done : pct}
        aria-valuetext={`${done} of ${total}`}
      >
        <div className={`progress-fill progress-${phase.status}`} style={{ width: `${pct}%` }} />
      </div>
      <span className="progress-text">
        {done.toLocaleString()} / {total.toLocaleString()} ({pct}%)
      </span>
    </div>
  );
}

export function errorText(e: ErrorInfo | string | null | undefined): string | null {
  if (!e) return null;
  if (typeof e === 'string') return e;
  const parts = [e.code, e.message].filter(Boolean).join(' — ');
  const details = (e.details ?? []).map((d) => `${d.field}: ${d.problem}`).join('; ');
  return [parts, details].filter(Boolean).join(' · ') || JSON.stringify(e);
}

export function formatTime(s: string | null | undefined): string {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString();
}

export function Spinner() {
  return <span className="spinner" aria-hidden="true" />;
}
