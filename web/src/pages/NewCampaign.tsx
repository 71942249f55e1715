import { useEffect, useReducer, useRef, useState, type MouseEvent } from 'react';
import { ApiError, isApiError } from '../api/client';
import type { Campaign, CampaignEvent, Persona, Proxy } from '../api/types';
import { Spinner } from '../components/ui';
import { useToast } from '../components/Toasts';
import { useApp } from '../context';
import { retryWithBackoff } from '../lib/backoff';
import { distinctChars, formatCount, normaliseTlds } from '../lib/domainCount';
import { newId } from '../lib/ids';
import { isQuotaExceeded, quotaInfo, type QuotaInfo } from '../lib/quota';
import { navigate } from '../router';
import {
  STEPS,
  initialState,
  possibleCount,
  toCreateRequest,
  validateAll,
  wizardReducer,
  type WizardValues,
} from '../wizard/state';
import { fullAutoWarnings, wizardNeeds } from '../wizard/readiness';
import { Field, FieldError, fieldProps } from './wizard/fields';
import { KeywordsStep } from './wizard/KeywordsStep';
import { ModeStep } from './wizard/ModeStep';
import { describeError, runFullAuto, type WaitResult } from '../wizard/submit';

export const TOAST_CREATED = 'Campaign Created Successfully';
export const TOAST_STARTED = 'Campaign Created & Started';
export const TOAST_AUTOSTART_FAILED =
  'Campaign created successfully, but auto-start failed. You can start manually.';


export function NewCampaign() {
  const { api, socket, config } = useApp();
  const toast = useToast();
  const [state, dispatch] = useReducer(wizardReducer, undefined, () => initialState());
  const [personas, setPersonas] = useState<Persona[] | null>(null);
  const [proxies, setProxies] = useState<Proxy[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [quota, setQuota] = useState<QuotaInfo | null>(null);
  const submittingRef = useRef(false);
  const stepChangedAt = useRef(0);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const firstRender = useRef(true);
  const { values, errors, step, submitting } = state;
  const busy = submitting !== 'idle';
  const last = step === STEPS.length - 1;

  const loadLists = async () => {
    setListError(null);
    try {
      const [p, x] = await Promise.all([api.listPersonas(), api.listProxies()]);
      setPersonas(p);
      setProxies(x);
    } catch (e) {
      setListError(describeError(e));
    }
  };
  useEffect(() => {
    void loadLists();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    stepChangedAt.current = Date.now();
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    headingRef.current?.focus();
  }, [step]);

  const set = <K extends keyof WizardValues>(field: K, value: WizardValues[K]) =>
    dispatch({ type: 'set', field, value });

  const create = (key: string) =>
    retryWithBackoff(() => api.createCampaign(toCreateRequest(values), key), {
      retries: 3,
      baseMs: 400,
      maxMs: 3000,
      // Same key + same body is safe to resend: the server answers with the first response.
      // A quota is not a transient failure: it is reported at once, never retried.
      shouldRetry: (e) =>
        isApiError(e, 409, 'IDEMPOTENCY_IN_PROGRESS') ||
        (e instanceof ApiError && !isQuotaExceeded(e) && (e.status === 0 || e.status === 429 || e.status === 503)),
      retryAfterMs: (e) => (e instanceof ApiError ? e.retryAfterMs : undefined),
    });

  const onCreateError = (e: unknown) => {
    const q = quotaInfo(e);
    if (q) {
      setQuota(q);
      dispatch({ type: 'submit_failed', message: '' });
      toast.show('error', `Could not create the campaign: ${q.text} ${q.retry}`);
      return;
    }
    if (e instanceof ApiError && e.status === 422) {
      dispatch({ type: 'submit_failed', message: `The server did not accept the campaign (${e.code}).`, details: e.details });
    } else {
      dispatch({ type: 'submit_failed', message: `Could not create the campaign: ${describeError(e)}` });
    }
    toast.show('error', `Could not create the campaign: ${e instanceof ApiError ? e.code : describeError(e)}`);
  };

  const submit = async () => {
    if (submittingRef.current || busy) return;
    if (Object.keys(validateAll(values)).length > 0) {
      dispatch({ type: 'submit_start', key: '' }); // shows the errors, stays idle
      return;
    }
    submittingRef.current = true;
    setQuota(null);
    const body = JSON.stringify(toCreateRequest(values));
    const key = state.idempotency?.body === body ? state.idempotency.key : newId();
    dispatch({ type: 'submit_start', key });
    try {
      if (values.mode === 'step_by_step') {
        let c: Campaign;
        try {
          c = await create(key);
        } catch (e) {
          onCreateError(e);
          return;
        }
        dispatch({ type: 'submit_done' });
        toast.show('success', TOAST_CREATED);
        navigate(`/campaigns/${c.id}`);
        return;
      }
      await submitFullAuto(key);
    } finally {
      submittingRef.current = false;
    }
  };

  const submitFullAuto = async (key: string) => {
    // Buffer every event from before the create, so the first one cannot be missed.
    const buffer: CampaignEvent[] = [];
    let notify: (() => void) | null = null;
    const off = socket?.onEvent((ev) => {
      buffer.push(ev);
      notify?.();
    });
    let subscribed = false;
    const waitForOutcome = (id: string, ms: number) =>
      new Promise<WaitResult>((resolve) => {
        const check = () => {
          for (const ev of buffer) {
            if (ev.campaignId !== id) continue;
            if (ev.type === 'phase_auto_started' && (ev.phase ?? 'discovery') === 'discovery') return { kind: 'started', event: ev } as const;
            if (ev.type === 'auto_start_failed' && (ev.phase ?? 'discovery') === 'discovery') return { kind: 'failed', event: ev } as const;
          }
          return null;
        };
        const now = check();
        if (now) return resolve(now);
        const timer = setTimeout(() => {
          notify = null;
          resolve({ kind: 'timeout' });
        }, ms);
        notify = () => {
          const r = check();
          if (r) {
            clearTimeout(timer);
            notify = null;
            resolve(r);
          }
        };
      });
    let campaign: Campaign | null = null;
    try {
      const outcome = await runFullAuto({
        subscribeAll: async () => {
          if (!socket) throw new Error('no WebSocket');
          subscribed = true;
          // Registered even when down (re-sent on reconnect), but only wait for a live socket:
          // a socket that is down must not delay the create; the /status fallback covers it.
          const pending = socket.subscribe('*', 3000);
          pending.catch(() => {});
          if (!(await socket.whenOpen(socket.getState() === 'connecting' ? 2000 : 0))) throw new Error('WebSocket not connected');
          await pending;
        },
        createCampaign: async () => (campaign = await create(key)),
        waitForOutcome,
        getStatus: async (id) => {
          const r = await api.getStatus(id);
          if (r.notModified) throw new Error('unexpected 304');
          return r.status;
        },
        startPhase: (id, phase) => api.startPhase(id, phase),
        onStage: (stage) => dispatch({ type: 'submit_stage', stage }),
        eventTimeoutMs: config.autoStartWaitMs,
        log: (m, x) => console.info(`[wizard] ${m}`, x ?? ''),
      });
      dispatch({ type: 'submit_done' });
      if (outcome.kind === 'started') {
        toast.show('success', TOAST_STARTED);
      } else if (outcome.kind === 'failed') {
        console.warn('[wizard] auto-start failed:', outcome.reason);
        toast.show('error', TOAST_AUTOSTART_FAILED);
      }
      navigate(`/campaigns/${outcome.campaign.id}`);
    } catch (e) {
      if (campaign) {
        // Created, but something after it broke: the campaign page lets the user start it.
        dispatch({ type: 'submit_done' });
        toast.show('error', TOAST_AUTOSTART_FAILED);
        navigate(`/campaigns/${(campaign as Campaign).id}`);
      } else {
        onCreateError(e);
      }
    } finally {
      off?.();
      if (subscribed) socket?.unsubscribe('*');
    }
  };

  const onCreateClick = (e: MouseEvent<HTMLButtonElement>) => {
    // The second click of a double click on "Next" lands here: ignore it.
    if (e.detail >= 2 && Date.now() - stepChangedAt.current < 1000) e.preventDefault();
  };

  const fp = fieldProps(errors);

  const possible = possibleCount(values);
  const warnings = personas ? fullAutoWarnings(wizardNeeds(values, personas, proxies ?? [])) : [];
  const tlds = normaliseTlds(values.tlds);
  const selectedDisabled = [
    ...(personas ?? []).filter((p) => values.personaIds.includes(p.id) && !p.enabled).map((p) => p.name),
    ...(proxies ?? []).filter((p) => values.proxyIds.includes(p.id) && !p.enabled).map((p) => p.address),
  ];

  return (
    <div className="wizard">
      <h1>New campaign</h1>
      <nav aria-label="Wizard steps">
        <ol className="stepper">
          {STEPS.map((s, i) => (
            <li key={s.id} className={i === step ? 'current' : i < step ? 'done' : ''}>
              <button
                type="button"
                onClick={() => dispatch({ type: 'goto', step: i })}
                disabled={busy || i > state.reached}
                aria-current={i === step ? 'step' : undefined}
              >
                <span className="step-num" aria-hidden="true">{i + 1}</span> {s.title}
              </button>
            </li>
          ))}
        </ol>
      </nav>

      <form
        className="card"
        noValidate
        aria-labelledby="step-title"
        aria-busy={busy}
        onSubmit={(e) => {
          e.preventDefault();
          if (last) void submit();
          else dispatch({ type: 'next' });
        }}
      >
        <h2 id="step-title" tabIndex={-1} ref={headingRef}>
          Step {step + 1} of {STEPS.length}: {STEPS[step].title}
        </h2>
        <fieldset className="plain" disabled={busy}>
          {step === 0 && (
            <Field k="name" label="Campaign name" error={errors.name} hint="1–120 characters, e.g. “Shoes Q4”.">
              <input {...fp('name', 'y')} value={values.name} maxLength={200} autoFocus onChange={(e) => set('name', e.target.value)} />
            </Field>
          )}

          {step === 1 && (
            <>
              <fieldset className="group">
                <legend>Pattern type</legend>
                {(
                  [
                    ['prefix', 'Prefix', 'variable part before the constant: abcshop.com'],
                    ['suffix', 'Suffix', 'variable part after the constant: shopabc.com'],
                    ['both', 'Both', 'variable parts on both sides: abshopcd.com'],
                  ] as const
                ).map(([v, l, d]) => (
                  <label key={v} className="radio">
                    <input type="radio" name="patternType" value={v} checked={values.patternType === v} onChange={() => set('patternType', v)} />
                    <span>
                      <strong>{l}</strong> <span className="muted">— {d}</span>
                    </span>
                  </label>
                ))}
                <FieldError k="patternType" error={errors.patternType} />
              </fieldset>
              <div className="grid2">
                <Field k="constantString" label="Constant string" error={errors.constantString} hint="Letters a–z, digits, “-”. May be empty.">
                  <input {...fp('constantString', 'y')} value={values.constantString} onChange={(e) => set('constantString', e.target.value.toLowerCase())} />
                </Field>
                <Field k="variableLength" label="Variable length" error={errors.variableLength} hint="Characters in the variable part (1–12).">
                  <input {...fp('variableLength', 'y')} type="number" min={1} max={12} inputMode="numeric" value={values.variableLength} onChange={(e) => set('variableLength', e.target.value)} />
                </Field>
                <Field k="characterSet" label="Character set" error={errors.characterSet} hint={`${distinctChars(values.characterSet).length} distinct characters from a–z, 0–9, “-”.`}>
                  <input {...fp('characterSet', 'y')} value={values.characterSet} onChange={(e) => set('characterSet', e.target.value.toLowerCase())} />
                </Field>
                <Field k="tlds" label="TLDs" error={errors.tlds} hint={`Comma-separated. Parsed: ${tlds.join(' ') || 'none'}`}>
                  <input {...fp('tlds', 'y')} value={values.tlds} onChange={(e) => set('tlds', e.target.value)} />
                </Field>
                <Field k="numDomains" label="Number of domains" error={errors.numDomains} hint="How many domains discovery generates (1–1,000,000).">
                  <input {...fp('numDomains', 'y')} type="number" min={1} max={1000000} inputMode="numeric" value={values.numDomains} onChange={(e) => set('numDomains', e.target.value)} />
                </Field>
              </div>
              <p className="possible" role="status" aria-live="polite" aria-atomic="true" id="possible-count">
                Possible domains: <strong data-testid="possible-count">{formatCount(possible)}</strong>
                {example(values) && <span className="muted"> · e.g. {example(values)}{tlds[0] ?? ''}</span>}
              </p>
              <FieldError k="discovery" error={errors.discovery} />
            </>
          )}

          {step === 2 && (
            <>
              {listError && (
                <p className="form-error" role="alert">
                  Could not load personas/proxies: {listError}
                </p>
              )}
              <fieldset className="group" aria-describedby={errors.personaIds ? 'f-personaIds-error' : undefined}>
                <legend>Personas</legend>
                {personas === null ? (
                  <p className="muted"><Spinner /> Loading…</p>
                ) : personas.length === 0 ? (
                  <p className="muted">No personas yet. <a href="#/personas">Create one</a>.</p>
                ) : (
                  personas.map((p) => (
                    <label key={p.id} className="check">
                      <input type="checkbox" checked={values.personaIds.includes(p.id)} onChange={() => dispatch({ type: 'toggle', field: 'personaIds', id: p.id })} />
                      <span>
                        {p.name} <span className="muted">({p.kind.toUpperCase()})</span> {!p.enabled && <span className="badge badge-failed">disabled</span>}
                      </span>
                    </label>
                  ))
                )}
                <FieldError k="personaIds" error={errors.personaIds} />
              </fieldset>
              <fieldset className="group" aria-describedby={errors.proxyIds ? 'f-proxyIds-error' : undefined}>
                <legend>Proxies</legend>
                {proxies === null ? (
                  <p className="muted"><Spinner /> Loading…</p>
                ) : proxies.length === 0 ? (
                  <p className="muted">No proxies yet. <a href="#/proxies">Add one</a>.</p>
                ) : (
                  proxies.map((p) => (
                    <label key={p.id} className="check">
                      <input type="checkbox" checked={values.proxyIds.includes(p.id)} onChange={() => dispatch({ type: 'toggle', field: 'proxyIds', id: p.id })} />
                      <span>
                        <code>{p.address}</code> {!p.enabled && <span className="badge badge-failed">disabled</span>}
                      </span>
                    </label>
                  ))
                )}
                <FieldError k="proxyIds" error={errors.proxyIds} />
              </fieldset>
              {selectedDisabled.length > 0 && (
                <p className="notice">
                  Selected but disabled: {selectedDisabled.join(', ')}. Starting discovery fails until they are enabled.
                </p>
              )}
              <button type="button" className="btn btn-small" onClick={() => void loadLists()}>
                Refresh lists
              </button>
            </>
          )}

          {step === 3 && <KeywordsStep values={values} errors={errors} set={set} />}

          {step === 4 && <ModeStep values={values} errors={errors} set={set} warnings={warnings} tlds={tlds} possible={formatCount(possible)} />}
        </fieldset>

        {quota && last && (
          <div id="create-quota" className="form-error" role="alert">
            <p>
              Could not create the campaign. {quota.text}
            </p>
            <p>{quota.retry}</p>
          </div>
        )}
        {state.formError && (
          <p className="form-error" role="alert">
            {state.formError}
          </p>
        )}

        <div className="wizard-actions">
          <button type="button" className="btn" onClick={() => dispatch({ type: 'back' })} disabled={busy || step === 0}>
            Back
          </button>
          {last ? (
            <button
              key="create"
              type="submit"
              className="btn btn-primary"
              disabled={busy}
              aria-disabled={busy}
              aria-describedby={quota ? 'create-quota' : undefined}
              onClick={onCreateClick}
            >
              {busy && <Spinner />}
              {submitting === 'creating' ? 'Creating...' : submitting === 'starting' ? 'Starting Campaign...' : 'Create campaign'}
            </button>
          ) : (
            <button key="next" type="submit" className="btn btn-primary" disabled={busy}>
              Next
            </button>
          )}
        </div>
        <p className="sr-only" role="status" aria-live="polite">
          {submitting === 'creating' ? 'Creating the campaign' : submitting === 'starting' ? 'Starting the campaign' : ''}
        </p>
      </form>
    </div>
  );
}

function example(v: WizardValues): string | null {
  const len = Number(v.variableLength);
  const chars = distinctChars(v.characterSet).filter((c) => c !== '-');
  if (!Number.isInteger(len) || len < 1 || len > 12 || chars.length === 0) return null;
  const part = (offset: number) => Array.from({ length: len }, (_, i) => chars[(i + offset) % chars.length]).join('');
  if (v.patternType === 'prefix') return part(0) + v.constantString;
  if (v.patternType === 'suffix') return v.constantString + part(0);
  return part(0) + v.constantString + part(1);
}
