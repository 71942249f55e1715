/** Step 4: what the keywords phase looks for (config.keywords). Optional at create. */
import type { KeywordMatch } from '../../api/types';
import { KEYWORD_LIMITS, parsePaths, parseTerms } from '../../wizard/keywords';
import type { FieldKey, WizardValues } from '../../wizard/state';
import { Field, FieldError, fieldProps } from './fields';

export function KeywordsStep({
  values,
  errors,
  set,
}: {
  values: WizardValues;
  errors: Partial<Record<FieldKey, string>>;
  set: <K extends keyof WizardValues>(field: K, value: WizardValues[K]) => void;
}) {
  const fp = fieldProps(errors);
  const terms = parseTerms(values.keywordTerms);
  return (
    <>
      <p className="muted">
        After DNS validation, the keywords phase fetches each domain that resolved and counts these terms (whole words, any case) in
        the page title and visible text. Leave the terms empty to configure them later.
      </p>
      <div className="grid2">
        <Field
          k="keywordTerms"
          label="Keyword terms"
          error={errors.keywordTerms}
          hint={`One per line, up to ${KEYWORD_LIMITS.maxTerms} terms of 1–${KEYWORD_LIMITS.maxTermChars} characters. ${terms.length} entered.`}
        >
          <textarea {...fp('keywordTerms', 'y')} rows={5} value={values.keywordTerms} onChange={(e) => set('keywordTerms', e.target.value)} />
        </Field>
        <Field
          k="keywordPaths"
          label="Paths to fetch"
          error={errors.keywordPaths}
          hint={`One per line, up to ${KEYWORD_LIMITS.maxPaths}, each starting with “/”. Fetched: ${parsePaths(values.keywordPaths).join(' ')}`}
        >
          <textarea {...fp('keywordPaths', 'y')} rows={5} value={values.keywordPaths} onChange={(e) => set('keywordPaths', e.target.value)} />
        </Field>
      </div>
      <fieldset className="group">
        <legend>A domain matches when its pages contain</legend>
        {(
          [
            ['any', 'Any term', 'at least one of the terms'],
            ['all', 'All terms', 'every one of the terms'],
          ] as [KeywordMatch, string, string][]
        ).map(([v, l, d]) => (
          <label key={v} className="radio">
            <input type="radio" name="keywordMatch" value={v} checked={values.keywordMatch === v} onChange={() => set('keywordMatch', v)} />
            <span>
              <strong>{l}</strong> <span className="muted">— {d}</span>
            </span>
          </label>
        ))}
        <FieldError k="keywordMatch" error={errors.keywordMatch} />
      </fieldset>
    </>
  );
}
