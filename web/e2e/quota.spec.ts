/**
 * 429 QUOTA_EXCEEDED in the browser: a start over the daily domain quota. The user is the
 * test's own, so its counters are too; the refused start changes nothing on the stack
 * (tests/tests/quotas.rs checks that the stream flows on after it).
 */
import { expect, test } from '@playwright/test';
import { Api, Shots, discovery, phaseRow, signIn, uniqueUser } from './support';

/** What follows a click (its answer) on a loaded stack. */
const ANSWER = { timeout: 60_000 };

test('Quota: a start over the daily domain quota says which quota and when to retry, beside its button', async ({ page, request }, info) => {
  test.setTimeout(180_000);
  const shots = new Shots(page, info);
  const user = uniqueUser('quota');
  const api = await Api.forUser(request, user);
  // Two starts of 1,000,000 domains use the default daily quota (2,000,000); stop them at once.
  for (const name of ['Quota A', 'Quota B']) {
    const big = await api.createCampaign(name, { discovery: discovery(1_000_000, 6) });
    expect((await api.phase(big.id, 'discovery', 'start')).status).toBe(202);
    expect((await api.phase(big.id, 'discovery', 'stop')).status).toBe(202);
  }
  const c = await api.createCampaign('Over the quota', { discovery: discovery(100) });
  // Until the backend enforces quotas (issue 17) there is nothing to show: skip, visibly.
  const probe = await api.createCampaign('Quota probe', { discovery: discovery(100) });
  const probed = await api.phase(probe.id, 'discovery', 'start');
  test.skip(probed.status === 202, 'the backend enforces no daily domain quota yet (429 QUOTA_EXCEEDED, issue 17)');
  expect(probed.status, JSON.stringify(probed.body)).toBe(429);

  await signIn(page, api, user);
  await page.goto(`/#/campaigns/${c.id}`);
  const row = phaseRow(page, 'discovery');
  await row.getByRole('button', { name: 'Start discovery' }).click();
  const message = page.getByRole('region', { name: 'Phases' }).getByRole('alert').filter({ hasText: 'Could not start discovery. Quota reached — ' });
  await expect(message).toBeVisible(ANSWER);
  await expect(message).toContainText(/Try again in \d+ (s|min|h)/);
  await expect(row.getByRole('button', { name: 'Start discovery' })).toHaveAttribute('aria-describedby', 'phase-discovery-error');
  await expect(row.getByText('Not started', { exact: true })).toBeVisible();
  await shots.take('quota');
});
