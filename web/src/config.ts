/** Runtime configuration, read from /config.json beside index.html (one build, any stack). */
export interface AppConfig {
  apiUrl: string;
  wsUrl: string;
  /** Show the dev sign-in through POST /_local/token (local stack only). */
  localAuth: boolean;
  /** No event for this long → poll /status (EVENTS.md: 20 s). */
  eventSilenceMs: number;
  /** Poll interval while in the polling fallback. */
  pollIntervalMs: number;
  /** How long the wizard waits for phase_auto_started before its own fallback. */
  autoStartWaitMs: number;
}

export const DEFAULT_CONFIG: AppConfig = {
  apiUrl: 'http://127.0.0.1:3000',
  wsUrl: 'ws://127.0.0.1:3001',
  localAuth: true,
  eventSilenceMs: 20_000,
  pollIntervalMs: 5_000,
  autoStartWaitMs: 5_000,
};

export async function loadConfig(): Promise<AppConfig> {
  try {
    const res = await fetch(new URL('config.json', document.baseURI).toString(), { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const raw = (await res.json()) as Partial<AppConfig>;
    return { ...DEFAULT_CONFIG, ...raw };
  } catch (e) {
    console.warn('config.json not loaded, using local defaults', e);
    return DEFAULT_CONFIG;
  }
}
