/**
 * The phases of a campaign: status, trigger, live progress, the sweeper's recoveries, why a phase
 * failed, and its controls (Start / Pause / Resume / Stop / Start again).
 *
 * Conventions (as the create flow): while one call is in flight every control of the campaign is
 * disabled and the clicked one shows a spinner and its busy label; the answer is a toast; the
 * state shown comes from the 202 body and the events, never from the click itself.
 */
import { Fragment } from 'react';
import { ApiError } from '../../api/client';
import type { Campaign, Phase } from '../../api/types';
import { cap, failureText, phaseControls, recoveryText, type Control, type ControlKind } from '../../campaign/controls';
import { ProgressBar, Spinner, StatusBadge, formatTime, label } from '../../components/ui';
import { quotaInfo } from '../../lib/quota';

export interface ActionError {
  phase: string;
  kind: ControlKind;
  /** The phase's status when it failed: the message is shown only while that still holds. */
  status: Phase['status'];
  error: ApiError;
  at: number;
}

export interface PhasesCardProps {
  campaign: Campaign;
  busy: { phase: string; kind: ControlKind } | null;
  actionError: ActionError | null;
  onControl: (phase: Phase, control: Control) => void;
}

const COLS = 7;

export function PhasesCard({ campaign, busy, actionError, onControl }: PhasesCardProps) {
  return (
    <section className="card" aria-labelledby="phases-title">
      <div className="section-head">
        <h2 id="phases-title">Phases</h2>
      </div>
      <table className="phases">
        <thead>
          <tr>
            <th scope="col">Phase</th>
            <th scope="col">Status</th>
            <th scope="col">Trigger</th>
            <th scope="col">Progress</th>
            <th scope="col">Started</th>
            <th scope="col">Completed</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {campaign.phases.map((p, i) => {
            const controls = phaseControls(campaign, i);
            const err = actionError && actionError.phase === p.phase && actionError.status === p.status ? actionError : null;
            return (
              <Fragment key={p.phase}>
                <tr aria-label={`${p.phase} phase`}>
                  <th scope="row">{cap(p.phase)}</th>
                  <td>
                    <StatusBadge status={p.status} />
                    {p.error && (
                      <div className="field-error" data-testid={`${p.phase}-failure`}>
                        {failureText(p.error)}
                      </div>
                    )}
                    {p.recovery && p.recovery.redrives > 0 && (
                      <div className="recovered" title={p.recovery.at ? `at ${formatTime(p.recovery.at)}` : undefined}>
                        {recoveryText(p.recovery)}
                      </div>
                    )}
                  </td>
                  <td>
                    <span>{p.trigger ? label(p.trigger) : '—'}</span>
                    <AutoStartNote phase={p} />
                  </td>
                  <td className="progress-cell">
                    <ProgressBar phase={p} expectedTotal={p.phase === 'discovery' ? campaign.config.discovery?.numDomains : undefined} />
                    {p.summary && Object.keys(p.summary).length > 0 && <Summary summary={p.summary} />}
                  </td>
                  <td>{formatTime(p.startedAt)}</td>
                  <td>{formatTime(p.completedAt)}</td>
                  <td className="actions">
                    {controls.length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      controls.map((c) => {
                        const mine = busy?.phase === p.phase && busy.kind === c.kind;
                        return (
                          <button
                            key={c.kind}
                            type="button"
                            className={`btn btn-small${c.primary ? ' btn-primary' : ''}`}
                            title={c.hint}
                            disabled={busy !== null}
                            aria-describedby={err ? `phase-${p.phase}-error` : undefined}
                            onClick={() => onControl(p, c)}
                          >
                            {mine && <Spinner />}
                            {mine ? c.busyLabel : c.label}
                          </button>
                        );
                      })
                    )}
                  </td>
                </tr>
                {err && (
                  <tr className="row-error">
                    <td colSpan={COLS}>
                      <ActionErrorView id={`phase-${p.phase}-error`} e={err} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** This phase's own auto-start (phases[].autoStart): how long it took, or where it stands. */
function AutoStartNote({ phase }: { phase: Phase }) {
  const a = phase.autoStart;
  if (!a || a.status === 'not_requested') return null;
  const text =
    a.status === 'started'
      ? `auto-started${a.latencyMs != null ? ` in ${a.latencyMs} ms` : ''}${a.attempts > 1 ? ` (${a.attempts} attempts)` : ''}`
      : `auto-start ${label(a.status).toLowerCase()}`;
  return <div className="muted small">{text}</div>;
}

const SUMMARY_LABELS: Record<string, string> = { noMatch: 'no match' };

function Summary({ summary }: { summary: Record<string, number> }) {
  return (
    <p className="summary muted">
      {Object.entries(summary)
        .map(([k, v]) => `${SUMMARY_LABELS[k] ?? k.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()} ${Number(v).toLocaleString()}`)
        .join(' · ')}
    </p>
  );
}

function ActionErrorView({ id, e }: { id: string; e: ActionError }) {
  const err = e.error;
  const quota = quotaInfo(err, e.at);
  const verb = e.kind === 'start_again' ? 'start again' : e.kind === 'cancel_auto_start' ? 'cancel the auto-start of' : e.kind;
  return (
    <div id={id} className="form-error" role="alert">
      {quota ? (
        <p>
          Could not {verb} {e.phase}. {quota.text} {quota.retry}
        </p>
      ) : (
        <p>
          Could not {verb} {e.phase}: {err.code} — {err.message}
        </p>
      )}
      {!quota && err.details.length > 0 && (
        <ul>
          {err.details.map((d, i) => (
            <li key={i}>
              <code>{d.field}</code>: {d.problem}
            </li>
          ))}
        </ul>
      )}
      {err.correlationId && <p className="muted">Correlation ID: {err.correlationId}</p>}
    </div>
  );
}
