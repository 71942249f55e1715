/**
 * One campaign, live: events (and the /status poll when they stop) drive everything shown; the
 * phase controls' 202 bodies are applied only when newer than what is shown.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import type { Campaign, CampaignEvent, Phase } from '../api/types';
import { successText, failureOutcome, type Control, type ControlKind } from '../campaign/controls';
import { Badge, Spinner, StatusBadge, errorText, formatTime, label } from '../components/ui';
import { useToast } from '../components/Toasts';
import { useApp } from '../context';
import { applyEvent, applyStatus } from '../realtime/apply';
import { describeError } from '../wizard/submit';
import { DomainsList } from './campaign/DomainsList';
import { KeywordsCard } from './campaign/KeywordsCard';
import { PhasesCard, type ActionError } from './campaign/PhasesCard';
import { ReadinessCard } from './campaign/ReadinessCard';
import { ResourcesCard } from './campaign/ResourcesCard';
import { showResults } from '../campaign/results';
import { ResultsTable } from './campaign/ResultsTable';

/** Events after which the whole campaign is read again (readiness, summaries, reset phases). */
const RELOAD_ON: CampaignEvent['type'][] = [
  'phase_completed',
  'phase_failed',
  'phase_stopped',
  'auto_start_failed',
  'auto_start_cancelled',
  'phase_auto_started',
  'phase_started',
];

/**
 * Keep whichever copy is newer (version never goes backwards). Write responses (202s, PUT config)
 * carry no `readiness` (only reads do, API.md): the last one read is kept until the next read.
 */
const newer = (a: Campaign | null, b: Campaign): Campaign => {
  if (a && a.version > b.version) return a;
  return b.readiness || !a?.readiness ? b : { ...b, readiness: a.readiness };
};

export function CampaignPage({ id }: { id: string }) {
  const { api, socket, config, connState } = useApp();
  const toast = useToast();
  const [campaign, setCampaign] = useState<Campaign | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [polling, setPolling] = useState(false);
  const [lastPoll, setLastPoll] = useState<Date | null>(null);
  const [busy, setBusy] = useState<{ phase: string; kind: ControlKind } | null>(null);
  const [actionError, setActionError] = useState<ActionError | null>(null);
  const busyRef = useRef(false);
  const [copied, setCopied] = useState(false);
  const [refreshing, setRefreshing] = useState(false);
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
      if (RELOAD_ON.includes(ev.type)) void reload();
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

  const control = async (phase: Phase, c: Control) => {
    if (busyRef.current) return; // a double click sends one request
    busyRef.current = true;
    setBusy({ phase: phase.phase, kind: c.kind });
    setActionError(null);
    try {
      const updated = await api.phaseAction(id, phase.phase, c.action);
      setCampaign((prev) => newer(prev, updated));
      toast.show('success', successText(c.kind, phase.phase));
    } catch (e) {
      const o = failureOutcome(c.kind, phase.phase, e);
      toast.show(o.tone, o.text);
      if (o.keep && e instanceof ApiError) setActionError({ phase: phase.phase, kind: c.kind, status: phase.status, error: e, at: Date.now() });
      if (o.refresh) void reload();
    } finally {
      busyRef.current = false;
      setBusy(null);
    }
  };

  // A config change changes readiness, which only a read reports: read the campaign again.
  const configChanged = (c: Campaign) => {
    setCampaign((prev) => newer(prev, c));
    void reload();
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
  const as = campaign.autoStart;
  const asQuota = as.status === 'failed' && as.error && typeof as.error === 'object' && as.error.code === 'QUOTA_EXCEEDED';

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
              Auto-start of {as.phase ?? 'discovery'} failed: {errorText(as.error) ?? 'no reason given'}.{' '}
              {asQuota ? (
                <>
                  A per-user quota was reached when it was due to start: start {as.phase ?? 'discovery'} manually once you are back
                  under it (for example after another campaign finishes or is stopped).
                </>
              ) : (
                <>
                  Fix the cause (for example enable the proxy on the <a href="#/proxies">Proxies</a> page, fix the persona on the{' '}
                  <a href="#/personas">Personas</a> page, or change the campaign's personas and proxies below), then start{' '}
                  {as.phase ?? 'discovery'} manually.
                </>
              )}
            </p>
          )}
        </section>
      )}

      <PhasesCard campaign={campaign} busy={busy} actionError={actionError} onControl={(p, c) => void control(p, c)} />

      <ReadinessCard
        campaign={campaign}
        refreshing={refreshing}
        onRefresh={() => {
          setRefreshing(true);
          void reload().finally(() => setRefreshing(false));
        }}
      />

      <ResourcesCard campaign={campaign} onUpdated={configChanged} onStale={() => void reload()} />

      <KeywordsCard campaign={campaign} onUpdated={configChanged} onStale={() => void reload()} />

      {discovery && (discovery.progress.done > 0 || discovery.status === 'completed') && (
        <DomainsList campaignId={campaign.id} refreshKey={`${discovery.status}`} />
      )}

      {showResults(campaign.phases) && (
        <ResultsTable
          campaignId={campaign.id}
          phases={campaign.phases}
          refreshKey={campaign.phases
            .filter((p) => p.phase !== 'discovery')
            .map((p) => `${p.phase}:${p.status}:${p.startedAt ?? ''}`)
            .join(',')}
        />
      )}
    </div>
  );
}

