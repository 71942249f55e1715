/** The discovery output of a campaign, paged with `nextCursor` (stable order, API.md). */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Spinner } from '../../components/ui';
import { useApp } from '../../context';
import { describeError } from '../../wizard/submit';

const PAGE = 25;

export function DomainsList({ campaignId, refreshKey }: { campaignId: string; refreshKey: string }) {
  const { api } = useApp();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState(0);
  const [items, setItems] = useState<string[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const seq = useRef(0);
  const load = useCallback(
    async (cursor: string | null) => {
      // Only the latest request may update the list (responses can arrive out of order).
      const mine = ++seq.current;
      setLoading(true);
      try {
        const r = await api.listDomains(campaignId, PAGE, cursor);
        if (mine !== seq.current) return;
        setItems(r.items);
        setNextCursor(r.nextCursor ?? null);
        setError(null);
      } catch (e) {
        if (mine === seq.current) setError(describeError(e));
      } finally {
        if (mine === seq.current) setLoading(false);
      }
    },
    [api, campaignId],
  );

  useEffect(() => {
    void load(cursors[page] ?? null);
  }, [page, refreshKey, load]);

  const goNext = () => {
    if (!nextCursor) return;
    setCursors((c) => [...c.slice(0, page + 1), nextCursor]);
    setPage(page + 1);
  };

  return (
    <section className="card" aria-labelledby="domains-title">
      <div className="section-head">
        <h2 id="domains-title">Domains</h2>
        <span className="muted">Page {page + 1}</span>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {items === null ? (
        <p className="muted">
          <Spinner /> Loading domains…
        </p>
      ) : items.length === 0 ? (
        <p className="muted">No domains yet.</p>
      ) : (
        <ul className="domains" aria-label="Domains" aria-busy={loading}>
          {items.map((d) => (
            <li key={d}>{d}</li>
          ))}
        </ul>
      )}
      <div className="pager">
        <button type="button" className="btn btn-small" onClick={() => setPage(Math.max(0, page - 1))} disabled={page === 0 || loading}>
          Previous page
        </button>
        <button type="button" className="btn btn-small" onClick={() => void load(cursors[page] ?? null)} disabled={loading}>
          Refresh domains
        </button>
        <button type="button" className="btn btn-small" onClick={goNext} disabled={!nextCursor || loading}>
          Next page
        </button>
      </div>
    </section>
  );
}
