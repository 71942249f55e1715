// Wire types. The HTTP API's come from schema.ts, which openapi-typescript generates from
// docs/openapi.json, itself generated from the Rust types (shared/src/api/openapi): regenerate
// both with `UPDATE_OPENAPI=1 cargo test -p campaign-shared --test openapi` and
// `npm run gen:api`. The WebSocket messages (EVENTS.md) are still written here.
import type { components } from './schema';

type Schemas = components['schemas'];

export type Mode = Schemas['Mode'];
export type PatternType = Schemas['PatternType'];
export type AutoStartStatus = Schemas['AutoStartStatus'];
export type Trigger = Schemas['Trigger'];
export type DiscoveryConfig = Schemas['DiscoveryConfig'];
export type DiscoveryInput = Schemas['DiscoveryInput'];
export type ErrorDetail = Schemas['FieldProblem'];
export type ErrorBody = Schemas['Error'];
export type PersonaKind = Schemas['PersonaKind'];
/** `config` is any JSON object of the persona's kind (`additionalProperties: true`). */
export type Persona = Schemas['PersonaView'];
export type PersonaCreate = Schemas['PersonaCreate'];
export type PersonaInput = Schemas['PersonaInput'];
export type Proxy = Schemas['ProxyView'];
export type ProxyCreate = Schemas['ProxyCreate'];
export type ProxyInput = Schemas['ProxyInput'];
export type RecoveryReason = Schemas['RecoveryReason'];
export type Readiness = Schemas['Readiness'];
/** The `{action}` of `POST /campaigns/{id}/phases/{phase}/{action}` (one path each in the schema). */
export type PhaseAction = 'start' | 'pause' | 'resume' | 'stop';

export type KeywordMatch = Schemas['MatchMode'];
export type KeywordsConfig = Schemas['KeywordsConfig'];
export type KeywordsInput = Schemas['KeywordsInput'];
export type CampaignConfig = Schemas['CampaignConfig'];
export type ConfigInput = Schemas['ConfigInput'];
export type CreateCampaignRequest = Schemas['CreateCampaignInput'];
/** An `http` persona's config as the server holds it (every default filled in). */
export type HttpPersonaConfig = Schemas['HttpPersonaConfig'];
/** A domain with every phase's result so far (`?include=results` or `?status=`). */
export type DomainResult = Schemas['DomainItem'];
export type DnsStatus = NonNullable<DomainResult['dns']>['status'];
export type HttpResult = NonNullable<DomainResult['http']>;
export type HttpStatus = HttpResult['status'];
/** `?status=` of GET …/domains: filters on the latest phase that ran. */
export type ResultFilter = components['parameters']['DomainStatus'];

// The campaign views, loosened where the real-time reducer (realtime/apply.ts) and its tests
// still build partial values from events: a phase name from an event is any string, a phase
// error may lack its code, the retired phase status `queued` is still compared against, and a
// phase or auto-start built in a test may lack `autoStart` / `phase`, and a `phase_recovered`
// event's reason is any string. Every other field is the generated one. Once apply.ts builds
// complete values, these become plain aliases (Schemas['PhaseName'], ['PhaseStatus'],
// ['ErrorInfo'], ['Recovery'], ['PhaseView'], ['AutoStartView'], ['CampaignView'],
// ['StatusView']).
export type PhaseName = Schemas['PhaseName'] | (string & {});
export type PhaseStatus = Schemas['PhaseStatus'] | 'queued';
export type ErrorInfo = Partial<Schemas['ErrorInfo']>;
/** A recovery's reason comes from a `phase_recovered` event: any string (shown as is when unknown). */
export type Recovery = Omit<Schemas['Recovery'], 'reason'> & { reason: RecoveryReason | (string & {}) };
export type AutoStart = Omit<Schemas['AutoStartView'], 'phase' | 'error'> & {
  phase?: PhaseName | null;
  error: ErrorInfo | null;
};
export type Phase = Omit<Schemas['PhaseView'], 'phase' | 'status' | 'error' | 'autoStart' | 'recovery'> & {
  phase: PhaseName;
  status: PhaseStatus;
  error: ErrorInfo | null;
  autoStart?: AutoStart;
  recovery?: Recovery;
};
export type Campaign = Omit<Schemas['CampaignView'], 'phases' | 'autoStart'> & {
  phases: Phase[];
  autoStart: AutoStart;
};
export type CampaignStatus = Omit<Schemas['StatusView'], 'phases' | 'autoStart'> & {
  phases: Phase[];
  autoStart: AutoStart;
};

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
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
