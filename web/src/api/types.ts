// Wire types, exactly as /work/shared/spec/API.md and EVENTS.md describe them.

export type Mode = 'step_by_step' | 'full_sequence';
export type PatternType = 'prefix' | 'suffix' | 'both';
export type PhaseName = 'discovery' | 'validation' | 'keywords' | string;
/** `queued` is not sent by the server today; it is tolerated as "not started yet". */
export type PhaseStatus = 'not_started' | 'queued' | 'running' | 'paused' | 'stopped' | 'completed' | 'failed';
export type PhaseAction = 'start' | 'pause' | 'resume' | 'stop';
export type AutoStartStatus =
  | 'not_requested'
  | 'queued'
  | 'started'
  | 'skipped'
  | 'cancelled'
  | 'failed';

export interface DiscoveryConfig {
  patternType: PatternType;
  constantString: string;
  variableLength: number;
  characterSet: string;
  tlds: string[];
  numDomains: number;
}

export type KeywordMatch = 'any' | 'all';

export interface KeywordsConfig {
  terms: string[];
  paths: string[];
  match: KeywordMatch;
}

export interface CampaignConfig {
  discovery?: DiscoveryConfig | null;
  keywords?: KeywordsConfig | null;
  personaIds: string[];
  proxyIds: string[];
}

export interface ErrorInfo {
  code?: string;
  message?: string;
  details?: ErrorDetail[];
  [k: string]: unknown;
}

export interface Phase {
  phase: PhaseName;
  status: PhaseStatus;
  trigger: 'auto' | 'manual' | null;
  progress: { done: number; total: number };
  startedAt: string | null;
  completedAt: string | null;
  error: ErrorInfo | string | null;
  /** Per-phase counts once it ran, e.g. `{resolved, unresolved}` or `{matched, noMatch, …}`. */
  summary?: Record<string, number> | null;
  /** This phase's own auto-start (Full Auto), so a later request never hides an earlier one. */
  autoStart?: AutoStart | null;
  /** The sweeper's last re-drive of this phase. */
  recovery?: Recovery | null;
}

export type RecoveryReason = 'stale_queued' | 'stalled_phase' | 'stream_failure';

export interface Recovery {
  redrives: number;
  reason: RecoveryReason | string;
  at: string | null;
}

/** The pre-start checks of one phase (API.md "readiness"). */
export interface Readiness {
  phase: PhaseName;
  ready: boolean;
  problems: ErrorDetail[];
}

export interface AutoStart {
  status: AutoStartStatus;
  /** The phase this auto-start is for (discovery first; later phases in Full Auto). */
  phase?: PhaseName;
  attempts: number;
  requestedAt: string | null;
  startedAt: string | null;
  latencyMs: number | null;
  error: ErrorInfo | string | null;
}

export interface Campaign {
  id: string;
  name: string;
  mode: Mode;
  correlationId: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  config: CampaignConfig;
  phases: Phase[];
  autoStart: AutoStart;
  readiness?: Readiness[];
}

export interface CampaignStatus {
  campaignId: string;
  mode: Mode;
  version: number;
  autoStart: AutoStart;
  phases: Phase[];
  readiness?: Readiness[];
  updatedAt: string;
}

export type DnsStatus = 'resolved' | 'unresolved' | string;
export type HttpStatus = 'matched' | 'no_match' | 'unreachable' | 'error' | 'skipped';
/** `?status=` of GET …/domains: filters on the latest phase that ran. */
export type ResultFilter = DnsStatus | HttpStatus | 'pending';

export interface DomainResult {
  domain: string;
  dns?: { status: DnsStatus; addresses?: string[]; error?: string | null } | null;
  http?: {
    status: HttpStatus;
    httpStatus?: number | null;
    finalUrl?: string | null;
    title?: string | null;
    hits?: Record<string, number> | null;
    error?: string | null;
  } | null;
}

/** An `http` persona's config (API.md); every field but userAgent has a server default. */
export interface HttpPersonaConfig {
  userAgent: string;
  headers?: Record<string, string>;
  scheme?: 'https' | 'http';
  port?: number;
  timeoutMs?: number;
  concurrency?: number;
  rateLimitPerSecond?: number;
  maxBodyBytes?: number;
  followRedirects?: number;
}

export interface CreateCampaignRequest {
  name: string;
  mode: Mode;
  config: CampaignConfig;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ErrorDetail {
  field: string;
  problem: string;
}

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    correlationId?: string;
    details?: ErrorDetail[];
  };
}

export type PersonaKind = 'dns' | 'http';

export interface Persona {
  id: string;
  name: string;
  kind: PersonaKind;
  enabled: boolean;
  config: Record<string, unknown>;
}

export interface Proxy {
  id: string;
  address: string;
  enabled: boolean;
}

export type EventType =
  | 'campaign_created'
  | 'mode_changed'
  | 'auto_start_queued'
  | 'phase_auto_started'
  | 'phase_started'
  | 'phase_progress'
  | 'phase_completed'
  | 'phase_failed'
  | 'phase_paused'
  | 'phase_resumed'
  | 'phase_stopped'
  | 'phase_recovered'
  | 'auto_start_failed'
  | 'auto_start_cancelled'
  | 'campaign_deleted';

export interface CampaignEvent {
  type: EventType;
  campaignId: string;
  phase?: PhaseName | null;
  status?: string | null;
  version: number;
  correlationId?: string;
  at: string;
  data: Record<string, unknown>;
}

/** Messages the server answers to client actions. */
export type ControlMessage =
  | { type: 'subscribed'; campaignId: string; status?: CampaignStatus }
  | { type: 'unsubscribed'; campaignId: string }
  | { type: 'pong' }
  | { type: 'error'; code: string; message: string; campaignId?: string };
