/** Step 5: Manual or Full Auto, where Full Auto will stop (readiness), and the review. */
import { toCreateRequest, type FieldKey, type WizardValues } from '../../wizard/state';
import { FieldError } from './fields';

const MODE_HELP = {
  step_by_step: 'Nothing starts by itself: you start discovery from the campaign page when you are ready.',
  full_sequence: 'Discovery starts as soon as the campaign is created, and each finished phase starts the next.',
};

export function ModeStep({
  values,
  errors,
  set,
  warnings,
  tlds,
  possible,
}: {
  values: WizardValues;
  errors: Partial<Record<FieldKey, string>>;
  set: <K extends keyof WizardValues>(field: K, value: WizardValues[K]) => void;
  /** fullAutoWarnings(): shown only while Full Auto is chosen. */
  warnings: string[];
  tlds: string[];
  possible: string;
}) {
  return (
    <>
      <fieldset className="group">
        <legend>Execution mode</legend>
        <label className="radio">
          <input type="radio" name="mode" value="step_by_step" checked={values.mode === 'step_by_step'} onChange={() => set('mode', 'step_by_step')} aria-describedby="mode-manual-help" />
          <span>
            <strong>Manual</strong>
            <span id="mode-manual-help" className="muted block">{MODE_HELP.step_by_step}</span>
          </span>
        </label>
        <label className="radio">
          <input type="radio" name="mode" value="full_sequence" checked={values.mode === 'full_sequence'} onChange={() => set('mode', 'full_sequence')} aria-describedby="mode-auto-help" />
          <span>
            <strong>Full Auto</strong>
            <span id="mode-auto-help" className="muted block">{MODE_HELP.full_sequence}</span>
          </span>
        </label>
        <FieldError k="mode" error={errors.mode} />
      </fieldset>
      {values.mode === 'full_sequence' && warnings.length > 0 && (
        <div className="notice wizard-warning" role="status" aria-label="Full Auto readiness">
          {warnings.map((w) => (
            <p key={w}>{w}</p>
          ))}
          <p className="muted">The campaign is still created; you can configure what is missing and start that phase yourself.</p>
        </div>
      )}
      <h3>Review</h3>
      <dl className="review">
        <dt>Name</dt>
        <dd>{values.name}</dd>
        <dt>Pattern</dt>
        <dd>
          {values.patternType}, “{values.constantString}”, {values.variableLength} × [{values.characterSet}]
        </dd>
        <dt>TLDs</dt>
        <dd>{tlds.join(' ')}</dd>
        <dt>Domains</dt>
        <dd>
          {values.numDomains} of {possible} possible
        </dd>
        <dt>Personas / proxies</dt>
        <dd>
          {values.personaIds.length} / {values.proxyIds.length} selected
        </dd>
        <dt>Keywords</dt>
        <dd>{keywordsSummary(values)}</dd>
      </dl>
    </>
  );
}

function keywordsSummary(v: WizardValues): string {
  const k = toCreateRequest(v).config.keywords;
  if (!k) return 'none (the keywords phase will need terms before it can start)';
  return `${k.terms.map((t) => `“${t}”`).join(', ')} · match ${k.match} · paths ${k.paths.join(' ')}`;
}

