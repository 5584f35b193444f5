// End-to-end steps, effectful: what an operator does in the console, written once against a
// Playwright Page so that the same specs drive the renderer in Chromium (`warden console`) and
// in the desktop app (Playwright's Electron support).

import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshot } from './browser.ts';

/** leaderOf reads which node the topology view draws as the leader. */
export async function leaderOf(page: Page): Promise<string | null> {
  const leader = page.locator('[data-testid^="node-"][data-role="leader"]');
  if ((await leader.count()) !== 1) return null;
  const testId = await leader.getAttribute('data-testid');
  return testId ? testId.slice('node-'.length) : null;
}

/** gotoConnections opens the connections view of the console shown in the page. */
export async function gotoConnections(page: Page): Promise<void> {
  await page.goto(new URL('#/', page.url()).toString());
}

/**
 * expectTopology waits until the topology view shows the datacenters, the node count and one
 * leader, named in the status bar too, with measured RTTs on every link between datacenters.
 */
export async function expectTopology(page: Page, datacenters: readonly string[], nodes: number): Promise<string> {
  for (const dc of datacenters) await expect.poll(() => page.getByTestId(`dc-${dc}`).count(), { timeout: 60_000 }).toBe(1);
  await expect.poll(() => page.locator('[data-testid^="node-"][data-role]').count(), { timeout: 60_000 }).toBe(nodes);
  await expect.poll(() => leaderOf(page), { timeout: 60_000 }).not.toBeNull();
  const leader = (await leaderOf(page)) as string;
  await expect.poll(async () => (await page.getByTestId('status-leader').textContent()) ?? '', { timeout: 15_000 }).toContain(leader);
  const pairs = (datacenters.length * (datacenters.length - 1)) / 2;
  await expect.poll(async () => (await page.locator('[data-testid^="link-"]').allTextContents()).filter((t) => /\d+(\.\d+)?\s*ms/.test(t)).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(pairs);
  return leader;
}

/** killLeader kills the leader from its node card, sees it down and a new leader, then restarts it. */
export async function killLeader(page: Page, shot?: string): Promise<void> {
  const before = await leaderOf(page);
  expect(before).not.toBeNull();
  await page.getByTestId(`node-${before}-kill`).click();
  await expect.poll(async () => page.getByTestId(`node-${before}`).getAttribute('data-role'), { timeout: 30_000 }).toBe('down');
  await expect.poll(async () => {
    const now = await leaderOf(page);
    return now !== null && now !== before;
  }, { timeout: 60_000 }).toBe(true);
  if (shot) await screenshot(page, shot);
  await page.getByTestId(`node-${before}-restart`).click();
  await expect.poll(async () => page.getByTestId(`node-${before}`).getAttribute('data-role'), { timeout: 60_000 }).not.toBe('down');
}

/**
 * connectRemote connects to a cluster by endpoint and token from the connections view: a wrong
 * token first (a clear Unauthenticated error), then the right one, landing on its topology.
 */
export async function connectRemote(page: Page, name: string, endpoints: readonly string[], token: string, shot?: string): Promise<void> {
  await gotoConnections(page);
  await page.getByTestId('connect-name').fill(name);
  await page.getByTestId('connect-endpoints').fill(endpoints.join('\n'));
  await page.getByTestId('connect-token').fill('not-the-token');
  await page.getByTestId('connect-submit').click();
  await expect.poll(async () => (await page.getByTestId('connect-error').textContent()) ?? '', { timeout: 30_000 }).toMatch(/Unauthenticated|token/i);
  if (shot) await screenshot(page, `${shot}-error`);
  await page.getByTestId('connect-token').fill(token);
  await page.getByTestId('connect-submit').click();
  await expect.poll(() => page.url(), { timeout: 30_000 }).toMatch(/#\/clusters\/[^/]+\/topology/);
}

/** launchFromUi launches a local cluster from the connections view, watching its progress. */
export async function launchFromUi(page: Page, name: string, layout: readonly number[], shot?: string): Promise<string[]> {
  await gotoConnections(page);
  await page.getByTestId('launch-dcs').selectOption(String(layout.length));
  for (let i = 0; i < layout.length; i++) await page.getByTestId(`launch-layout-${i}`).fill(String(layout[i]));
  await page.getByTestId('launch-name').fill(name);
  await page.getByTestId('launch-submit').click();
  const stages: string[] = [];
  await expect.poll(async () => {
    const stage = await page.getByTestId('launch-progress').getAttribute('data-stage');
    if (stage && stages.at(-1) !== stage) stages.push(stage);
    return stage;
  }, { timeout: 120_000, interval: 50 }).toBe('ready');
  const total = layout.reduce((a, b) => a + b, 0);
  expect(await page.getByTestId('launch-nodes').textContent()).toContain(`${total}/${total}`);
  if (shot) await screenshot(page, shot);
  await page.getByTestId('launch-open').click();
  await expect.poll(() => page.url(), { timeout: 15_000 }).toMatch(/#\/clusters\/[^/]+\/topology/);
  return stages;
}
