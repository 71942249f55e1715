import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RealtimeClient, socketUrl } from './socket';

class FakeWS {
  static all: FakeWS[] = [];
  readyState = 0;
  sent: unknown[] = [];
  url: string;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(url: string) {
    this.url = url;
    FakeWS.all.push(this);
  }
  send(s: string) {
    this.sent.push(JSON.parse(s));
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  // test helpers
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  recv(m: unknown) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.();
  }
}

const last = () => FakeWS.all[FakeWS.all.length - 1];

describe('RealtimeClient', () => {
  beforeEach(() => {
    FakeWS.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  const make = () =>
    new RealtimeClient({
      url: 'ws://127.0.0.1:3001',
      token: 'T.K.N',
      WebSocketImpl: FakeWS as unknown as typeof WebSocket,
      backoff: { baseMs: 100, maxMs: 1000, jitter: 'none' },
    });

  it('puts the token in the query string', () => {
    expect(socketUrl('ws://127.0.0.1:3001', 'a.b.c')).toBe('ws://127.0.0.1:3001/?token=a.b.c');
    expect(socketUrl('wss://x.execute-api.eu-west-1.amazonaws.com/prod', 't')).toBe('wss://x.execute-api.eu-west-1.amazonaws.com/prod?token=t');
  });

  it('subscribes once open and resolves on the answer', async () => {
    const rt = make();
    rt.start();
    const p = rt.subscribe('*');
    expect(last().sent).toEqual([]); // not open yet
    last().open();
    expect(last().sent).toEqual([{ action: 'subscribe', campaignId: '*' }]);
    last().recv({ type: 'subscribed', campaignId: '*' });
    await expect(p).resolves.toBeUndefined();
    expect(rt.getState()).toBe('open');
  });

  it('reconnects with exponential backoff and re-subscribes', () => {
    const rt = make();
    const states: string[] = [];
    rt.onState((s) => states.push(s));
    rt.start();
    rt.subscribe('c1').catch(() => {});
    last().open();
    last().recv({ type: 'subscribed', campaignId: 'c1' });
    // connection cut; every reconnect fails before any message → delays grow 100, 200, 400 …
    last().drop();
    expect(FakeWS.all).toHaveLength(1);
    vi.advanceTimersByTime(99);
    expect(FakeWS.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeWS.all).toHaveLength(2);
    last().drop();
    vi.advanceTimersByTime(199);
    expect(FakeWS.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeWS.all).toHaveLength(3);
    last().open(); // opens, but closes before any message: backoff keeps growing
    last().drop();
    vi.advanceTimersByTime(399);
    expect(FakeWS.all).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(FakeWS.all).toHaveLength(4);
    last().open();
    expect(last().sent).toEqual([{ action: 'subscribe', campaignId: 'c1' }]);
    last().recv({ type: 'subscribed', campaignId: 'c1' }); // healthy again → backoff resets
    last().drop();
    vi.advanceTimersByTime(100);
    expect(FakeWS.all).toHaveLength(5);
    expect(states).toContain('reconnecting');
    rt.stop();
    expect(rt.getState()).toBe('closed');
  });

  it('delivers events once, in version order per campaign', () => {
    const rt = make();
    const got: number[] = [];
    rt.onEvent((e) => got.push(e.version));
    rt.start();
    last().open();
    const e = (campaignId: string, version: number) => ({ type: 'phase_progress', campaignId, version, at: '', data: {} });
    for (const m of [e('a', 1), e('a', 2), e('a', 2), e('a', 1), e('b', 1), e('a', 3)]) last().recv(m);
    expect(got).toEqual([1, 2, 1, 3]);
    // two different events of one write (same version) both pass; their duplicates do not
    const sib = { type: 'auto_start_queued', campaignId: 'a', phase: 'validation', version: 3, at: '', data: {} };
    last().recv(sib);
    last().recv(sib);
    expect(got).toEqual([1, 2, 1, 3, 3]);
  });

  it('status from a subscribe answer raises the floor for later events', () => {
    const rt = make();
    const got: number[] = [];
    const statuses: number[] = [];
    rt.onEvent((e) => got.push(e.version));
    rt.onStatus((_id, s) => statuses.push(s.version));
    rt.start();
    rt.subscribe('a').catch(() => {});
    last().open();
    last().recv({ type: 'subscribed', campaignId: 'a', status: { campaignId: 'a', version: 5, phases: [], autoStart: {}, mode: 'step_by_step', updatedAt: '' } });
    last().recv({ type: 'phase_progress', campaignId: 'a', version: 5, at: '', data: {} });
    last().recv({ type: 'phase_progress', campaignId: 'a', version: 6, at: '', data: {} });
    expect(statuses).toEqual([5]);
    expect(got).toEqual([6]);
  });

  it('rejects a subscription the server refuses, and times out without an answer', async () => {
    const rt = make();
    rt.start();
    last().open();
    const refused = rt.subscribe('nope');
    last().recv({ type: 'error', code: 'NOT_FOUND', message: 'no such campaign', campaignId: 'nope' });
    await expect(refused).rejects.toThrow('NOT_FOUND');
    const silent = rt.subscribe('x', 1000);
    vi.advanceTimersByTime(1000);
    await expect(silent).rejects.toThrow('no subscribe answer');
  });

  it('ref-counts subscriptions', () => {
    const rt = make();
    rt.start();
    last().open();
    rt.subscribe('*').catch(() => {});
    rt.subscribe('*').catch(() => {});
    rt.unsubscribe('*');
    expect(last().sent).not.toContainEqual({ action: 'unsubscribe', campaignId: '*' });
    rt.unsubscribe('*');
    expect(last().sent).toContainEqual({ action: 'unsubscribe', campaignId: '*' });
  });
});

describe('RealtimeClient.whenOpen', () => {
  beforeEach(() => {
    FakeWS.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('resolves true on open, false on timeout', async () => {
    const rt = new RealtimeClient({ url: 'ws://h:1', token: 't', WebSocketImpl: FakeWS as unknown as typeof WebSocket });
    rt.start();
    const late = rt.whenOpen(1000);
    vi.advanceTimersByTime(1000);
    await expect(late).resolves.toBe(false);
    const soon = rt.whenOpen(1000);
    FakeWS.all[FakeWS.all.length - 1].open();
    await expect(soon).resolves.toBe(true);
    await expect(rt.whenOpen(0)).resolves.toBe(true);
  });
});
