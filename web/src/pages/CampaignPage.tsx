import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import type { Campaign, CampaignEvent, Phase } from '../api/types';
import { Badge, ProgressBar, Spinner, StatusBadge, errorText, formatTime, label } from '../components/ui';
import { useToast } from '../components/Toasts';
import { useApp } from '../context';
import { applyEvent, applyStatus } from '../realtime/apply';
import { describeError, isAlreadyStarted } from '../wizard/submit';

const TERMINAL: CampaignEvent['type'][] = ['phase_completed', 'phase_failed', 'auto_start_failed', 'phase_auto_started', 'phase_started'];

/** Keep whichever copy is newer (version never goes backwards). */
const newer = (a: Campaign | null, b: Campaign): Campaign => (a && a.version > b.version ? a : b);

function startablePhase(phases: Phase[]): Phase | null {
  for (let i = 0; i < phases.length; i++) {
    const p = phases[i];
    if (p.status === 'completed') continue;
    if (p.status === 'not_started' && (i === 0 || phases[i - 1].status === 'completed')) return p;
    return null;
  }
  return null;
}

export function CampaignPage({ id }: { id: string }) {
  const { api, socket, config, connState } = useApp();
  const toast = useToast();
  const [campaign, setCampaign] = useState<Campaign | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [polling, setPolling] = useState(false);
  const [lastPoll, setLastPoll] = useState<Date | null>(null);
  const [starting, setStarting] = useState<string | null>(null);
  const [startError, setStartError] = useState<ApiError | null>(null);
  const [copied, setCopied] = useState(false);
  const lastEventAt = useRef(Date.now());
  const etag = useRef<string | null>(null);
  const early = useRef<CampaignEvent[]>([]);
  const loaded = useRef(false);

  const reload = useCallback(async () => {
    try {
      const c = await api.getCampaign(id);
      const pending = early.current;
      early.current = [];
      loaded.current = true;
      setCampaign((prev) => pending.reduce(applyEvent, newer(prev, c)));
      setLoadError(null);
    } catch (e) {
      setLoadError(e instanceof ApiError && e.status === 404 ? 'Campaign not found.' : describeError(e));
    }
  }, [api, id]);

  useEffect(() => {
    setCampaign(null);
    loaded.current = false;
    setPolling(false);
    etag.current = null;
    lastEventAt.current = Date.now();
    void reload();
  }, [reload]);

  // Live events for this campaign.
  useEffect(() => {
    if (!socket) return;
    const seen = () => {
      lastEventAt.current = Date.now();
      setPolling(false);
    };
    const offEv = socket.onEvent((ev) => {
      if (ev.campaignId !== id) return;
      seen();
      if (!loaded.current) early.current.push(ev);
      else setCampaign((c) => (c ? applyEvent(c, ev) : c));
      if (TERMINAL.includes(ev.type)) void reload();
    });
    const offSt = socket.onStatus((cid, s) => {
      if (cid !== id) return;
      seen();
      setCampaign((c) => (c ? applyStatus(c, s) : c));
    });
    socket.subscribe(id).catch((e) => console.info('[campaign] subscribe:', e.message));
    return () => {
      offEv();
      offSt();
      socket.unsubscribe(id);
    };
  }, [socket, id, reload]);

  // No event for eventSilenceMs → poll /status (with ETag) until events resume.
  useEffect(() => {
    const t = setInterval(() => {
      if (Date.now() - lastEventAt.current >= config.eventSilenceMs) setPolling(true);
    }, 1000);
    return () => clearInterval(t);
  }, [config.eventSilenceMs]);

  useEffect(() => {
    if (!polling) return;
    let cancelled = false;
    const poll = async () => {
      try {
        const r = await api.getStatus(id, etag.current);
        if (cancelled) return;
        if (r.etag) etag.current = r.etag;
        if (!r.notModified) setCampaign((c) => (c ? applyStatus(c, r.status) : c));
        setLastPoll(new Date());
      } catch (e) {
        console.info('[campaign] status poll failed:', describeError(e));
      }
    };
    void poll();
    const t = setInterval(poll, config.pollIntervalMs);
    return () => {
      cancelled = true;
      clearInterval(t);
    };
  }, [polling, api, id, config.pollIntervalMs]);

  const start = async (phase: string) => {
    setStarting(phase);
    setStartError(null);
    try {
      const c = await api.startPhase(id, phase);
      setCampaign((prev) => newer(prev, c));
      toast.show('success', `${cap(phase)} started`);
    } catch (e) {
      if (isAlreadyStarted(e)) {
        toast.show('info', `${cap(phase)} is already running`);
        void reload();
      } else {
        setStartError(e instanceof ApiError ? e : new ApiError({ status: 0, code: 'ERROR', message: String(e) }));
        toast.show('error', `Could not start ${phase}: ${e instanceof ApiError ? e.code : describeError(e)}`);
      }
    } finally {
      setStarting(null);
    }
  };

  const copy = async () => {
    if (!campaign) return;
    try {
      await navigator.clipboard.writeText(campaign.correlationId);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      /* clipboard may be unavailable; the id stays selectable */
    }
  };

  if (loadError) {
    return (
      <div>
        <h1>Campaign</h1>
        <p className="form-error" role="alert">
          {loadError}
        </p>
        <a href="#/campaigns">Back to campaigns</a>
      </div>
    );
  }
  if (!campaign) {
    return (
      <p className="muted" role="status">
        <Spinner /> Loading campaign…
      </p>
    );
  }

  const discovery = campaign.phases.find((p) => p.phase === 'discovery');
  const autoStarted = discovery?.trigger === 'auto';
  const next = startablePhase(campaign.phases);
  const as = campaign.autoStart;

  return (
    <div className="campaign">
      <p className="crumbs">
        <a href="#/campaigns">Campaigns</a> / {campaign.name}
      </p>
      <div className="title-row">
        <h1>{campaign.name}</h1>
        <Badge tone={campaign.mode}>{label(campaign.mode)}</Badge>
        {autoStarted && <Badge tone="auto">Started automatically</Badge>}
      </div>

      <p className={`live live-${polling ? 'polling' : connState}`} role="status" aria-label="Update channel">
        {connState === 'open' ? 'Live updates connected' : connState === 'reconnecting' ? 'Live updates disconnected, reconnecting…' : 'Connecting to live updates…'}
        {polling && (
          <>
            {' · '}Polling status every {Math.round(config.pollIntervalMs / 1000)} s (no live event for {Math.round(config.eventSilenceMs / 1000)} s)
            {lastPoll && <span className="muted"> · last poll {lastPoll.toLocaleTimeString()}</span>}
          </>
        )}
      </p>

      <dl className="meta card">
        <div>
          <dt>Correlation ID</dt>
          <dd>
            <code data-testid="correlation-id">{campaign.correlationId}</code>{' '}
            <button type="button" className="btn btn-small" onClick={copy} aria-label="Copy correlation ID">
              {copied ? 'Copied' : 'Copy'}
            </button>
          </dd>
        </div>
        <div>
          <dt>Campaign ID</dt>
          <dd>
            <code>{campaign.id}</code>
          </dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd>{campaign.version}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatTime(campaign.createdAt)}</dd>
        </div>
      </dl>

      {(campaign.mode === 'full_sequence' || as.status !== 'not_requested') && (
        <section className={`card autostart autostart-${as.status}`} aria-labelledby="autostart-title">
          <h2 id="autostart-title">
            Auto-start{as.phase ? ` (${as.phase})` : ''} <StatusBadge status={as.status} />
          </h2>
          <p className="muted">
            Attempts: {as.attempts}
            {as.latencyMs !== null && as.latencyMs !== undefined && <> · latency {as.latencyMs} ms</>}
            {as.requestedAt && <> · requested {formatTime(as.requestedAt)}</>}
          </p>
          {as.status === 'failed' && (
            <p className="form-error" role="alert">
              Auto-start of {as.phase ?? 'discovery'} failed: {errorText(as.error) ?? 'no reason given'}. Fix the cause (for example
              enable the proxy on the <a href="#/proxies">Proxies</a> page or fix the persona on the <a href="#/personas">Personas</a>{' '}
              page), then start {as.phase ?? 'discovery'} manually.
            </p>
          )}
        </section>
      )}

      <section className="card" aria-labelledby="phases-title">
        <div className="section-head">
          <h2 id="phases-title">Phases</h2>
          {next && (
            <button type="button" className="btn btn-primary" onClick={() => void start(next.phase)} disabled={starting !== null}>
              {starting === next.phase && <Spinner />}
              {starting === next.phase ? `Starting ${next.phase}...` : `Start ${next.phase}`}
            </button>
          )}
        </div>
        {startError && (
          <div className="form-error" role="alert">
            <p>
              Could not start: {startError.code} — {startError.message}
            </p>
            {startError.details.length > 0 && (
              <ul>
                {startError.details.map((d, i) => (
                  <li key={i}>
                    <code>{d.field}</code>: {d.problem}
                  </li>
                ))}
              </ul>
            )}
            {startError.correlationId && <p className="muted">Correlation ID: {startError.correlationId}</p>}
          </div>
        )}
        <table className="phases">
          <thead>
            <tr>
              <th scope="col">Phase</th>
              <th scope="col">Status</th>
              <th scope="col">Trigger</th>
              <th scope="col">Progress</th>
              <th scope="col">Started</th>
              <th scope="col">Completed</th>
            </tr>
          </thead>
          <tbody>
            {campaign.phases.map((p) => (
              <tr key={p.phase} aria-label={`${p.phase} phase`}>
                <th scope="row">{cap(p.phase)}</th>
                <td>
                  <StatusBadge status={p.status} />
                  {p.error && <div className="field-error">{errorText(p.error)}</div>}
                </td>
                <td>{p.trigger ? label(p.trigger) : '—'}</td>
                <td className="progress-cell">
                  <ProgressBar phase={p} expectedTotal={p.phase === 'discovery' ? campaign.config.discovery?.numDomains : undefined} />
                </td>
                <td>{formatTime(p.startedAt)}</td>
                <td>{formatTime(p.completedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      {discovery && (discovery.progress.done > 0 || discovery.status === 'completed') && (
        <DomainsList campaignId={campaign.id} refreshKey={`${discovery.status}`} />
      )}
    </div>
  );
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const PAGE = 25;

function DomainsList({ campaignId, refreshKey }: { campaignId: string; refreshKey: string }) {
  const { api } = useApp();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState(0);
  const [items, setItems] = useState<string[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const seq = useRef(0);
  const load = useCallback(
    async (cursor: string | null) => {
      // Only the latest request may update the list (responses can arrive out of order).
      const mine = ++seq.current;
      setLoading(true);
      try {
        const r = await api.listDomains(campaignId, PAGE, cursor);
        if (mine !== seq.current) return;
        setItems(r.items);
        setNextCursor(r.nextCursor ?? null);
        setError(null);
      } catch (e) {
        if (mine === seq.current) setError(describeError(e));
      } finally {
        if (mine === seq.current) setLoading(false);
      }
    },
    [api, campaignId],
  );

  useEffect(() => {
    void load(cursors[page] ?? null);
  }, [page, refreshKey, load]);

  const goNext = () => {
    if (!nextCursor) return;
    setCursors((c) => [...c.slice(0, page + 1), nextCursor]);
    setPage(page + 1);
  };

  return (
    <section className="card" aria-labelledby="domains-title">
      <div className="section-head">
        <h2 id="domains-title">Domains</h2>
        <span className="muted">Page {page + 1}</span>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {items === null ? (
        <p className="muted">
          <Spinner /> Loading domains…
        </p>
      ) : items.length === 0 ? (
        <p className="muted">No domains yet.</p>
      ) : (
        <ul className="domains" aria-label="Domains" aria-busy={loading}>
          {items.map((d) => (
            <li key={d}>{d}</li>
          ))}
        </ul>
      )}
      <div className="pager">
        <button type="button" className="btn btn-small" onClick={() => setPage(Math.max(0, page - 1))} disabled={page === 0 || loading}>
          Previous page
        </button>
        <button type="button" className="btn btn-small" onClick={() => void load(cursors[page] ?? null)} disabled={loading}>
          Refresh domains
        </button>
        <button type="button" className="btn btn-small" onClick={goNext} disabled={!nextCursor || loading}>
          Next page
        </button>
      </div>
    </section>
  );
}
