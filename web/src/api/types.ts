// Wire types, exactly as /work/shared/spec/API.md and EVENTS.md describe them.

export type Mode = 'step_by_step' | 'full_sequence';
export type PatternType = 'prefix' | 'suffix' | 'both';
export type PhaseName = 'discovery' | 'validation' | string;
export type PhaseStatus = 'not_started' | 'queued' | 'running' | 'completed' | 'failed';
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

export interface CampaignConfig {
  discovery?: DiscoveryConfig | null;
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
}

export interface CampaignStatus {
  campaignId: string;
  mode: Mode;
  version: number;
  autoStart: AutoStart;
  phases: Phase[];
  updatedAt: string;
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
