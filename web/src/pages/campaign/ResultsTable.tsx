/**
 * Per-domain results of validation (DNS) and keywords (HTTP): `GET …/domains?include=results`,
 * filtered with `?status=` (the server filters on the latest phase that ran), paged with
 * `nextCursor`. Only the latest request may update the table (answers can arrive out of order).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { DomainResult, Phase, ResultFilter } from '../../api/types';
import { hitsText, resultFilters } from '../../campaign/results';
import { Spinner, StatusBadge } from '../../components/ui';
import { useApp } from '../../context';
import { describeError } from '../../wizard/submit';

const PAGE = 25;
/** Reads per page at most when a filter leaves chunks without a match. */
const MAX_READS = 20;

export function ResultsTable({ campaignId, phases, refreshKey }: { campaignId: string; phases: Phase[]; refreshKey: string }) {
  const { api } = useApp();
  const [filter, setFilter] = useState<ResultFilter | null>(null);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState(0);
  const [items, setItems] = useState<DomainResult[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const seq = useRef(0);
  const filters = resultFilters(phases);
  const hasHttp = filters.some(([f]) => f === 'matched');

  const load = useCallback(
    async (cursor: string | null, status: ResultFilter | null) => {
      const mine = ++seq.current;
      setLoading(true);
      try {
        // A filtered read looks at a bounded number of chunks and may answer few (or no) items
        // with a cursor: follow it (bounded) until the page is full or the list ends.
        const got: DomainResult[] = [];
        let next: string | null = cursor;
        for (let i = 0; i < MAX_READS; i++) {
          const r = await api.listDomainResults(campaignId, { status, limit: PAGE - got.length, cursor: next });
          if (mine !== seq.current) return;
          got.push(...r.items);
          next = r.nextCursor ?? null;
          if (!next || got.length >= PAGE || !status) break;
        }
        setItems(got);
        setNextCursor(next);
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
    void load(cursors[page] ?? null, filter);
  }, [page, filter, refreshKey, load]); // eslint-disable-line react-hooks/exhaustive-deps

  const choose = (f: ResultFilter | null) => {
    setFilter(f);
    setCursors([null]);
    setPage(0);
  };
  const goNext = () => {
    if (!nextCursor) return;
    setCursors((c) => [...c.slice(0, page + 1), nextCursor]);
    setPage(page + 1);
  };

  return (
    <section className="card" aria-labelledby="results-title">
      <div className="section-head">
        <h2 id="results-title">Results</h2>
        <span className="muted">Page {page + 1}</span>
      </div>
      <fieldset className="filters">
        <legend>Show</legend>
        {filters.map(([f, l]) => (
          <label key={l} className={`chip${filter === f ? ' chip-on' : ''}`}>
            <input type="radio" name="result-filter" checked={filter === f} onChange={() => choose(f)} />
            {l}
          </label>
        ))}
      </fieldset>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {items === null ? (
        <p className="muted">
          <Spinner /> Loading results…
        </p>
      ) : items.length === 0 ? (
        <p className="muted">
          {nextCursor ? 'None in the domains looked at so far: “More results” looks further.' : `No domains ${filter ? 'with this status ' : ''}yet.`}
        </p>
      ) : (
        <div className="table-scroll">
          <table className="results" aria-label="Domain results" aria-busy={loading}>
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">DNS</th>
                {hasHttp && (
                  <>
                    <th scope="col">HTTP</th>
                    <th scope="col">HTTP status</th>
                    <th scope="col">Title</th>
                    <th scope="col">Final URL</th>
                    <th scope="col">Hits</th>
                  </>
                )}
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <ResultRow key={r.domain} r={r} http={hasHttp} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="pager">
        <button type="button" className="btn btn-small" onClick={() => setPage(Math.max(0, page - 1))} disabled={page === 0 || loading}>
          Previous results
        </button>
        <button type="button" className="btn btn-small" onClick={() => void load(cursors[page] ?? null, filter)} disabled={loading}>
          Refresh results
        </button>
        <button type="button" className="btn btn-small" onClick={goNext} disabled={!nextCursor || loading}>
          More results
        </button>
      </div>
    </section>
  );
}

function ResultRow({ r, http }: { r: DomainResult; http: boolean }) {
  const h = r.http;
  return (
    <tr aria-label={r.domain}>
      <th scope="row">
        <code>{r.domain}</code>
      </th>
      <td>
        {r.dns ? <StatusBadge status={r.dns.status} /> : <StatusBadge status="pending" />}
        {r.dns?.addresses && r.dns.addresses.length > 0 && <div className="muted small">{r.dns.addresses.join(', ')}</div>}
        {r.dns?.error && <div className="field-error small">{r.dns.error}</div>}
      </td>
      {http && (
        <>
          <td>
            {h ? <StatusBadge status={h.status} /> : <StatusBadge status="pending" />}
            {h?.error && <div className="field-error small">{h.error}</div>}
          </td>
          <td>{h?.httpStatus ?? '—'}</td>
          <td className="wrap">{h?.title || '—'}</td>
          <td className="wrap">{h?.finalUrl ? <code>{h.finalUrl}</code> : '—'}</td>
          <td>{hitsText(h?.hits)}</td>
        </>
      )}
    </tr>
  );
}
