import { defineConfig } from '@playwright/test';

const WEB_URL = process.env.WEB_URL ?? 'http://127.0.0.1:8080';
const webPort = new URL(WEB_URL).port || '80';

/**
 * End-to-end tests against the real local stack (CAMPAIGN_API_URL / CAMPAIGN_WS_URL), driving
 * Debian's /usr/bin/chromium (no browser download). The web app is served by server/serve.mjs
 * unless something already answers at WEB_URL.
 */
export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  outputDir: '../test-results/playwright',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  // Two at a time (each test signs in as its own user): 112 → 92 s on the 2-core machine.
  workers: Number(process.env.E2E_WORKERS ?? 2),
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: WEB_URL,
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    actionTimeout: 15_000,
  },
  webServer: {
    command: 'node server/serve.mjs',
    cwd: '..',
    url: `${WEB_URL}/config.json`,
    reuseExistingServer: true,
    timeout: 20_000,
    env: {
      WEB_PORT: webPort,
      WEB_QUIET: '1',
      CAMPAIGN_API_URL: process.env.CAMPAIGN_API_URL ?? 'http://127.0.0.1:3000',
      CAMPAIGN_WS_URL: process.env.CAMPAIGN_WS_URL ?? 'ws://127.0.0.1:3001',
      // The wizard waits this long for the server's auto-start event before its own fallback
      // (5 s in the app): the tests assert the server started it, also on a loaded machine.
      WEB_AUTOSTART_WAIT_MS: process.env.WEB_AUTOSTART_WAIT_MS ?? '30000',
      // Users get 20 s of silence before the status poll, every 5 s; the polling test waits
      // for both, so the test server shortens them.
      WEB_EVENT_SILENCE_MS: process.env.WEB_EVENT_SILENCE_MS ?? '8000',
      WEB_POLL_INTERVAL_MS: process.env.WEB_POLL_INTERVAL_MS ?? '2000',
    },
  },
});
