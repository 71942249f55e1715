import { useCallback, useEffect, useState } from 'react';
import type { Campaign } from '../api/types';
import { Badge, Spinner, StatusBadge, formatTime, label } from '../components/ui';
import { useApp } from '../context';
import { describeError } from '../wizard/submit';

export function CampaignList() {
  const { api } = useApp();
  const [items, setItems] = useState<Campaign[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = useCallback(
    async (from: string | null) => {
      setLoading(true);
      try {
        const page = await api.listCampaigns(20, from);
        setItems((prev) => (from && prev ? [...prev, ...page.items] : page.items));
        setCursor(page.nextCursor ?? null);
        setError(null);
      } catch (e) {
        setError(describeError(e));
      } finally {
        setLoading(false);
      }
    },
    [api],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <div>
      <div className="title-row">
        <h1>Campaigns</h1>
        <a className="btn btn-primary" href="#/campaigns/new">
          New campaign
        </a>
        <button type="button" className="btn" onClick={() => void load(null)} disabled={loading}>
          Refresh
        </button>
      </div>
      {error && (
        <p className="form-error" role="alert">
          Could not load campaigns: {error}
        </p>
      )}
      {items === null ? (
        <p className="muted" role="status">
          <Spinner /> Loading campaigns…
        </p>
      ) : items.length === 0 ? (
        <div className="card empty">
          <p>No campaigns yet.</p>
          <a className="btn btn-primary" href="#/campaigns/new">
            Create your first campaign
          </a>
        </div>
      ) : (
        <table className="list card" aria-label="Campaigns">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Mode</th>
              <th scope="col">Discovery</th>
              <th scope="col">Auto-start</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => {
              const d = c.phases.find((p) => p.phase === 'discovery');
              return (
                <tr key={c.id}>
                  <th scope="row">
                    <a href={`#/campaigns/${c.id}`}>{c.name}</a>
                  </th>
                  <td>
                    <Badge tone={c.mode}>{label(c.mode)}</Badge>
                  </td>
                  <td>{d ? <StatusBadge status={d.status} /> : '—'}</td>
                  <td>{c.autoStart.status === 'not_requested' ? '—' : <StatusBadge status={c.autoStart.status} />}</td>
                  <td>{formatTime(c.createdAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {cursor && (
        <button type="button" className="btn" onClick={() => void load(cursor)} disabled={loading}>
          {loading ? 'Loading...' : 'Load more'}
        </button>
      )}
    </div>
  );
}
