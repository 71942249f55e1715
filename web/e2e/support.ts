import { expect, type APIRequestContext, type Page, type TestInfo } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const API = (process.env.CAMPAIGN_API_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
export const WS = (process.env.CAMPAIGN_WS_URL ?? 'ws://127.0.0.1:3001').replace(/\/+$/, '');
export const WS_HOST = new URL(WS).host;

export const TOAST = {
  created: 'Campaign Created Successfully',
  started: 'Campaign Created & Started',
  autoStartFailed: 'Campaign created successfully, but auto-start failed. You can start manually.',
};

export const CAMPAIGN_URL = /#\/campaigns\/([0-9a-f-]{36})$/i;

/** A user of its own per test, so lists and counts are not shared between tests. */
export function uniqueUser(tag: string): string {
  return `e2e-${tag}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Direct API access (setup and verification), as the same user the browser signs in as. */
export class Api {
  constructor(
    private readonly request: APIRequestContext,
    readonly token: string,
  ) {}

  static async forUser(request: APIRequestContext, sub: string): Promise<Api> {
    const res = await request.post(`${API}/_local/token`, { data: { sub } });
    expect(res.status(), 'POST /_local/token').toBe(200);
    return new Api(request, (await res.json()).token);
  }

  private h(extra: Record<string, string> = {}) {
    return { Authorization: `Bearer ${this.token}`, ...extra };
  }

  async json(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, data?: unknown, headers?: Record<string, string>) {
    const res = await this.request.fetch(`${API}${path}`, { method, data, headers: this.h(headers) });
    const text = await res.text();
    return { status: res.status(), headers: res.headers(), body: text ? JSON.parse(text) : null };
  }

  /**
   * For setup and checks only: a request that is safe to repeat (a GET, or a POST with an
   * Idempotency-Key) is tried again while a loaded local stack answers 503 UNAVAILABLE or 429
   * THROTTLED (never QUOTA_EXCEEDED), honouring Retry-After.
   */
  async retried(method: 'GET' | 'POST', path: string, data?: unknown, headers?: Record<string, string>) {
    for (let attempt = 0; ; attempt++) {
      const r = await this.json(method, path, data, headers);
      const transient = r.status === 503 || (r.status === 429 && r.body?.error?.code === 'THROTTLED');
      if (!transient || attempt >= 5) return r;
      const after = Number(r.headers['retry-after']);
      await new Promise((done) => setTimeout(done, Number.isFinite(after) && after > 0 ? after * 1000 : 1000 * (attempt + 1)));
    }
  }

  async createPersona(name: string, kind: 'dns' | 'http' = 'dns', enabled = true, config?: Record<string, unknown>) {
    config ??= kind === 'dns' ? { resolvers: ['127.0.0.1:53'] } : { userAgent: 'e2e-test' };
    const r = await this.json('POST', '/personas', { name, kind, enabled, config });
    expect(r.status, `POST /personas ${JSON.stringify(r.body)}`).toBe(201);
    return r.body as { id: string; name: string };
  }

  async createProxy(address: string, enabled = true) {
    const r = await this.json('POST', '/proxies', { address, enabled });
    expect(r.status, `POST /proxies ${JSON.stringify(r.body)}`).toBe(201);
    return r.body as { id: string; address: string };
  }

  async campaigns() {
    const r = await this.json('GET', '/campaigns?limit=100');
    expect(r.status).toBe(200);
    return r.body.items as Array<{ id: string; name: string; mode: string }>;
  }

  async campaign(id: string) {
    const r = await this.retried('GET', `/campaigns/${id}`);
    expect(r.status).toBe(200);
    return r.body;
  }

  async status(id: string) {
    const r = await this.retried('GET', `/campaigns/${id}/status`);
    expect(r.status).toBe(200);
    return r.body;
  }

  async createCampaign(name: string, config: Record<string, unknown>, mode: 'step_by_step' | 'full_sequence' = 'step_by_step') {
    const key = `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
    const r = await this.retried('POST', '/campaigns', { name, mode, config: { personaIds: [], proxyIds: [], ...config } }, { 'Idempotency-Key': key });
    expect(r.status, `POST /campaigns ${JSON.stringify(r.body)}`).toBe(201);
    return r.body as { id: string; name: string };
  }

  async phase(id: string, phase: string, action: 'start' | 'pause' | 'resume' | 'stop') {
    return this.json('POST', `/campaigns/${id}/phases/${phase}/${action}`);
  }

  /** `done` of a phase, from GET /status. */
  async progress(id: string, phase = 'discovery'): Promise<{ status: string; done: number; total: number }> {
    const s = await this.status(id);
    const p = s.phases.find((x: { phase: string }) => x.phase === phase);
    return { status: p.status, done: p.progress.done, total: p.progress.total };
  }

  /** Every domain of the discovery output, in order (pages of 1,000). */
  async allDomains(id: string): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 2000; i++) {
      const q: string = `/campaigns/${id}/domains?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await this.retried('GET', q);
      expect(r.status, `GET ${q}`).toBe(200);
      out.push(...(r.body.items as string[]));
      cursor = r.body.nextCursor;
      if (!cursor) return out;
    }
    throw new Error('too many pages');
  }
}

/**
 * Holds a campaign's running phase after `chunks` chunks, whatever the machine's speed (the
 * local stack discovers ~30,000 domains/s when idle, so a user's click cannot otherwise be sure
 * to find it running): the phase worker's next message for the campaign is lost (a local-stack
 * fault, local/src/faults.rs), so the phase stays `running` without progress until the sweeper
 * re-drives it after STALE_PHASE_SECONDS (10 s locally). `times` messages are lost in a row (the
 * sweeper's re-drives included; a fourth would fail the phase: STALLED). Release it once it no
 * longer needs holding; a release does not resend what was lost (a resume, a stop or the sweeper
 * moves the phase on).
 */
export class Stall {
  private constructor(
    private readonly request: APIRequestContext,
    private readonly ruleId: number,
  ) {}

  /** `times` 3: held for three of the sweeper's stale periods (~30 s locally); its third re-drive goes through. */
  static async after(request: APIRequestContext, campaignId: string, chunks: number, times = 3): Promise<Stall> {
    const res = await request.post(`${API}/_local/faults`, {
      data: { function: 'phase-worker', campaignId, after: chunks, times, error: 'drop' },
    });
    expect(res.status(), 'POST /_local/faults').toBe(201);
    return new Stall(request, (await res.json()).ruleId);
  }

  /** How many messages it lost so far. */
  async lost(): Promise<number> {
    const res = await this.request.get(`${API}/_local/faults/${this.ruleId}`);
    expect(res.status()).toBe(200);
    return (await res.json()).injected;
  }

  /** Disarms the rule (404 when its `times` were all used: nothing left to disarm). */
  async release(): Promise<void> {
    const res = await this.request.delete(`${API}/_local/faults/${this.ruleId}`);
    expect([204, 404]).toContain(res.status());
  }
}

export function discovery(numDomains = 120, variableLength = 3) {
  return { patternType: 'prefix', constantString: 'shop', variableLength, characterSet: 'abcdefghij', tlds: ['.com', '.net'], numDomains };
}

/**
 * Signs the browser in as `api`'s user. 'token' pastes the JWT (the path a deployed stack uses);
 * 'dev' goes through the dev sign-in form (POST /_local/token from the browser).
 */
export async function signIn(page: Page, api: Api, sub: string, via: 'token' | 'dev' = 'token'): Promise<void> {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  if (via === 'dev') {
    await page.getByLabel('User name').fill(sub);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  } else {
    await page.getByLabel('Access token (JWT)').fill(api.token);
    await page.getByRole('button', { name: 'Use token' }).click();
  }
  await expect(page.getByRole('heading', { name: 'Campaigns', level: 1 })).toBeVisible();
  await expect(page.getByText(`Signed in as ${sub}`)).toBeVisible();
}

/** Screenshots of each step under web/test-results/screenshots/<test>/NN-name.png. */
export class Shots {
  private n = 0;
  private readonly dir: string;
  constructor(
    private readonly page: Page,
    info: TestInfo,
  ) {
    const slug = info.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
    const here = dirname(fileURLToPath(import.meta.url));
    this.dir = join(here, '..', 'test-results', 'screenshots', slug);
    mkdirSync(this.dir, { recursive: true });
  }
  async take(name: string): Promise<void> {
    this.n += 1;
    await this.page.screenshot({ path: join(this.dir, `${String(this.n).padStart(2, '0')}-${name}.png`), fullPage: true });
  }
}

export type Traffic = {
  kind: 'http' | 'ws-out' | 'ws-in';
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: any;
  msg?: any;
  t: number;
};

/** Records API requests and WebSocket frames of the page, in order. */
export function recordTraffic(page: Page): Traffic[] {
  const log: Traffic[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(API)) return;
    let body: unknown;
    try {
      body = req.postDataJSON();
    } catch {
      body = req.postData();
    }
    const u = new URL(req.url());
    log.push({ kind: 'http', method: req.method(), path: u.pathname + u.search, headers: req.headers(), body, t: Date.now() });
  });
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => log.push({ kind: 'ws-out', msg: safeJson(f.payload), t: Date.now() }));
    ws.on('framereceived', (f) => log.push({ kind: 'ws-in', msg: safeJson(f.payload), t: Date.now() }));
  });
  return log;
}

function safeJson(p: string | Buffer): any {
  try {
    return JSON.parse(String(p));
  } catch {
    return String(p);
  }
}

export function describeTraffic(log: Traffic[]): string[] {
  return log.map((e) =>
    e.kind === 'http'
      ? `${e.method} ${e.path}`
      : `${e.kind} ${e.msg?.action ?? e.msg?.type ?? '?'}${e.msg?.campaignId ? ` ${e.msg.campaignId}` : ''}`,
  );
}

/**
 * Records every text the wizard's submit button and the toasts show (a MutationObserver, so
 * even states that last a few milliseconds are caught) in window.__uiLog.
 */
export async function recordUi(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __uiLog: string[] };
    w.__uiLog = [];
    const seen = new Set<string>();
    let lastButton = '';
    const scan = () => {
      const btn = document.querySelector('form[aria-labelledby="step-title"] .wizard-actions button[type="submit"]');
      const text = btn?.textContent?.trim() ?? '';
      if (text && text !== lastButton) {
        lastButton = text;
        w.__uiLog.push(`button: ${text}${(btn as HTMLButtonElement).disabled ? ' (disabled)' : ''}`);
      }
      document.querySelectorAll('[aria-label="Notifications"] .toast-text').forEach((el) => {
        const t = el.textContent?.trim() ?? '';
        if (t && !seen.has(t)) {
          seen.add(t);
          w.__uiLog.push(`toast: ${t}`);
        }
      });
    };
    new MutationObserver(scan).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

export async function uiLog(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __uiLog: string[] }).__uiLog ?? []);
}

export interface WizardInput {
  name: string;
  constantString?: string;
  variableLength?: string;
  characterSet?: string;
  tlds?: string;
  numDomains?: string;
  personas?: string[];
  proxies?: string[];
  keywords?: { terms: string[]; paths?: string[]; match?: 'any' | 'all' };
  mode: 'Manual' | 'Full Auto';
}

/** Walks the five wizard steps by label and role, with a screenshot of each; stops before Create. */
export async function fillWizard(page: Page, shots: Shots, w: WizardInput): Promise<void> {
  await page.getByRole('link', { name: 'New campaign' }).first().click();
  await expect(page.getByRole('heading', { name: 'Step 1 of 5: Name' })).toBeVisible();
  await page.getByLabel('Campaign name').fill(w.name);
  await shots.take('wizard-1-name');
  await page.getByRole('button', { name: 'Next' }).click();

  await expect(page.getByRole('heading', { name: 'Step 2 of 5: Discovery settings' })).toBeVisible();
  await page.getByRole('radio', { name: /^Prefix/ }).check();
  await page.getByLabel('Constant string').fill(w.constantString ?? 'shop');
  await page.getByLabel('Variable length').fill(w.variableLength ?? '3');
  await page.getByLabel('Character set').fill(w.characterSet ?? 'abcdefghij');
  await page.getByLabel('TLDs').fill(w.tlds ?? '.com, .net');
  await page.getByLabel('Number of domains').fill(w.numDomains ?? '120');
  await shots.take('wizard-2-discovery');
  await page.getByRole('button', { name: 'Next' }).click();

  await expect(page.getByRole('heading', { name: 'Step 3 of 5: Personas & proxies' })).toBeVisible();
  for (const p of w.personas ?? []) await page.getByRole('group', { name: 'Personas' }).getByRole('checkbox', { name: new RegExp(escapeRe(p)) }).check();
  for (const p of w.proxies ?? []) await page.getByRole('group', { name: 'Proxies' }).getByRole('checkbox', { name: new RegExp(escapeRe(p)) }).check();
  await shots.take('wizard-3-resources');
  await page.getByRole('button', { name: 'Next' }).click();

  await expect(page.getByRole('heading', { name: 'Step 4 of 5: Keywords' })).toBeVisible();
  if (w.keywords) {
    await page.getByLabel('Keyword terms').fill(w.keywords.terms.join('\n'));
    if (w.keywords.paths) await page.getByLabel('Paths to fetch').fill(w.keywords.paths.join('\n'));
    await page.getByRole('radio', { name: w.keywords.match === 'all' ? /^All terms/ : /^Any term/ }).check();
  }
  await shots.take('wizard-4-keywords');
  await page.getByRole('button', { name: 'Next' }).click();

  await expect(page.getByRole('heading', { name: 'Step 5 of 5: Execution mode' })).toBeVisible();
  await page.getByRole('radio', { name: new RegExp(`^${w.mode}`) }).check();
  await shots.take('wizard-5-mode');
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function phaseRow(page: Page, phase: string) {
  return page.getByRole('row', { name: `${phase} phase` });
}
