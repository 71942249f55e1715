import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import type { Persona, PersonaKind, Proxy } from '../api/types';
import { Badge, Spinner } from '../components/ui';
import { useToast } from '../components/Toasts';
import { useApp } from '../context';
import { HTTP_DEFAULTS, httpFieldFor, validateHttpPersona, type HttpField, type HttpPersonaForm } from '../lib/httpPersona';
import { describeError } from '../wizard/submit';
import { HttpPersonaFields } from './HttpPersonaFields';

function detailsFor(e: unknown, field: string): string | undefined {
  if (!(e instanceof ApiError)) return undefined;
  const d = e.details.filter((x) => x.field === field || x.field.endsWith(`.${field}`));
  return d.length ? d.map((x) => x.problem).join('; ') : undefined;
}

function useList<T>(load: () => Promise<T[]>) {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(async () => {
    try {
      setItems(await load());
      setError(null);
    } catch (e) {
      setError(describeError(e));
    }
  }, [load]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { items, setItems, error, reload };
}

const DNS_EXAMPLE = '{"resolvers": ["127.0.0.1:53"]}';

/** 422 details of an http persona, per form field (unplaced ones under "config"). */
function httpErrors(e: unknown): Partial<Record<HttpField | 'config', string>> {
  const out: Partial<Record<HttpField | 'config', string>> = {};
  if (!(e instanceof ApiError)) return out;
  for (const d of e.details) {
    if (!d.field.startsWith('config')) continue;
    const f = httpFieldFor(d.field) ?? 'config';
    out[f] = out[f] ? `${out[f]}; ${d.problem}` : f === 'config' ? `${d.field}: ${d.problem}` : d.problem;
  }
  return out;
}

export function PersonasPage() {
  const { api } = useApp();
  const toast = useToast();
  const load = useCallback(() => api.listPersonas(), [api]);
  const { items, setItems, error, reload } = useList<Persona>(load);
  const [name, setName] = useState('');
  const [kind, setKind] = useState<PersonaKind>('dns');
  const [enabled, setEnabled] = useState(true);
  const [configText, setConfigText] = useState(DNS_EXAMPLE);
  const [httpForm, setHttpForm] = useState<HttpPersonaForm>(HTTP_DEFAULTS);
  const [httpErrs, setHttpErrs] = useState<Partial<Record<HttpField, string>>>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string | undefined>>({});
  const [busy, setBusy] = useState(false);
  const [toggling, setToggling] = useState<string | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const errs: Record<string, string | undefined> = {};
    if (!name.trim()) errs.name = 'Enter a name.';
    let config: Record<string, unknown> = {};
    let httpBad = false;
    if (kind === 'http') {
      const r = validateHttpPersona(httpForm);
      setHttpErrs(r.errors);
      httpBad = !r.config;
      if (r.config) config = { ...r.config };
    } else {
      try {
        const parsed = JSON.parse(configText || '{}');
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
        config = parsed;
      } catch {
        errs.config = 'A JSON object, e.g. ' + DNS_EXAMPLE;
      }
    }
    setFieldErrors(errs);
    if (httpBad || Object.values(errs).some(Boolean)) return;
    setBusy(true);
    try {
      const p = await api.createPersona({ name: name.trim(), kind, enabled, config });
      setItems((xs) => [...(xs ?? []), p]);
      setName('');
      toast.show('success', `Persona “${p.name}” created`);
    } catch (err) {
      if (kind === 'http') {
        const { config: rest, ...perField } = httpErrors(err);
        setHttpErrs(perField);
        setFieldErrors({ name: detailsFor(err, 'name'), kind: detailsFor(err, 'kind'), config: rest });
      } else {
        setFieldErrors({ name: detailsFor(err, 'name'), config: detailsFor(err, 'config'), kind: detailsFor(err, 'kind') });
      }
      toast.show('error', `Could not create the persona: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const toggle = async (p: Persona) => {
    setToggling(p.id);
    try {
      const u = await api.setPersonaEnabled(p.id, !p.enabled);
      setItems((xs) => (xs ?? []).map((x) => (x.id === p.id ? { ...x, ...u } : x)));
      toast.show('success', `Persona “${p.name}” ${u.enabled ? 'enabled' : 'disabled'}`);
    } catch (err) {
      toast.show('error', `Could not update the persona: ${describeError(err)}`);
    } finally {
      setToggling(null);
    }
  };

  return (
    <div>
      <h1>Personas</h1>
      <form className="card" onSubmit={create} aria-labelledby="new-persona" noValidate>
        <h2 id="new-persona">New persona</h2>
        <div className="grid2">
          <div className="field">
            <label htmlFor="persona-name">Persona name</label>
            <input id="persona-name" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={fieldErrors.name ? true : undefined} aria-describedby={fieldErrors.name ? 'persona-name-error' : undefined} />
            {fieldErrors.name && <p id="persona-name-error" className="field-error">{fieldErrors.name}</p>}
          </div>
          <div className="field">
            <label htmlFor="persona-kind">Kind</label>
            <select
              id="persona-kind"
              value={kind}
              onChange={(e) => {
                setKind(e.target.value as PersonaKind);
                setFieldErrors({});
              }}
            >
              <option value="dns">DNS</option>
              <option value="http">HTTP</option>
            </select>
          </div>
        </div>
        {kind === 'http' ? (
          <>
            <HttpPersonaFields form={httpForm} errors={httpErrs} onChange={(f) => setHttpForm(f)} />
            {fieldErrors.config && <p className="field-error">{fieldErrors.config}</p>}
          </>
        ) : (
          <div className="field">
            <label htmlFor="persona-config">Configuration (JSON)</label>
            <textarea id="persona-config" rows={2} value={configText} onChange={(e) => setConfigText(e.target.value)} aria-invalid={fieldErrors.config ? true : undefined} aria-describedby="persona-config-hint" />
            <p id="persona-config-hint" className="hint">
              e.g. <code>{DNS_EXAMPLE}</code>
            </p>
            {fieldErrors.config && <p className="field-error">{fieldErrors.config}</p>}
          </div>
        )}
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Creating...' : 'Create persona'}
        </button>
      </form>
      <ResourceTable
        title="Your personas"
        error={error}
        onRefresh={reload}
        rows={items?.map((p) => ({
          id: p.id,
          label: p.name,
          extra: p.kind.toUpperCase(),
          enabled: p.enabled,
          busy: toggling === p.id,
          onToggle: () => void toggle(p),
          kindLabel: 'persona',
        }))}
      />
    </div>
  );
}

export function ProxiesPage() {
  const { api } = useApp();
  const toast = useToast();
  const load = useCallback(() => api.listProxies(), [api]);
  const { items, setItems, error, reload } = useList<Proxy>(load);
  const [address, setAddress] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [addrError, setAddrError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [toggling, setToggling] = useState<string | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const a = address.trim();
    if (!/^(http|socks5):\/\/[^\s/:]+:\d{1,5}$/.test(a)) {
      setAddrError('Use http://host:port or socks5://host:port');
      return;
    }
    setAddrError(undefined);
    setBusy(true);
    try {
      const p = await api.createProxy({ address: a, enabled });
      setItems((xs) => [...(xs ?? []), p]);
      setAddress('');
      toast.show('success', `Proxy ${p.address} added`);
    } catch (err) {
      setAddrError(detailsFor(err, 'address') ?? describeError(err));
      toast.show('error', `Could not add the proxy: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const toggle = async (p: Proxy) => {
    setToggling(p.id);
    try {
      const u = await api.setProxyEnabled(p.id, !p.enabled);
      setItems((xs) => (xs ?? []).map((x) => (x.id === p.id ? { ...x, ...u } : x)));
      toast.show('success', `Proxy ${p.address} ${u.enabled ? 'enabled' : 'disabled'}`);
    } catch (err) {
      toast.show('error', `Could not update the proxy: ${describeError(err)}`);
    } finally {
      setToggling(null);
    }
  };

  return (
    <div>
      <h1>Proxies</h1>
      <form className="card" onSubmit={create} aria-labelledby="new-proxy" noValidate>
        <h2 id="new-proxy">New proxy</h2>
        <div className="field">
          <label htmlFor="proxy-address">Proxy address</label>
          <input id="proxy-address" placeholder="http://127.0.0.1:8888" value={address} onChange={(e) => setAddress(e.target.value)} aria-invalid={addrError ? true : undefined} aria-describedby={addrError ? 'proxy-address-error' : 'proxy-address-hint'} />
          <p id="proxy-address-hint" className="hint">
            <code>http://host:port</code> or <code>socks5://host:port</code>
          </p>
          {addrError && <p id="proxy-address-error" className="field-error">{addrError}</p>}
        </div>
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Adding...' : 'Add proxy'}
        </button>
      </form>
      <ResourceTable
        title="Your proxies"
        error={error}
        onRefresh={reload}
        rows={items?.map((p) => ({
          id: p.id,
          label: p.address,
          enabled: p.enabled,
          busy: toggling === p.id,
          onToggle: () => void toggle(p),
          kindLabel: 'proxy',
        }))}
      />
    </div>
  );
}

interface Row {
  id: string;
  label: string;
  extra?: string;
  enabled: boolean;
  busy: boolean;
  onToggle: () => void;
  kindLabel: string;
}

function ResourceTable({ title, rows, error, onRefresh }: { title: string; rows?: Row[]; error: string | null; onRefresh: () => void }) {
  return (
    <section className="card" aria-label={title}>
      <div className="section-head">
        <h2>{title}</h2>
        <button type="button" className="btn btn-small" onClick={onRefresh}>
          Refresh
        </button>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {!rows ? (
        <p className="muted">
          <Spinner /> Loading…
        </p>
      ) : rows.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <table className="list">
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <th scope="row">
                  {r.label} {r.extra && <span className="muted">({r.extra})</span>}
                </th>
                <td>{r.enabled ? <Badge tone="completed">Enabled</Badge> : <Badge tone="failed">Disabled</Badge>}</td>
                <td className="right">
                  <button type="button" className="btn btn-small" onClick={r.onToggle} disabled={r.busy} aria-label={`${r.enabled ? 'Disable' : 'Enable'} ${r.kindLabel} ${r.label}`}>
                    {r.busy ? <Spinner /> : null}
                    {r.enabled ? 'Disable' : 'Enable'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
