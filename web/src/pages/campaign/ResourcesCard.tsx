/**
 * The campaign's personas and proxies, changeable between phases (`PUT …/config` with
 * `personaIds`/`proxyIds`), so a phase that readiness says is not configured (e.g. validation
 * without a DNS persona) can be fixed on the page and then started.
 */
import { useEffect, useState } from 'react';
import { ApiError } from '../../api/client';
import type { Campaign, Persona, Proxy } from '../../api/types';
import { resourcesLock } from '../../campaign/config';
import { Spinner } from '../../components/ui';
import { useToast } from '../../components/Toasts';
import { useApp } from '../../context';
import { describeError } from '../../wizard/submit';

export function ResourcesCard({ campaign, onUpdated, onStale }: { campaign: Campaign; onUpdated: (c: Campaign) => void; onStale: () => void }) {
  const { api } = useApp();
  const toast = useToast();
  const [personas, setPersonas] = useState<Persona[] | null>(null);
  const [proxies, setProxies] = useState<Proxy[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [personaIds, setPersonaIds] = useState<string[]>([]);
  const [proxyIds, setProxyIds] = useState<string[]>([]);
  const [error, setError] = useState<ApiError | string | null>(null);
  const [saving, setSaving] = useState(false);
  const lock = resourcesLock(campaign);

  const loadLists = async () => {
    try {
      const [p, x] = await Promise.all([api.listPersonas(), api.listProxies()]);
      setPersonas(p);
      setProxies(x);
      setListError(null);
    } catch (e) {
      setListError(describeError(e));
    }
  };
  useEffect(() => {
    void loadLists();
  }, [campaign.id]); // eslint-disable-line react-hooks/exhaustive-deps

  const edit = () => {
    setPersonaIds(campaign.config.personaIds);
    setProxyIds(campaign.config.proxyIds);
    setError(null);
    setEditing(true);
    void loadLists();
  };
  const toggle = (ids: string[], id: string) => (ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id]);

  const save = async () => {
    if (saving) return;
    setSaving(true);
    setError(null);
    try {
      const c = await api.putConfig(campaign.id, { personaIds, proxyIds });
      onUpdated(c);
      setEditing(false);
      toast.show('success', 'Personas and proxies saved');
    } catch (e) {
      setError(e instanceof ApiError ? e : describeError(e));
      if (e instanceof ApiError && (e.status === 409 || e.status === 412)) onStale();
      toast.show('error', `Could not save personas and proxies: ${e instanceof ApiError ? e.code : describeError(e)}`);
    } finally {
      setSaving(false);
    }
  };

  const personaName = (id: string) => {
    const p = personas?.find((x) => x.id === id);
    return p ? `${p.name} (${p.kind.toUpperCase()}${p.enabled ? '' : ', disabled'})` : id;
  };
  const proxyName = (id: string) => {
    const p = proxies?.find((x) => x.id === id);
    return p ? `${p.address}${p.enabled ? '' : ' (disabled)'}` : id;
  };

  return (
    <section className="card" aria-labelledby="resources-title">
      <div className="section-head">
        <h2 id="resources-title">Personas & proxies</h2>
        {!editing && (
          <button type="button" className="btn btn-small" onClick={edit} disabled={lock !== null} title={lock ?? undefined}>
            Change personas & proxies
          </button>
        )}
      </div>
      {listError && <p className="form-error">Could not load personas/proxies: {listError}</p>}
      {!editing ? (
        <dl className="review">
          <dt>Personas</dt>
          <dd>{campaign.config.personaIds.length ? campaign.config.personaIds.map(personaName).join(', ') : 'none'}</dd>
          <dt>Proxies</dt>
          <dd>{campaign.config.proxyIds.length ? campaign.config.proxyIds.map(proxyName).join(', ') : 'none (direct)'}</dd>
          {lock && (
            <>
              <dt>Changes</dt>
              <dd className="muted">{lock}</dd>
            </>
          )}
        </dl>
      ) : (
        <fieldset className="plain" disabled={saving} aria-busy={saving}>
          <div className="grid2">
            <fieldset className="group">
              <legend>Campaign personas</legend>
              {(personas ?? []).map((p) => (
                <label key={p.id} className="check">
                  <input type="checkbox" checked={personaIds.includes(p.id)} onChange={() => setPersonaIds((ids) => toggle(ids, p.id))} />
                  <span>{personaName(p.id)}</span>
                </label>
              ))}
              {personas?.length === 0 && (
                <p className="muted">
                  No personas yet. <a href="#/personas">Create one</a>.
                </p>
              )}
            </fieldset>
            <fieldset className="group">
              <legend>Campaign proxies</legend>
              {(proxies ?? []).map((p) => (
                <label key={p.id} className="check">
                  <input type="checkbox" checked={proxyIds.includes(p.id)} onChange={() => setProxyIds((ids) => toggle(ids, p.id))} />
                  <span>
                    <code>{proxyName(p.id)}</code>
                  </span>
                </label>
              ))}
              {proxies?.length === 0 && <p className="muted">No proxies.</p>}
            </fieldset>
          </div>
          {error && (
            <div className="form-error" role="alert">
              {typeof error === 'string' ? (
                <p>{error}</p>
              ) : (
                <>
                  <p>
                    Could not save: {error.code} — {error.message}
                  </p>
                  {error.details.length > 0 && (
                    <ul>
                      {error.details.map((d, i) => (
                        <li key={i}>
                          <code>{d.field}</code>: {d.problem}
                        </li>
                      ))}
                    </ul>
                  )}
                </>
              )}
            </div>
          )}
          <div className="pager">
            <button type="button" className="btn btn-primary" onClick={() => void save()} disabled={saving}>
              {saving && <Spinner />}
              {saving ? 'Saving...' : 'Save personas & proxies'}
            </button>
            <button type="button" className="btn" onClick={() => setEditing(false)} disabled={saving}>
              Cancel
            </button>
          </div>
        </fieldset>
      )}
    </section>
  );
}
