/**
 * Phase control and readiness in the browser, against the real local stack: each test
 * asserts what the user must see (badges, buttons, toasts, numbers), then checks the server's
 * data (exact domain lists), never a transient state a fast event may skip.
 */
import { expect, test, type Page, type WebSocketRoute } from '@playwright/test';
import { Api, Shots, Stall, WS_HOST, discovery, fillWizard, phaseRow, signIn, uniqueUser } from './support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls /status until the phase is `status` and its `done` has not moved for 2 s. */
async function settled(api: Api, id: string, status: string, phase = 'discovery'): Promise<number> {
  let done = -1;
  await expect
    .poll(
      async () => {
        const a = await api.progress(id, phase);
        await sleep(2000);
        const b = await api.progress(id, phase);
        done = b.done;
        return a.status === status && b.status === status && a.done === b.done;
      },
      { timeout: 90_000, intervals: [0] },
    )
    .toBe(true);
  return done;
}

function firstDifference(a: string[], b: string[]): string {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `index ${i}: ${a[i]} vs ${b[i]} (lengths ${a.length}, ${b.length})`;
  return 'none';
}

const toast = (page: Page, text: string) => page.getByRole('status').filter({ hasText: text });
/** What follows a click on a phase control (its answer, its toast) on a loaded stack. */
const ANSWER = { timeout: 60_000 };

test('Pause and resume: nothing runs while paused, and the resumed phase ends with exactly the domains of an uninterrupted run', async ({ page, request }, info) => {
  test.setTimeout(600_000);
  const shots = new Shots(page, info);
  const user = uniqueUser('pause');
  const api = await Api.forUser(request, user);
  const N = 10_000;
  const config = { discovery: discovery(N, 5) };
  const c = await api.createCampaign('Pause and resume', config);
  // The reference run belongs to another user, so its writes never meet this user's quota counters.
  const refApi = await Api.forUser(request, `${user}-ref`);
  const reference = await refApi.createCampaign('Uninterrupted reference', config);

  // It runs three chunks, then waits (a lost message) until the user pauses it.
  const stall = await Stall.after(request, c.id, 3);

  await signIn(page, api, user);
  await page.goto(`/#/campaigns/${c.id}`);
  await expect(page.getByRole('heading', { name: 'Pause and resume' })).toBeVisible();
  const row = phaseRow(page, 'discovery');
  const bar = row.getByRole('progressbar', { name: 'discovery progress' });
  // The reference starts first: a request between the click and its toast (shown 8 s) could
  // outlast the toast on a loaded machine.
  expect((await refApi.phase(reference.id, 'discovery', 'start')).status).toBe(202);
  await row.getByRole('button', { name: 'Start discovery' }).click();
  await expect(toast(page, 'Discovery started')).toBeVisible(ANSWER);
  await expect.poll(() => stall.lost(), ANSWER).toBeGreaterThan(0);
  await expect(row.getByText('Running', { exact: true })).toBeVisible();
  await expect(bar).not.toHaveAttribute('aria-valuenow', '0', ANSWER);
  await shots.take('running');

  await row.getByRole('button', { name: 'Pause discovery' }).click();
  await expect(toast(page, 'Discovery paused')).toBeVisible(ANSWER);
  await stall.release();
  await expect(row.getByText('Paused', { exact: true })).toBeVisible();
  await expect(row.getByRole('button', { name: 'Resume discovery' })).toBeEnabled();
  await expect(row.getByRole('button', { name: 'Stop discovery' })).toBeEnabled();
  await expect(row.getByRole('button', { name: 'Pause discovery' })).toHaveCount(0);

  // The chunk in flight when it paused may still land; after that nothing moves.
  const at = await settled(api, c.id, 'paused');
  expect(at, 'paused after some chunks, before the end').toBeGreaterThan(0);
  expect(at, 'paused before the end').toBeLessThan(N);
  await expect(bar).toHaveAttribute('aria-valuenow', String(at));
  await page.waitForTimeout(4000);
  expect(await api.progress(c.id)).toEqual({ status: 'paused', done: at, total: N });
  await expect(bar).toHaveAttribute('aria-valuenow', String(at));
  await expect(row.getByText('Paused', { exact: true })).toBeVisible();
  await shots.take('paused');

  await row.getByRole('button', { name: 'Resume discovery' }).click();
  await expect(toast(page, 'Discovery resumed')).toBeVisible(ANSWER);
  await expect(row.getByText('Completed', { exact: true })).toBeVisible({ timeout: 300_000 });
  await expect(bar).toHaveAttribute('aria-valuenow', String(N));
  await expect(row.getByRole('button')).toHaveCount(0);
  await shots.take('completed');

  await expect.poll(async () => (await refApi.progress(reference.id)).status, { timeout: 300_000 }).toBe('completed');
  const [resumed, uninterrupted] = await Promise.all([api.allDomains(c.id), refApi.allDomains(reference.id)]);
  expect(resumed.length).toBe(N);
  expect(new Set(resumed).size, 'no domain twice').toBe(N);
  expect(resumed.every((d) => /^[a-j]{5}shop\.(com|net)$/.test(d))).toBe(true);
  expect(firstDifference(resumed, uninterrupted), 'same output as an uninterrupted run').toBe('none');
});

test('Pause, stop and start again; a tab that missed the events gets a clear 409 and shows the current state', async ({ page, context, request }, info) => {
  test.setTimeout(600_000);
  const shots = new Shots(page, info);
  const user = uniqueUser('stop');
  const api = await Api.forUser(request, user);
  const N = 10_000;
  const c = await api.createCampaign('Stop and start again', { discovery: discovery(N, 5) });
  // It runs three chunks, then waits (a lost message) until the user pauses it.
  const stall = await Stall.after(request, c.id, 3);

  await signIn(page, api, user);
  await page.goto(`/#/campaigns/${c.id}`);
  const row = phaseRow(page, 'discovery');
  const bar = row.getByRole('progressbar', { name: 'discovery progress' });
  await row.getByRole('button', { name: 'Start discovery' }).click();
  await expect(toast(page, 'Discovery started')).toBeVisible(ANSWER);
  await expect.poll(() => stall.lost(), ANSWER).toBeGreaterThan(0);
  await expect(bar).not.toHaveAttribute('aria-valuenow', '0', ANSWER);
  await row.getByRole('button', { name: 'Pause discovery' }).click();
  await expect(row.getByText('Paused', { exact: true })).toBeVisible(ANSWER);
  await stall.release();

  // A second tab opens on the paused campaign and then hears no phase event (and never falls
  // back to polling): it keeps showing what it read.
  const stale = await context.newPage();
  let staleSubscribed = false;
  await stale.route('**/config.json', async (route) => {
    const res = await route.fetch();
    await route.fulfill({ response: res, json: { ...(await res.json()), eventSilenceMs: 3_600_000 } });
  });
  await stale.routeWebSocket(
    (url) => url.host === WS_HOST,
    (ws: WebSocketRoute) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => server.send(m));
      server.onMessage((m) => {
        let type = '';
        try {
          type = JSON.parse(String(m)).type ?? '';
        } catch {
          /* not JSON: pass it on */
        }
        if (type === 'subscribed') staleSubscribed = true;
        if (!/^(phase_|auto_start_)/.test(type)) ws.send(m);
      });
    },
  );
  await signIn(stale, api, user);
  await stale.goto(`/#/campaigns/${c.id}`);
  const staleRow = phaseRow(stale, 'discovery');
  await expect(staleRow.getByText('Paused', { exact: true })).toBeVisible();
  await expect(staleRow.getByRole('button', { name: 'Resume discovery' })).toBeEnabled();
  // Its subscription answered before the stop: a `subscribed` snapshot read after the stop (a
  // slow subscribe on a loaded machine) would rightly show Stopped and this tab would not be stale.
  await expect.poll(() => staleSubscribed, ANSWER).toBe(true);

  await row.getByRole('button', { name: 'Stop discovery' }).click();
  await expect(toast(page, 'Discovery stopped')).toBeVisible(ANSWER);
  await expect(row.getByText('Stopped', { exact: true })).toBeVisible();
  await expect(row.getByRole('button', { name: 'Start discovery again' })).toBeEnabled();
  await expect(phaseRow(page, 'validation').getByRole('button')).toHaveCount(0); // no auto-advance, no start
  const kept = await settled(api, c.id, 'stopped');
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThan(N);
  await expect(bar).toHaveAttribute('aria-valuenow', String(kept));
  await expect(page.getByRole('list', { name: 'Domains' }).getByRole('listitem').first()).toHaveText(/^[a-j]{5}shop\.(com|net)$/);
  await shots.take('stopped');

  // The stale tab still shows Paused; its Resume is refused, explained, and the page catches up.
  await expect(staleRow.getByText('Paused', { exact: true })).toBeVisible();
  await staleRow.getByRole('button', { name: 'Resume discovery' }).click();
  await expect(stale.getByRole('alert').filter({ hasText: 'Could not resume discovery: it is not paused any more' })).toBeVisible(ANSWER);
  await expect(staleRow.getByText('Stopped', { exact: true })).toBeVisible();
  await expect(staleRow.getByRole('button', { name: 'Start discovery again' })).toBeVisible();
  await stale.screenshot({ path: info.outputPath('stale-tab.png') });
  await stale.close();

  await row.getByRole('button', { name: 'Start discovery again' }).click();
  await expect(toast(page, 'Discovery started again')).toBeVisible(ANSWER);
  await expect(row.getByText('Completed', { exact: true })).toBeVisible({ timeout: 300_000 });
  await expect(bar).toHaveAttribute('aria-valuenow', String(N));
  await shots.take('completed-after-restart');
  const all = await api.allDomains(c.id);
  expect(all.length, 'the first run’s output was replaced, not added to').toBe(N);
  expect(new Set(all).size).toBe(N);
});

test('Readiness: the mode step warns that Full Auto will stop before validation, and the campaign page says what it needs', async ({ page, request }, info) => {
  test.setTimeout(180_000);
  const shots = new Shots(page, info);
  const user = uniqueUser('ready');
  const api = await Api.forUser(request, user);
  await signIn(page, api, user);
  await fillWizard(page, shots, { name: 'No DNS persona', mode: 'Full Auto' });
  const warning = page.getByRole('status', { name: 'Full Auto readiness' });
  await expect(warning).toContainText('Full Auto will stop before validation: no DNS persona selected (step 3).');
  await page.getByRole('radio', { name: /^Manual/ }).check();
  await expect(warning).toHaveCount(0);
  await page.getByRole('radio', { name: /^Full Auto/ }).check();
  await expect(warning).toBeVisible();
  await shots.take('mode-step-warning');
  await page.getByRole('button', { name: 'Create campaign' }).click();
  await expect(toast(page, 'Campaign Created & Started')).toBeVisible(ANSWER);

  const readiness = page.getByRole('region', { name: 'Readiness' });
  const validation = readiness.getByRole('listitem', { name: 'validation readiness' });
  await expect(validation).toContainText('needs');
  await expect(validation.getByText('config.personaIds')).toBeVisible();
  await shots.take('campaign-readiness');

  // Full Auto stops there, visibly.
  await expect(phaseRow(page, 'discovery').getByText('Completed', { exact: true })).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole('alert').filter({ hasText: /^Auto-start of validation failed: / })).toBeVisible();
  const vRow = phaseRow(page, 'validation');
  await expect(vRow.getByText('Not started', { exact: true })).toBeVisible();
  await vRow.getByRole('button', { name: 'Start validation' }).click();
  // Beside the button (the toast says it too).
  const why = page.getByRole('region', { name: 'Phases' }).getByRole('alert').filter({ hasText: 'Could not start validation: INVALID_CONFIG' });
  await expect(why).toBeVisible(ANSWER);
  await expect(why.getByText('config.personaIds')).toBeVisible();
  await expect(vRow.getByRole('button', { name: 'Start validation' })).toHaveAttribute('aria-describedby', 'phase-validation-error');
  await shots.take('start-refused-with-details');

  // Fixed on the page: personas change between phases; readiness follows; validation starts.
  await api.createPersona('dns-later');
  const resources = page.getByRole('region', { name: 'Personas & proxies' });
  await resources.getByRole('button', { name: 'Change personas & proxies' }).click();
  await resources.getByRole('checkbox', { name: /dns-later/ }).check();
  await resources.getByRole('button', { name: 'Save personas & proxies' }).click();
  await expect(toast(page, 'Personas and proxies saved')).toBeVisible(ANSWER);
  await expect(resources.getByText('dns-later (DNS)')).toBeVisible();
  await expect(validation).toContainText('ready to start');
  await shots.take('persona-added');
  await vRow.getByRole('button', { name: 'Start validation' }).click();
  await expect(toast(page, 'Validation started')).toBeVisible(ANSWER);
  await expect(vRow.getByText(/^(Running|Completed)$/)).toBeVisible();
  await expect(page.getByRole('region', { name: 'Phases' }).getByRole('alert')).toHaveCount(0);
  await expect(vRow.getByText('Completed', { exact: true })).toBeVisible({ timeout: 120_000 });
  await expect(page.getByRole('table', { name: 'Domain results' }).getByRole('row')).toHaveCount(26); // header + a page of 25
  await shots.take('validation-completed');
});
