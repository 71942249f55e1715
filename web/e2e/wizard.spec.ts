import { expect, test, type WebSocketRoute } from '@playwright/test';
import {
  API,
  Api,
  CAMPAIGN_URL,
  Shots,
  TOAST,
  WS_HOST,
  describeTraffic,
  discovery,
  fillWizard,
  phaseRow,
  recordTraffic,
  recordUi,
  signIn,
  uiLog,
  uniqueUser,
} from './support';

test('Sign-in: dev sign-in through /_local/token, a pasted token, sign-out', async ({ page, request }, info) => {
  const shots = new Shots(page, info);
  const user = uniqueUser('signin');
  const api = await Api.forUser(request, user);
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await shots.take('sign-in-page');
  // A pasted token that is not a JWT is refused on its field.
  await page.getByLabel('Access token (JWT)').fill('not-a-token');
  await page.getByRole('button', { name: 'Use token' }).click();
  await expect(page.getByLabel('Access token (JWT)')).toHaveAttribute('aria-invalid', 'true');
  await signIn(page, api, user, 'token');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  // The dev sign-in form calls POST /_local/token from the browser (needs CORS on that route).
  await signIn(page, api, user, 'dev');
  await shots.take('signed-in');
});

test('Full Auto: subscribes before it creates, and discovery starts automatically', async ({ page, request }, info) => {
  const shots = new Shots(page, info);
  const user = uniqueUser('auto');
  const api = await Api.forUser(request, user);
  await api.createPersona('dns-main');
  await api.createProxy('http://127.0.0.1:3128');
  await recordUi(page);
  const traffic = recordTraffic(page);

  await signIn(page, api, user);
  await shots.take('signed-in');
  await fillWizard(page, shots, { name: 'Auto happy path', personas: ['dns-main'], proxies: ['http://127.0.0.1:3128'], mode: 'Full Auto' });
  await expect(page.getByText('Discovery starts as soon as the campaign is created')).toBeVisible();

  const mark = traffic.length;
  await page.getByRole('button', { name: 'Create campaign' }).click();

  await expect(page.getByRole('status').filter({ hasText: TOAST.started })).toBeVisible({ timeout: 45_000 });
  await expect(page).toHaveURL(CAMPAIGN_URL);
  const id = CAMPAIGN_URL.exec(page.url())![1];
  await expect(page.getByText('Started automatically')).toBeVisible();
  await expect(page.getByTestId('correlation-id')).not.toBeEmpty();
  await shots.take('campaign-started');

  // Live progress to completion, then the domains list.
  const discoveryRow = phaseRow(page, 'discovery');
  await expect(discoveryRow.getByText('Completed')).toBeVisible({ timeout: 60_000 });
  await expect(discoveryRow.getByRole('progressbar', { name: 'discovery progress' })).toHaveAttribute('aria-valuenow', '120');
  await expect(discoveryRow.getByText('Auto', { exact: true })).toBeVisible();
  const domains = page.getByRole('list', { name: 'Domains' });
  await expect(domains.getByRole('listitem')).toHaveCount(25);
  await expect(domains).toHaveAttribute('aria-busy', 'false');
  const firstOnPage1 = await domains.getByRole('listitem').first().textContent();
  await page.getByRole('button', { name: 'Next page' }).click();
  await expect(page.getByText('Page 2')).toBeVisible();
  await expect(domains).toHaveAttribute('aria-busy', 'false');
  await expect(domains.getByRole('listitem').first()).not.toHaveText(firstOnPage1!);
  await expect(domains.getByRole('listitem').first()).toHaveText(/^[a-j]{3}shop\.(com|net)$/);
  await page.getByRole('button', { name: 'Previous page' }).click();
  await expect(domains.getByRole('listitem').first()).toHaveText(firstOnPage1!);
  await shots.take('campaign-completed');

  // Loading states, in order.
  const ui = await uiLog(page);
  // What the user must see: the button disabled as "Creating..." from the click on, then the
  // started toast. "Starting Campaign..." shows only while the event is still on its way: when it
  // arrives with the 201, React renders both updates at once and that state is never painted
  // (the loading-states test below delays the event to see it), so it is allowed, not required.
  const order = ['button: Creating... (disabled)', 'button: Starting Campaign... (disabled)', `toast: ${TOAST.started}`];
  const seen = ui.filter((l) => order.includes(l));
  expect(seen[0], ui.join('\n')).toBe(order[0]);
  expect(seen[seen.length - 1], ui.join('\n')).toBe(order[2]);
  expect(seen.filter((l) => l !== order[1]), ui.join('\n')).toEqual([order[0], order[2]]);

  // The API call order: subscribe * (and its answer) → POST /campaigns → phase_auto_started → GET campaign.
  const t = traffic.slice(mark);
  const names = describeTraffic(t);
  const iSub = t.findIndex((e) => e.kind === 'ws-out' && e.msg?.action === 'subscribe' && e.msg?.campaignId === '*');
  const iAck = t.findIndex((e) => e.kind === 'ws-in' && e.msg?.type === 'subscribed' && e.msg?.campaignId === '*');
  const iPost = t.findIndex((e) => e.kind === 'http' && e.method === 'POST' && e.path === '/campaigns');
  const iEvent = t.findIndex((e) => e.kind === 'ws-in' && e.msg?.type === 'phase_auto_started' && e.msg?.campaignId === id);
  const iGet = t.findIndex((e) => e.kind === 'http' && e.method === 'GET' && e.path === `/campaigns/${id}`);
  expect(iSub, names.join('\n')).toBeGreaterThanOrEqual(0);
  expect(iSub, names.join('\n')).toBeLessThan(iAck);
  expect(iAck, names.join('\n')).toBeLessThan(iPost);
  expect(iPost, names.join('\n')).toBeLessThan(iEvent);
  expect(iEvent, names.join('\n')).toBeLessThan(iGet);
  const post = t[iPost];
  expect(post.headers?.['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
  expect(post.body).toMatchObject({ name: 'Auto happy path', mode: 'full_sequence', config: { discovery: discovery(120) } });
  // The server did the start: the client neither switched the mode nor called start itself.
  expect(names.filter((n) => /PUT .*\/mode|POST .*\/phases\/.*\/start/.test(n)), names.join('\n')).toEqual([]);
  expect(names.filter((n) => n === 'POST /campaigns')).toHaveLength(1);

  // (autoStart may already describe the next phase in Full Auto; discovery's trigger is what counts.)
  const c = await api.campaign(id);
  expect(c.phases.find((p: { phase: string }) => p.phase === 'discovery').trigger).toBe('auto');
  expect(t[iEvent].msg.data.attempts).toBeGreaterThanOrEqual(1);
});

test('Full Auto with a disabled proxy: auto-start fails gracefully, then a manual start recovers', async ({ page, request }, info) => {
  const shots = new Shots(page, info);
  const user = uniqueUser('fail');
  const api = await Api.forUser(request, user);
  await recordUi(page);
  const traffic = recordTraffic(page);
  await signIn(page, api, user);

  // Personas page: create, disable, enable.
  await page.getByRole('link', { name: 'Personas' }).click();
  await page.getByLabel('Persona name').fill('dns-recovery');
  await page.getByLabel('Kind').selectOption('dns');
  await page.getByRole('button', { name: 'Create persona' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Persona “dns-recovery” created' })).toBeVisible();
  await page.getByRole('button', { name: 'Disable persona dns-recovery' }).click();
  await expect(page.getByRole('button', { name: 'Enable persona dns-recovery' })).toBeVisible();
  await page.getByRole('button', { name: 'Enable persona dns-recovery' }).click();
  await expect(page.getByRole('button', { name: 'Disable persona dns-recovery' })).toBeVisible();
  await shots.take('personas');

  // Proxies page: add a disabled proxy.
  const address = 'http://127.0.0.1:3999';
  await page.getByRole('link', { name: 'Proxies' }).click();
  await page.getByLabel('Proxy address').fill(address);
  await page.getByRole('checkbox', { name: 'Enabled' }).uncheck();
  await page.getByRole('button', { name: 'Add proxy' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Proxy ${address} added` })).toBeVisible();
  await expect(page.getByRole('button', { name: `Enable proxy ${address}` })).toBeVisible();
  await shots.take('proxies-disabled');

  await fillWizard(page, shots, { name: 'Auto with disabled proxy', personas: ['dns-recovery'], proxies: [address], mode: 'Full Auto' });
  // The mode step already says where Full Auto will stop.
  await expect(page.getByRole('status', { name: 'Full Auto readiness' })).toContainText(`Full Auto will stop before discovery: the proxy ${address} is disabled.`);
  await page.getByRole('button', { name: 'Create campaign' }).click();

  await expect(page.getByRole('alert').filter({ hasText: TOAST.autoStartFailed })).toBeVisible({ timeout: 45_000 });
  await expect(page).toHaveURL(CAMPAIGN_URL);
  const id = CAMPAIGN_URL.exec(page.url())![1];
  const startButton = page.getByRole('button', { name: 'Start discovery' });
  await expect(startButton).toBeVisible();
  await expect(page.getByRole('alert').filter({ hasText: /^Auto-start of discovery failed: / })).toBeVisible();
  await expect(page.getByText('Started automatically')).toHaveCount(0);
  await expect(phaseRow(page, 'discovery').getByText('Not started')).toBeVisible();
  await shots.take('auto-start-failed');

  const ui = await uiLog(page);
  // The button was disabled from the click on ("Starting Campaign..." may be skipped when the
  // failure event arrives with the 201: see the first test) and no started toast ever showed.
  expect(ui, ui.join('\n')).toContain('button: Creating... (disabled)');
  expect(ui.filter((l) => l.startsWith('button: ') && !l.endsWith('(disabled)') && l !== 'button: Create campaign' && l !== 'button: Next'), ui.join('\n')).toEqual([]);
  expect(ui, ui.join('\n')).not.toContain(`toast: ${TOAST.started}`);
  expect(traffic.some((e) => e.kind === 'ws-in' && e.msg?.type === 'auto_start_failed' && e.msg?.campaignId === id), describeTraffic(traffic).join('\n')).toBe(true);
  const failed = await api.status(id);
  expect(failed.autoStart.status).toBe('failed');
  expect(failed.phases.find((p: { phase: string }) => p.phase === 'discovery').status).toBe('not_started');

  // Recovery: enable the proxy, come back, start discovery by hand.
  await page.getByRole('link', { name: 'Proxies' }).first().click();
  await page.getByRole('button', { name: `Enable proxy ${address}` }).click();
  await expect(page.getByRole('status').filter({ hasText: `Proxy ${address} enabled` })).toBeVisible();
  await shots.take('proxy-enabled');
  await page.getByRole('link', { name: 'Campaigns' }).first().click();
  await page.getByRole('link', { name: 'Auto with disabled proxy' }).click();
  await expect(page).toHaveURL(new RegExp(`#/campaigns/${id}$`));
  await page.getByRole('button', { name: 'Start discovery' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Discovery started' })).toBeVisible();
  const row = phaseRow(page, 'discovery');
  await expect(row.getByText('Completed')).toBeVisible({ timeout: 60_000 });
  await expect(row.getByText('Manual', { exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Start discovery' })).toHaveCount(0);
  await shots.take('recovered');
});

test('Manual: creates the campaign and starts nothing by itself', async ({ page, request }, info) => {
  const shots = new Shots(page, info);
  const user = uniqueUser('manual');
  const api = await Api.forUser(request, user);
  await recordUi(page);
  const traffic = recordTraffic(page);
  await signIn(page, api, user);
  await fillWizard(page, shots, { name: 'Manual campaign', mode: 'Manual' });
  await expect(page.getByText('Nothing starts by itself')).toBeVisible();
  await page.getByRole('button', { name: 'Create campaign' }).click();

  await expect(page.getByRole('status').filter({ hasText: TOAST.created })).toBeVisible({ timeout: 45_000 });
  await expect(page).toHaveURL(CAMPAIGN_URL);
  const id = CAMPAIGN_URL.exec(page.url())![1];
  await expect(page.getByRole('button', { name: 'Start discovery' })).toBeVisible();
  await expect(page.getByRole('heading', { name: /Auto-start/ })).toHaveCount(0);
  await shots.take('manual-created');

  // Give a (wrong) auto-start every chance to happen, then check nothing started.
  await page.waitForTimeout(4000);
  await expect(phaseRow(page, 'discovery').getByText('Not started')).toBeVisible();
  const s = await api.status(id);
  expect(s.mode).toBe('step_by_step');
  expect(s.autoStart.status).toBe('not_requested');
  expect(s.phases.every((p: { status: string }) => p.status === 'not_started')).toBe(true);

  const names = describeTraffic(traffic);
  const post = traffic.find((e) => e.kind === 'http' && e.method === 'POST' && e.path === '/campaigns')!;
  expect(post.body.mode).toBe('step_by_step');
  expect(post.headers?.['idempotency-key']).toBeTruthy();
  expect(names.filter((n) => /\/start$|\/mode$/.test(n)), names.join('\n')).toEqual([]);
  expect(traffic.some((e) => e.kind === 'ws-in' && /started$/.test(e.msg?.type ?? '') && e.msg?.campaignId === id)).toBe(false);
  const ui = await uiLog(page);
  expect(ui, ui.join('\n')).toContain('button: Creating... (disabled)');
  expect(ui, ui.join('\n')).not.toContain('button: Starting Campaign... (disabled)');

  // The user starts it.
  await page.getByRole('button', { name: 'Start discovery' }).click();
  await expect(phaseRow(page, 'discovery').getByText('Completed')).toBeVisible({ timeout: 60_000 });
  await expect(phaseRow(page, 'discovery').getByText('Manual', { exact: true })).toBeVisible();
  await shots.take('manual-started-by-user');
});

test('Loading states: the wizard is locked while it creates and starts', async ({ page, request }, info) => {
  const shots = new Shots(page, info);
  const user = uniqueUser('loading');
  const api = await Api.forUser(request, user);
  await recordUi(page);
  // Slow the create down, and hold the auto-start event back, so each state can be seen.
  await page.route(`${API}/campaigns`, async (route) => {
    if (route.request().method() === 'POST') await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await page.routeWebSocket(
    (url) => url.host === WS_HOST,
    (ws: WebSocketRoute) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => server.send(m));
      server.onMessage((m) => {
        if (String(m).includes('"phase_auto_started"')) setTimeout(() => ws.send(m), 1500);
        else ws.send(m);
      });
    },
  );
  await signIn(page, api, user);
  await fillWizard(page, shots, { name: 'Loading states', mode: 'Full Auto' });
  await page.getByRole('button', { name: 'Create campaign' }).click();

  const creating = page.getByRole('button', { name: 'Creating...' });
  await expect(creating).toBeVisible();
  await expect(creating).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Back' })).toBeDisabled();
  await expect(page.getByRole('radio', { name: /^Manual/ })).toBeDisabled();
  await expect(page.getByRole('button', { name: /Name$/ })).toBeDisabled();
  await shots.take('creating');

  const starting = page.getByRole('button', { name: 'Starting Campaign...' });
  await expect(starting).toBeVisible();
  await expect(starting).toBeDisabled();
  await shots.take('starting');

  await expect(page.getByRole('status').filter({ hasText: TOAST.started })).toBeVisible({ timeout: 45_000 });
  await expect(page.getByText('Started automatically')).toBeVisible();
  await shots.take('started-toast');
  const ui = await uiLog(page);
  expect(ui.slice(ui.indexOf('button: Creating... (disabled)')), ui.join('\n')).toEqual(
    expect.arrayContaining(['button: Creating... (disabled)', 'button: Starting Campaign... (disabled)', `toast: ${TOAST.started}`]),
  );
});

test('Double submit: a double click creates exactly one campaign', async ({ page, request }, info) => {
  const shots = new Shots(page, info);
  const user = uniqueUser('double');
  const api = await Api.forUser(request, user);
  const traffic = recordTraffic(page);
  await signIn(page, api, user);
  await fillWizard(page, shots, { name: 'Double click', mode: 'Full Auto' });
  await page.getByRole('button', { name: 'Create campaign' }).dblclick();
  await expect(page.getByRole('status').filter({ hasText: TOAST.started })).toBeVisible({ timeout: 45_000 });
  await expect(page).toHaveURL(CAMPAIGN_URL);
  const id = CAMPAIGN_URL.exec(page.url())![1];
  await shots.take('after-double-click');

  const posts = traffic.filter((e) => e.kind === 'http' && e.method === 'POST' && e.path === '/campaigns');
  expect(new Set(posts.map((p) => p.headers?.['idempotency-key'])).size).toBe(1);
  const list = await api.campaigns();
  expect(list.map((c) => c.id)).toEqual([id]);

  // The server side of the guarantee: the same key and body again give the same campaign.
  const replay = await api.json('POST', '/campaigns', posts[0].body, { 'Idempotency-Key': posts[0].headers!['idempotency-key'] });
  expect(replay.status).toBe(201);
  expect(replay.body.id).toBe(id);
  expect((await api.campaigns()).length).toBe(1);
});

test('WebSocket cut: the campaign page polls /status with an ETag, then goes live again', async ({ page, request }, info) => {
  test.setTimeout(150_000);
  const shots = new Shots(page, info);
  const user = uniqueUser('poll');
  const api = await Api.forUser(request, user);
  const created = await api.json('POST', '/campaigns', { name: 'Polling fallback', mode: 'step_by_step', config: { discovery: discovery(200), personaIds: [], proxyIds: [] } });
  expect(created.status).toBe(201);
  const id = created.body.id as string;

  let cut = false;
  const open = new Set<WebSocketRoute>();
  await page.routeWebSocket(
    (url) => url.host === WS_HOST,
    (ws: WebSocketRoute) => {
      if (cut) {
        ws.close({ code: 1011, reason: 'cut by test' });
        return;
      }
      open.add(ws);
      ws.connectToServer();
      ws.onClose(() => open.delete(ws));
    },
  );
  const polls: { inm?: string; status?: number }[] = [];
  page.on('request', (r) => {
    if (r.url() === `${API}/campaigns/${id}/status`) polls.push({ inm: r.headers()['if-none-match'] });
  });
  page.on('response', (r) => {
    if (r.url() === `${API}/campaigns/${id}/status`) {
      const p = [...polls].reverse().find((x) => x.status === undefined);
      if (p) p.status = r.status();
    }
  });

  await signIn(page, api, user);
  await page.goto(`/#/campaigns/${id}`);
  await expect(page.getByRole('heading', { name: 'Polling fallback' })).toBeVisible();
  await expect(page.getByText('Live updates connected')).toBeVisible();
  await shots.take('live');

  // Cut the WebSocket and keep refusing reconnects.
  cut = true;
  for (const ws of open) await ws.close({ code: 1006, reason: 'cut by test' }).catch(() => {});
  await expect(page.getByText('Live updates disconnected, reconnecting…')).toBeVisible();
  await page.getByRole('button', { name: 'Start discovery' }).click();
  await shots.take('cut-and-started');

  // No events for the silence (8 s in the tests, 20 s for users) → polling; progress and
  // completion now arrive through /status.
  await expect(page.getByText(/Polling status every \d+ s/)).toBeVisible({ timeout: 30_000 });
  await expect(phaseRow(page, 'discovery').getByText('Completed')).toBeVisible({ timeout: 40_000 });
  await expect(phaseRow(page, 'discovery').getByRole('progressbar')).toHaveAttribute('aria-valuenow', '200');
  await shots.take('completed-by-polling');
  await expect.poll(() => polls.filter((p) => p.inm).length, { timeout: 20_000 }).toBeGreaterThan(0);
  await expect.poll(() => polls.some((p) => p.status === 304), { timeout: 20_000, message: JSON.stringify(polls) }).toBe(true);
  expect(polls[0].inm, 'the first poll has no ETag yet').toBeUndefined();

  // Let the reconnect through: live again, polling stops.
  cut = false;
  await expect(page.getByText('Live updates connected')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText(/Polling status every/)).toHaveCount(0);
  const n = polls.length;
  await page.waitForTimeout(6000);
  expect(polls.length, 'no more polling once events resume').toBe(n);
  await shots.take('live-again');
});

test('Wizard: live domain count, client checks and server 422 details on their fields', async ({ page, request }, info) => {
  const shots = new Shots(page, info);
  const user = uniqueUser('errors');
  const api = await Api.forUser(request, user);
  const persona = await api.createPersona('soon-deleted');
  await signIn(page, api, user);

  // Keyboard: type a name and press Enter to move on.
  await page.getByRole('link', { name: 'New campaign' }).first().click();
  await page.getByLabel('Campaign name').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByLabel('Campaign name')).toHaveAttribute('aria-invalid', 'true');
  await page.keyboard.type('Validation');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Step 2 of 5: Discovery settings' })).toBeFocused();

  // Live possible-domain count.
  const count = page.getByTestId('possible-count');
  await page.getByLabel('Constant string').fill('shop');
  await page.getByLabel('Character set').fill('ab-');
  await page.getByLabel('Variable length').fill('2');
  await page.getByLabel('TLDs').fill('.com');
  await expect(count).toHaveText('6'); // [ab][ab-] × 1
  await page.getByLabel('TLDs').fill('com, net, org');
  await expect(count).toHaveText('18');
  await page.getByRole('radio', { name: /^Both/ }).check();
  await expect(count).toHaveText('108'); // ([ab][ab-]) × ([ab-][ab]) × 3
  await page.getByLabel('Number of domains').fill('500');
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByLabel('Number of domains')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByText('The pattern can only produce 108 domains.')).toBeVisible();
  await shots.take('count-and-client-error');
  await page.getByLabel('Number of domains').fill('50');
  await page.getByRole('button', { name: 'Next' }).click();

  await page.getByRole('checkbox', { name: /soon-deleted/ }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  // Keywords: client checks on their fields, then none (optional).
  await expect(page.getByRole('heading', { name: 'Step 4 of 5: Keywords' })).toBeVisible();
  await page.getByLabel('Keyword terms').fill('sale\nSale');
  await page.getByLabel('Paths to fetch').fill('shop');
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByLabel('Keyword terms')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Paths to fetch')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByText('Each term once (terms match case-insensitively): “Sale” repeated.')).toBeVisible();
  await shots.take('keywords-client-errors');
  await page.getByLabel('Keyword terms').fill('');
  await page.getByLabel('Paths to fetch').fill('/');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('radio', { name: /^Manual/ }).check();
  // The persona disappears before the create: only the server can tell.
  expect((await api.json('DELETE', `/personas/${persona.id}`)).status).toBe(204);
  await page.getByRole('button', { name: 'Create campaign' }).click();

  await expect(page.getByRole('alert').filter({ hasText: 'Could not create the campaign: INVALID_CONFIG' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Step 3 of 5: Personas & proxies' })).toBeVisible();
  const group = page.getByRole('group', { name: 'Personas' });
  await expect(group.locator('.field-error')).toBeVisible();
  await expect(group).toHaveAttribute('aria-describedby', 'f-personaIds-error');
  await shots.take('server-422-on-field');
  expect(await api.campaigns()).toEqual([]);
});
