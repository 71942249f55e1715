/**
 * The campaign's keywords (config.keywords), editable with `PUT …/config` while the keywords
 * phase can still start, so a campaign created without terms (readiness: "keywords needs
 * config.keywords") can be completed without starting over. Same checks as the wizard's step.
 */
import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client';
import type { Campaign, KeywordMatch } from '../../api/types';
import { sectionLock } from '../../campaign/config';
import { Spinner } from '../../components/ui';
import { useToast } from '../../components/Toasts';
import { useApp } from '../../context';
import { KEYWORD_LIMITS, parseTerms, toKeywordsConfig, validateKeywords, type KeywordErrors } from '../../wizard/keywords';
import { fieldForDetail } from '../../wizard/state';
import { describeError } from '../../wizard/submit';

export function KeywordsCard({ campaign, onUpdated, onStale }: { campaign: Campaign; onUpdated: (c: Campaign) => void; onStale: () => void }) {
  const { api } = useApp();
  const toast = useToast();
  const phase = campaign.phases.find((p) => p.phase === 'keywords');
  const current = campaign.config.keywords ?? null;
  const [editing, setEditing] = useState(false);
  const [terms, setTerms] = useState('');
  const [paths, setPaths] = useState('/');
  const [match, setMatch] = useState<KeywordMatch>('any');
  const [errors, setErrors] = useState<KeywordErrors & { form?: string }>({});
  const [saving, setSaving] = useState(false);
  if (!phase) return null;
  const lock = sectionLock(campaign, 'keywords');

  const edit = () => {
    setTerms((current?.terms ?? []).join('\n'));
    setPaths((current?.paths ?? ['/']).join('\n'));
    setMatch(current?.match ?? 'any');
    setErrors({});
    setEditing(true);
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (saving) return;
    const errs: KeywordErrors & { form?: string } = validateKeywords(terms, paths);
    if (parseTerms(terms).length === 0) errs.keywordTerms = 'Enter at least one term.';
    setErrors(errs);
    const keywords = toKeywordsConfig(terms, paths, match);
    if (Object.keys(errs).length > 0 || !keywords) return;
    setSaving(true);
    try {
      const c = await api.putConfig(campaign.id, { keywords });
      onUpdated(c);
      setEditing(false);
      toast.show('success', 'Keywords saved');
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        const next: KeywordErrors & { form?: string } = {};
        const other: string[] = [];
        for (const d of err.details) {
          const f = fieldForDetail(d.field);
          if (f === 'keywordTerms' || f === 'keywordPaths') next[f] = next[f] ? `${next[f]}; ${d.problem}` : d.problem;
          else other.push(`${d.field}: ${d.problem}`);
        }
        if (other.length) next.form = other.join('; ');
        setErrors(next);
      } else if (err instanceof ApiError && (err.status === 409 || err.status === 412)) {
        setErrors({ form: `The campaign changed elsewhere (${err.code}); it now shows its current state.` });
        onStale();
      } else {
        setErrors({ form: describeError(err) });
      }
      toast.show('error', `Could not save the keywords: ${err instanceof ApiError ? err.code : describeError(err)}`);
    } finally {
      setSaving(false);
    }
  };

  const a11y = (k: keyof KeywordErrors) => ({
    'aria-invalid': errors[k] ? (true as const) : undefined,
    'aria-describedby': errors[k] ? `kw-${k}-error` : undefined,
  });

  return (
    <section className="card" aria-labelledby="keywords-title">
      <div className="section-head">
        <h2 id="keywords-title">Keywords</h2>
        {!editing && (
          <button type="button" className="btn btn-small" onClick={edit} disabled={lock !== null} title={lock ?? undefined}>
            Edit keywords
          </button>
        )}
      </div>
      {!editing ? (
        current ? (
          <dl className="review">
            <dt>Terms</dt>
            <dd>{current.terms.map((t) => `“${t}”`).join(', ')}</dd>
            <dt>Match</dt>
            <dd>{current.match === 'all' ? 'all terms' : 'any term'}</dd>
            <dt>Paths</dt>
            <dd>{current.paths.join(' ')}</dd>
            {lock && (
              <>
                <dt>Changes</dt>
                <dd className="muted">{lock}</dd>
              </>
            )}
          </dl>
        ) : (
          <p className="muted">No keywords yet: the keywords phase needs at least one term before it can start.</p>
        )
      ) : (
        <form onSubmit={save} noValidate aria-busy={saving}>
          <fieldset className="plain" disabled={saving}>
            <div className="grid2">
              <div className="field">
                <label htmlFor="kw-terms">Keyword terms</label>
                <textarea id="kw-terms" rows={4} value={terms} onChange={(e) => setTerms(e.target.value)} {...a11y('keywordTerms')} />
                <p className="hint">One per line, up to {KEYWORD_LIMITS.maxTerms} terms of 1–{KEYWORD_LIMITS.maxTermChars} characters.</p>
                {errors.keywordTerms && <p id="kw-keywordTerms-error" className="field-error">{errors.keywordTerms}</p>}
              </div>
              <div className="field">
                <label htmlFor="kw-paths">Paths to fetch</label>
                <textarea id="kw-paths" rows={4} value={paths} onChange={(e) => setPaths(e.target.value)} {...a11y('keywordPaths')} />
                <p className="hint">One per line, up to {KEYWORD_LIMITS.maxPaths}, each starting with “/”.</p>
                {errors.keywordPaths && <p id="kw-keywordPaths-error" className="field-error">{errors.keywordPaths}</p>}
              </div>
            </div>
            <fieldset className="group">
              <legend>A domain matches when its pages contain</legend>
              <label className="radio">
                <input type="radio" name="kw-match" checked={match === 'any'} onChange={() => setMatch('any')} /> <span>Any term</span>
              </label>
              <label className="radio">
                <input type="radio" name="kw-match" checked={match === 'all'} onChange={() => setMatch('all')} /> <span>All terms</span>
              </label>
            </fieldset>
          </fieldset>
          {errors.form && (
            <p className="form-error" role="alert">
              {errors.form}
            </p>
          )}
          <div className="pager">
            <button type="submit" className="btn btn-primary" disabled={saving}>
              {saving && <Spinner />}
              {saving ? 'Saving...' : 'Save keywords'}
            </button>
            <button type="button" className="btn" onClick={() => setEditing(false)} disabled={saving}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
