import type {
  Campaign,
  CampaignStatus,
  CreateCampaignRequest,
  DiscoveryConfig,
  DomainResult,
  ErrorBody,
  KeywordsConfig,
  ErrorDetail,
  Mode,
  Page,
  Persona,
  PersonaKind,
  PhaseAction,
  Proxy,
  ResultFilter,
} from './types';

/** An HTTP error as the API reports it (or a network failure, status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly correlationId?: string;
  readonly details: ErrorDetail[];
  readonly retryAfterMs?: number;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    correlationId?: string;
    details?: ErrorDetail[];
    retryAfterMs?: number;
  }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.correlationId = init.correlationId;
    this.details = init.details ?? [];
    this.retryAfterMs = init.retryAfterMs;
  }
}

export function isApiError(e: unknown, status?: number, code?: string): e is ApiError {
  return (
    e instanceof ApiError &&
    (status === undefined || e.status === status) &&
    (code === undefined || e.code === code)
  );
}

export type StatusResult =
  | { notModified: true; etag: string | null }
  | { notModified: false; etag: string | null; status: CampaignStatus };

export interface ApiClientOptions {
  baseUrl: string;
  getToken: () => string | null;
  onUnauthorized?: () => void;
  fetchImpl?: typeof fetch;
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly opts: ApiClientOptions;

  constructor(opts: ApiClientOptions) {
    this.opts = opts;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  private async raw(
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', ...init.headers };
    if (init.auth !== false) {
      const token = this.opts.getToken();
      if (token) headers.Authorization = `Bearer ${token}`;
    }
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    const f = this.opts.fetchImpl ?? fetch.bind(globalThis);
    let res: Response;
    try {
      res = await f(this.baseUrl + path, { method, headers, body, cache: 'no-store' });
    } catch (e) {
      throw new ApiError({
        status: 0,
        code: 'NETWORK',
        message: `Cannot reach the API at ${this.baseUrl} (${(e as Error).message}; a network error or a refused CORS request)`,
      });
    }
    if (res.status >= 400) throw await toApiError(res, this.opts.onUnauthorized);
    return res;
  }

  private async json<T>(
    method: string,
    path: string,
    init?: { body?: unknown; headers?: Record<string, string>; auth?: boolean },
  ): Promise<T> {
    const res = await this.raw(method, path, init);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  // --- auth -------------------------------------------------------------
  localToken(sub: string): Promise<{ token: string; expiresAt: string }> {
    return this.json('POST', '/_local/token', { body: { sub }, auth: false });
  }

  health(): Promise<{ status: string }> {
    return this.json('GET', '/health', { auth: false });
  }

  // --- campaigns --------------------------------------------------------
  createCampaign(req: CreateCampaignRequest, idempotencyKey?: string): Promise<Campaign> {
    const headers: Record<string, string> = {};
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    return this.json('POST', '/campaigns', { body: req, headers });
  }

  listCampaigns(limit = 20, cursor?: string | null): Promise<Page<Campaign>> {
    return this.json('GET', `/campaigns${query({ limit, cursor })}`);
  }

  getCampaign(id: string): Promise<Campaign> {
    return this.json('GET', `/campaigns/${encodeURIComponent(id)}`);
  }

  setMode(id: string, mode: Mode): Promise<Campaign> {
    return this.json('PUT', `/campaigns/${encodeURIComponent(id)}/mode`, { body: { mode } });
  }

  startPhase(id: string, phase: string): Promise<Campaign> {
    return this.phaseAction(id, phase, 'start');
  }

  /** POST …/phases/{phase}/start|pause|resume|stop → 202 with the campaign. */
  phaseAction(id: string, phase: string, action: PhaseAction): Promise<Campaign> {
    return this.json(
      'POST',
      `/campaigns/${encodeURIComponent(id)}/phases/${encodeURIComponent(phase)}/${action}`,
    );
  }

  /** PUT …/config: replaces the parts given (discovery, keywords, personaIds, proxyIds). */
  putConfig(
    id: string,
    body: { discovery?: DiscoveryConfig; keywords?: KeywordsConfig; personaIds?: string[]; proxyIds?: string[] },
  ): Promise<Campaign> {
    return this.json('PUT', `/campaigns/${encodeURIComponent(id)}/config`, { body });
  }

  /** GET /status with If-None-Match; a 304 is reported as `notModified`. */
  async getStatus(id: string, etag?: string | null): Promise<StatusResult> {
    const headers: Record<string, string> = {};
    if (etag) headers['If-None-Match'] = etag;
    const res = await this.raw('GET', `/campaigns/${encodeURIComponent(id)}/status`, { headers });
    const newTag = res.headers.get('ETag');
    if (res.status === 304) return { notModified: true, etag: newTag ?? etag ?? null };
    return { notModified: false, etag: newTag, status: (await res.json()) as CampaignStatus };
  }

  listDomains(id: string, limit = 25, cursor?: string | null): Promise<Page<string>> {
    return this.json('GET', `/campaigns/${encodeURIComponent(id)}/domains${query({ limit, cursor })}`);
  }

  /** `?include=results` (and `?status=` when filtering): per-domain DNS and HTTP results. */
  listDomainResults(
    id: string,
    opts: { status?: ResultFilter | null; limit?: number; cursor?: string | null } = {},
  ): Promise<Page<DomainResult>> {
    const q = query({ include: 'results', status: opts.status, limit: opts.limit ?? 25, cursor: opts.cursor });
    return this.json('GET', `/campaigns/${encodeURIComponent(id)}/domains${q}`);
  }

  deleteCampaign(id: string): Promise<void> {
    return this.json('DELETE', `/campaigns/${encodeURIComponent(id)}`);
  }

  // --- personas ---------------------------------------------------------
  listPersonas(): Promise<Persona[]> {
    return this.listAll<Persona>('/personas');
  }

  createPersona(p: {
    name: string;
    kind: PersonaKind;
    enabled: boolean;
    config: Record<string, unknown>;
  }): Promise<Persona> {
    return this.json('POST', '/personas', { body: p });
  }

  setPersonaEnabled(id: string, enabled: boolean): Promise<Persona> {
    return this.json('PATCH', `/personas/${encodeURIComponent(id)}`, { body: { enabled } });
  }

  // --- proxies ----------------------------------------------------------
  listProxies(): Promise<Proxy[]> {
    return this.listAll<Proxy>('/proxies');
  }

  /** Follows nextCursor (limit 100, at most 20 pages); also accepts a bare array. */
  private async listAll<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | null | undefined = null;
    for (let i = 0; i < 20; i++) {
      const page: Page<T> | T[] = await this.json<Page<T> | T[]>('GET', `${path}${query({ limit: 100, cursor })}`);
      if (Array.isArray(page)) return page;
      out.push(...(page.items ?? []));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return out;
  }

  createProxy(p: { address: string; enabled: boolean }): Promise<Proxy> {
    return this.json('POST', '/proxies', { body: p });
  }

  setProxyEnabled(id: string, enabled: boolean): Promise<Proxy> {
    return this.json('PATCH', `/proxies/${encodeURIComponent(id)}`, { body: { enabled } });
  }
}

function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function toApiError(res: Response, onUnauthorized?: () => void): Promise<ApiError> {
  let body: Partial<ErrorBody> | null = null;
  try {
    body = (await res.json()) as ErrorBody;
  } catch {
    body = null;
  }
  const e = body?.error;
  const retryAfter = res.headers.get('Retry-After');
  const err = new ApiError({
    status: res.status,
    code: e?.code ?? `HTTP_${res.status}`,
    message: e?.message ?? res.statusText ?? `HTTP ${res.status}`,
    correlationId: e?.correlationId ?? res.headers.get('X-Correlation-Id') ?? undefined,
    details: e?.details,
    retryAfterMs: parseRetryAfter(retryAfter),
  });
  if (res.status === 401) onUnauthorized?.();
  return err;
}

/** `Retry-After`: delta-seconds or an HTTP date (RFC 9110), as milliseconds from `now`. */
export function parseRetryAfter(v: string | null | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
