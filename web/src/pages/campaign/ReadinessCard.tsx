/**
 * What each phase that can still start needs (the server's `readiness`), and where Full Auto
 * will stop. Readiness also depends on personas and proxies, which change without a campaign
 * event, so the user can read it again.
 */
import type { Campaign } from '../../api/types';
import { cap } from '../../campaign/controls';
import { fullAutoStop, pendingReadiness } from '../../campaign/readiness';
import { Spinner } from '../../components/ui';

export function ReadinessCard({ campaign, onRefresh, refreshing }: { campaign: Campaign; onRefresh: () => void; refreshing: boolean }) {
  const pending = pendingReadiness(campaign);
  if (pending.length === 0) return null;
  const stop = fullAutoStop(campaign);
  return (
    <section className="card" aria-labelledby="readiness-title">
      <div className="section-head">
        <h2 id="readiness-title">Readiness</h2>
        <button type="button" className="btn btn-small" onClick={onRefresh} disabled={refreshing}>
          {refreshing && <Spinner />}
          Check again
        </button>
      </div>
      {stop && (
        <p className="notice" role="status">
          Full Auto will stop before {stop.phase}: {stop.problems.map((d) => d.problem).join('; ') || 'it is not ready'}. Fix it (for example on
          the <a href="#/personas">Personas</a> page), then start {stop.phase} yourself once the phases before it completed.
        </p>
      )}
      <ul className="readiness">
        {pending.map((r) => (
          <li key={r.phase} aria-label={`${r.phase} readiness`} className={r.ready ? 'ready' : 'not-ready'}>
            <strong>{cap(r.phase)}</strong>:{' '}
            {r.ready ? (
              <span className="ok">ready to start</span>
            ) : (
              <>
                <span className="bad">needs</span>
                <ul>
                  {r.problems.map((d, i) => (
                    <li key={i}>
                      <code>{d.field}</code>: {d.problem}
                    </li>
                  ))}
                  {r.problems.length === 0 && <li>not ready (the server gave no reason)</li>}
                </ul>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
