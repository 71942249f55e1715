/**
 * One WebSocket per signed-in session: `?token=<JWT>` auth, subscribe/unsubscribe with
 * reference counting, re-subscription after reconnect, exponential backoff with jitter,
 * and de-duplication of at-least-once events by per-campaign version.
 */
import type { CampaignEvent, CampaignStatus, ControlMessage } from '../api/types';
import { backoffDelay, type BackoffOptions } from '../lib/backoff';
import { VersionGate, eventKey } from './apply';

export type ConnState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export const RECONNECT: BackoffOptions = { baseMs: 500, maxMs: 15_000, factor: 2, jitter: 'equal' };

type Waiter = { resolve: (s?: CampaignStatus) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> };

export interface RealtimeOptions {
  url: string;
  token: string;
  WebSocketImpl?: typeof WebSocket;
  backoff?: BackoffOptions;
  pingIntervalMs?: number;
}

export function socketUrl(base: string, token: string): string {
  const u = new URL(base);
  if (!u.pathname) u.pathname = '/';
  u.searchParams.set('token', token);
  return u.toString();
}

export class RealtimeClient {
  private ws: WebSocket | null = null;
  private state: ConnState = 'connecting';
  private attempt = 0;
  private stopped = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private readonly subs = new Map<string, number>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly gate = new VersionGate();
  private readonly eventListeners = new Set<(ev: CampaignEvent) => void>();
  private readonly statusListeners = new Set<(id: string, s: CampaignStatus) => void>();
  private readonly stateListeners = new Set<(s: ConnState) => void>();
  private readonly opts: RealtimeOptions;

  constructor(opts: RealtimeOptions) {
    this.opts = opts;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.ws?.close(1000, 'bye');
    this.ws = null;
    this.setState('closed');
    for (const [, ws] of this.waiters) for (const w of ws) w.reject(new Error('closed'));
    this.waiters.clear();
  }

  getState(): ConnState {
    return this.state;
  }

  onEvent(fn: (ev: CampaignEvent) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  /** Status snapshots from `subscribed` answers (sent again after every reconnect). */
  onStatus(fn: (id: string, s: CampaignStatus) => void): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  onState(fn: (s: ConnState) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Resolves true once the socket is open (at once if it is), false after `timeoutMs`. */
  whenOpen(timeoutMs: number): Promise<boolean> {
    if (this.state === 'open') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(false);
      }, timeoutMs);
      const off = this.onState((s) => {
        if (s !== 'open') return;
        clearTimeout(timer);
        off();
        resolve(true);
      });
    });
  }

  /**
   * Adds a subscription (ref-counted) and resolves on the server's `subscribed` answer
   * (rejects after `timeoutMs`; the subscription itself stays and is retried on reconnect).
   */
  subscribe(campaignId: string, timeoutMs = 5000): Promise<CampaignStatus | undefined> {
    this.subs.set(campaignId, (this.subs.get(campaignId) ?? 0) + 1);
    const p = new Promise<CampaignStatus | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.dropWaiter(campaignId, w);
        reject(new Error(`no subscribe answer for ${campaignId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const w: Waiter = { resolve, reject, timer };
      this.waiters.set(campaignId, [...(this.waiters.get(campaignId) ?? []), w]);
    });
    this.send({ action: 'subscribe', campaignId });
    return p;
  }

  unsubscribe(campaignId: string): void {
    const n = (this.subs.get(campaignId) ?? 0) - 1;
    if (n > 0) {
      this.subs.set(campaignId, n);
      return;
    }
    this.subs.delete(campaignId);
    this.send({ action: 'unsubscribe', campaignId });
  }

  private dropWaiter(id: string, w: Waiter) {
    const rest = (this.waiters.get(id) ?? []).filter((x) => x !== w);
    if (rest.length) this.waiters.set(id, rest);
    else this.waiters.delete(id);
  }

  private send(msg: unknown): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(msg));
  }

  private setState(s: ConnState) {
    if (this.state === s) return;
    this.state = s;
    for (const fn of this.stateListeners) fn(s);
  }

  private open(): void {
    if (this.stopped) return;
    const WS = this.opts.WebSocketImpl ?? WebSocket;
    let ws: WebSocket;
    try {
      ws = new WS(socketUrl(this.opts.url, this.opts.token));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.setState('open');
      for (const id of this.subs.keys()) this.send({ action: 'subscribe', campaignId: id });
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ action: 'ping' }), this.opts.pingIntervalMs ?? 60_000);
    };
    ws.onmessage = (m) => {
      if (this.ws !== ws) return;
      // The connection really works: start the next backoff sequence from scratch.
      this.attempt = 0;
      let msg: unknown;
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      this.handle(msg as ControlMessage | CampaignEvent);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    this.setState('reconnecting');
    const delay = backoffDelay(this.attempt++, this.opts.backoff ?? RECONNECT);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  private handle(msg: ControlMessage | CampaignEvent): void {
    switch (msg.type) {
      case 'subscribed': {
        const ws = this.waiters.get(msg.campaignId) ?? [];
        this.waiters.delete(msg.campaignId);
        if (msg.status) {
          this.gate.observe(msg.campaignId, msg.status.version);
          for (const fn of this.statusListeners) fn(msg.campaignId, msg.status);
        }
        for (const w of ws) {
          clearTimeout(w.timer);
          w.resolve(msg.status);
        }
        return;
      }
      case 'unsubscribed':
      case 'pong':
        return;
      case 'error': {
        const id = msg.campaignId;
        if (id && this.waiters.has(id)) {
          for (const w of this.waiters.get(id) ?? []) {
            clearTimeout(w.timer);
            w.reject(new Error(`${msg.code}: ${msg.message}`));
          }
          this.waiters.delete(id);
        }
        return;
      }
      default: {
        const ev = msg as CampaignEvent;
        if (!ev.campaignId || typeof ev.version !== 'number') return;
        if (!this.gate.accept(ev.campaignId, ev.version, eventKey(ev))) return;
        for (const fn of this.eventListeners) fn(ev);
      }
    }
  }
}
