/** Wizard state: a pure reducer, its per-step validation and the request it produces. */
import type { ConfigInput, CreateCampaignRequest, ErrorDetail, KeywordMatch, Mode, PatternType } from '../api/types';
import { distinctChars, formatCount, normaliseTlds, possibleDomainCount } from '../lib/domainCount';
import { toKeywordsConfig, validateKeywords } from './keywords';

export const STEPS = [
  { id: 'name', title: 'Name' },
  { id: 'discovery', title: 'Discovery settings' },
  { id: 'resources', title: 'Personas & proxies' },
  { id: 'keywords', title: 'Keywords' },
  { id: 'mode', title: 'Execution mode' },
] as const;
export type StepId = (typeof STEPS)[number]['id'];

export interface WizardValues {
  name: string;
  patternType: PatternType;
  constantString: string;
  variableLength: string; // form text; parsed on use
  characterSet: string;
  tlds: string; // "com, net"
  numDomains: string;
  personaIds: string[];
  proxyIds: string[];
  keywordTerms: string; // one per line
  keywordPaths: string; // one per line; empty → ["/"]
  keywordMatch: KeywordMatch;
  mode: Mode;
}

export type FieldKey = keyof WizardValues | 'discovery';

/** Which step each field lives on (for jumping to the first 422 problem). */
export const FIELD_STEP: Record<FieldKey, number> = {
  name: 0,
  patternType: 1,
  constantString: 1,
  variableLength: 1,
  characterSet: 1,
  tlds: 1,
  numDomains: 1,
  discovery: 1,
  personaIds: 2,
  proxyIds: 2,
  keywordTerms: 3,
  keywordPaths: 3,
  keywordMatch: 3,
  mode: 4,
};

export type SubmitPhase = 'idle' | 'creating' | 'starting';

export interface WizardState {
  step: number;
  /** Highest step the user has reached (stepper links go up to here). */
  reached: number;
  values: WizardValues;
  errors: Partial<Record<FieldKey, string>>;
  formError: string | null;
  submitting: SubmitPhase;
  /** The Idempotency-Key and the exact body it was first used with. */
  idempotency: { key: string; body: string } | null;
}

export const INITIAL_VALUES: WizardValues = {
  name: '',
  patternType: 'prefix',
  constantString: '',
  variableLength: '3',
  characterSet: 'abcdefghijklmnopqrstuvwxyz0123456789',
  tlds: '.com',
  numDomains: '100',
  personaIds: [],
  proxyIds: [],
  keywordTerms: '',
  keywordPaths: '/',
  keywordMatch: 'any',
  mode: 'full_sequence',
};

export function initialState(values: Partial<WizardValues> = {}): WizardState {
  return {
    step: 0,
    reached: 0,
    values: { ...INITIAL_VALUES, ...values },
    errors: {},
    formError: null,
    submitting: 'idle',
    idempotency: null,
  };
}

export type WizardAction =
  | { type: 'set'; field: keyof WizardValues; value: WizardValues[keyof WizardValues] }
  | { type: 'toggle'; field: 'personaIds' | 'proxyIds'; id: string }
  | { type: 'next' }
  | { type: 'back' }
  | { type: 'goto'; step: number }
  | { type: 'submit_start'; key: string }
  | { type: 'submit_stage'; stage: SubmitPhase }
  | { type: 'submit_failed'; message: string; details?: ErrorDetail[] }
  | { type: 'submit_done' };

const busy = (s: WizardState) => s.submitting !== 'idle';

export function wizardReducer(state: WizardState, action: WizardAction): WizardState {
  switch (action.type) {
    case 'set': {
      if (busy(state)) return state;
      const values = { ...state.values, [action.field]: action.value } as WizardValues;
      const errors = { ...state.errors };
      delete errors[action.field];
      if (FIELD_STEP[action.field] === 1) delete errors.discovery;
      return { ...state, values, errors };
    }
    case 'toggle': {
      if (busy(state)) return state;
      const cur = state.values[action.field];
      const next = cur.includes(action.id) ? cur.filter((x) => x !== action.id) : [...cur, action.id];
      const errors = { ...state.errors };
      delete errors[action.field];
      return { ...state, values: { ...state.values, [action.field]: next }, errors };
    }
    case 'next': {
      if (busy(state)) return state;
      const errors = validateStep(state.step, state.values);
      if (Object.keys(errors).length > 0) return { ...state, errors: { ...state.errors, ...errors } };
      const step = Math.min(state.step + 1, STEPS.length - 1);
      return { ...state, step, reached: Math.max(state.reached, step), formError: null };
    }
    case 'back':
      if (busy(state)) return state;
      return { ...state, step: Math.max(0, state.step - 1), formError: null };
    case 'goto': {
      if (busy(state) || action.step < 0 || action.step > state.reached) return state;
      // Moving forward past a step requires that step (and those before) to be valid.
      for (let s = 0; s < action.step; s++) {
        const errors = validateStep(s, state.values);
        if (Object.keys(errors).length > 0) return { ...state, step: s, errors: { ...state.errors, ...errors } };
      }
      return { ...state, step: action.step, formError: null };
    }
    case 'submit_start': {
      if (busy(state)) return state;
      const errors = validateAll(state.values);
      if (Object.keys(errors).length > 0) {
        return { ...state, errors, step: firstErrorStep(errors) ?? state.step };
      }
      const body = JSON.stringify(toCreateRequest(state.values));
      // Same body → same key (a retry is recognised by the server); changed body → new key.
      const idempotency =
        state.idempotency && state.idempotency.body === body ? state.idempotency : { key: action.key, body };
      return { ...state, submitting: 'creating', formError: null, idempotency };
    }
    case 'submit_stage':
      return { ...state, submitting: action.stage };
    case 'submit_failed': {
      const errors: Partial<Record<FieldKey, string>> = {};
      const unplaced: string[] = [];
      for (const d of action.details ?? []) {
        const f = fieldForDetail(d.field);
        if (f) errors[f] = errors[f] ? `${errors[f]}; ${d.problem}` : d.problem;
        else unplaced.push(`${d.field}: ${d.problem}`);
      }
      const step = firstErrorStep(errors);
      return {
        ...state,
        submitting: 'idle',
        errors,
        step: step ?? state.step,
        formError: [action.message, ...unplaced].join(' — '),
      };
    }
    case 'submit_done':
      return { ...state, submitting: 'idle' };
    default:
      return state;
  }
}

export function firstErrorStep(errors: Partial<Record<FieldKey, string>>): number | undefined {
  const steps = (Object.keys(errors) as FieldKey[]).map((f) => FIELD_STEP[f]);
  return steps.length ? Math.min(...steps) : undefined;
}

/**
 * Maps a 422 detail's `field` (e.g. "config.discovery.numDomains", "config.proxyIds[0]",
 * "discovery.tlds[1]", "name") to the wizard field that shows it.
 */
export function fieldForDetail(field: string): FieldKey | null {
  const path = field
    .replace(/\[\d+\]/g, '')
    .replace(/^body\./, '')
    .replace(/^config\./, '')
    .split('.')
    .filter(Boolean);
  const last = path[path.length - 1];
  const known: FieldKey[] = [
    'name',
    'patternType',
    'constantString',
    'variableLength',
    'characterSet',
    'tlds',
    'numDomains',
    'personaIds',
    'proxyIds',
    'mode',
  ];
  if (last && (known as string[]).includes(last)) return last as FieldKey;
  if (path[0] === 'keywords') {
    if (last === 'paths') return 'keywordPaths';
    if (last === 'match') return 'keywordMatch';
    return 'keywordTerms';
  }
  if (path.length === 1 && path[0] === 'discovery') return 'discovery';
  if (path[0] === 'discovery') return 'discovery';
  if (path[0] === 'personas') return 'personaIds';
  if (path[0] === 'proxies') return 'proxyIds';
  return null;
}

const LABEL_RE = /^[a-z0-9-]+$/;
const validLabel = (l: string) => l.length > 0 && l.length <= 63 && LABEL_RE.test(l) && !l.startsWith('-') && !l.endsWith('-');
/** ".com", ".co.uk": DNS labels after a leading dot (as the server checks). */
export const validTld = (t: string) => t.startsWith('.') && t.slice(1).split('.').every(validLabel);

export function parseIntStrict(s: string): number | null {
  const t = s.trim();
  return /^\d+$/.test(t) ? Number(t) : null;
}

/** Client-side checks that mirror the server's (the server stays authoritative). */
export function validateStep(step: number, v: WizardValues): Partial<Record<FieldKey, string>> {
  const e: Partial<Record<FieldKey, string>> = {};
  if (step === 0) {
    const n = v.name.trim().length;
    if (n === 0) e.name = 'Enter a name.';
    else if (n > 120) e.name = 'At most 120 characters.';
  }
  if (step === 1) {
    const len = parseIntStrict(v.variableLength);
    if (len === null || len < 1 || len > 12) e.variableLength = 'A whole number from 1 to 12.';
    if (v.constantString && !LABEL_RE.test(v.constantString))
      e.constantString = 'Only a–z, 0–9 and -.';
    const chars = distinctChars(v.characterSet);
    if (!LABEL_RE.test(v.characterSet)) e.characterSet = 'Only a–z, 0–9 and -.';
    else if (chars.length < 2) e.characterSet = 'At least 2 distinct characters.';
    const tlds = normaliseTlds(v.tlds);
    if (tlds.length === 0) e.tlds = 'At least one TLD, e.g. .com';
    else if (tlds.length > 50) e.tlds = 'At most 50 TLDs.';
    else if (tlds.some((t) => !validTld(t))) e.tlds = `Not a valid TLD: ${tlds.filter((t) => !validTld(t)).join(', ')}`;
    if (len !== null && len >= 1 && len <= 12 && !e.constantString) {
      const labelLen = v.constantString.length + (v.patternType === 'both' ? 2 * len : len);
      if (labelLen > 63) e.variableLength = `The label would be ${labelLen} characters (max 63).`;
      else if (
        (v.patternType === 'suffix' && v.constantString.startsWith('-')) ||
        (v.patternType === 'prefix' && v.constantString.endsWith('-'))
      )
        e.constantString = "Would start or end the DNS label with '-'.";
      else if (!e.tlds && labelLen + Math.max(...tlds.map((t) => t.length)) > 253)
        e.tlds = 'The domain would be longer than 253 characters.';
    }
    const num = parseIntStrict(v.numDomains);
    if (num === null || num < 1 || num > 1_000_000) e.numDomains = 'A whole number from 1 to 1,000,000.';
    else if (Object.keys(e).length === 0) {
      const possible = possibleCount(v);
      if (BigInt(num) > possible)
        e.numDomains = `The pattern can only produce ${formatCount(possible)} domains.`;
    }
  }
  if (step === 3) Object.assign(e, validateKeywords(v.keywordTerms, v.keywordPaths));
  return e;
}

export function validateAll(v: WizardValues): Partial<Record<FieldKey, string>> {
  return STEPS.reduce((acc, _s, i) => ({ ...acc, ...validateStep(i, v) }), {});
}

export function possibleCount(v: WizardValues): bigint {
  const len = parseIntStrict(v.variableLength);
  if (len === null) return 0n;
  return possibleDomainCount({
    patternType: v.patternType,
    constantString: v.constantString,
    variableLength: len,
    characterSet: v.characterSet,
    tlds: normaliseTlds(v.tlds),
  });
}

/** The wizard always sends a config (the API allows a draft without one). */
export function toCreateRequest(v: WizardValues): CreateCampaignRequest & { config: ConfigInput } {
  const keywords = toKeywordsConfig(v.keywordTerms, v.keywordPaths, v.keywordMatch);
  return {
    name: v.name.trim(),
    mode: v.mode,
    config: {
      discovery: {
        patternType: v.patternType,
        constantString: v.constantString,
        variableLength: parseIntStrict(v.variableLength) ?? 0,
        characterSet: v.characterSet,
        tlds: normaliseTlds(v.tlds),
        numDomains: parseIntStrict(v.numDomains) ?? 0,
      },
      ...(keywords ? { keywords } : {}),
      personaIds: v.personaIds,
      proxyIds: v.proxyIds,
    },
  };
}
