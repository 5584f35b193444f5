// End to end, effectful: the renderer served by `warden console --local` in Debian's Chromium,
// against a real local three-datacenter cluster (five node processes), plus a second cluster
// started with `warden cluster local` and connected to by endpoint and token.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { cleanup, startLocalCluster, stopCluster } from '../integration/helpers.ts';
import type { RunningCluster } from '../integration/helpers.ts';
import { launchBrowser, screenshot, startConsole } from './browser.ts';
import type { RunningConsole } from './browser.ts';

let console_: RunningConsole;
let browser: Browser;
let page: Page;
let remote: RunningCluster;

/** leaderOf reads which node the topology view draws as the leader. */
async function leaderOf(p: Page): Promise<string | null> {
  const leader = p.locator('[data-testid^="node-"][data-role="leader"]');
  if ((await leader.count()) !== 1) return null;
  const testId = await leader.getAttribute('data-testid');
  return testId ? testId.slice('node-'.length) : null;
}

describe('console in Chromium', () => {
  beforeAll(async () => {
    [console_, remote] = await Promise.all([startConsole(['--local']), startLocalCluster(['--dcs', '2', '--layout', '2,1'])]);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (err) => process.stderr.write(`page error: ${err.message}\n`));
  });

  afterAll(async () => {
    await browser?.close();
    const code = await console_?.stop();
    if (remote) await stopCluster(remote);
    await cleanup();
    expect(code).toBe(0);
  });

  it('opens on the launched local cluster: three datacenters, five nodes and a leader', async () => {
    await page.goto(console_.summary.url);
    for (const dc of ['dc-a', 'dc-b', 'dc-c']) await expect.poll(() => page.getByTestId(`dc-${dc}`).count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => page.locator('[data-testid^="node-"][data-role]').count(), { timeout: 30_000 }).toBe(5);
    await expect.poll(() => leaderOf(page), { timeout: 30_000 }).not.toBeNull();
    const leader = await leaderOf(page);
    await expect.poll(async () => (await page.getByTestId('status-leader').textContent()) ?? '', { timeout: 10_000 }).toContain(leader ?? '?');
    // Links between datacenters carry measured round-trip times.
    await expect.poll(async () => (await page.locator('[data-testid^="link-"]').allTextContents()).filter((t) => /\d+(\.\d+)?\s*ms/.test(t)).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    // The token left the address bar once the page had it.
    expect(page.url()).not.toContain(console_.summary.token);
    await screenshot(page, 'topology');
  });

  it('kills the leader from the topology view and shows the new leader', async () => {
    const before = await leaderOf(page);
    expect(before).not.toBeNull();
    await page.getByTestId(`node-${before}-kill`).click();
    await expect.poll(async () => page.getByTestId(`node-${before}`).getAttribute('data-role'), { timeout: 30_000 }).toBe('down');
    await expect.poll(async () => {
      const now = await leaderOf(page);
      return now !== null && now !== before;
    }, { timeout: 60_000 }).toBe(true);
    await screenshot(page, 'topology-after-kill');
    await page.getByTestId(`node-${before}-restart`).click();
    await expect.poll(async () => page.getByTestId(`node-${before}`).getAttribute('data-role'), { timeout: 60_000 }).not.toBe('down');
  });

  it('refuses a wrong token with a clear error and connects to a second cluster by endpoint and token', async () => {
    await page.goto(new URL('#/', page.url()).toString());
    await page.getByTestId('connect-name').fill('second');
    await page.getByTestId('connect-endpoints').fill(remote.summary.endpoints.join('\n'));
    await page.getByTestId('connect-token').fill('not-the-token');
    await page.getByTestId('connect-submit').click();
    await expect.poll(async () => (await page.getByTestId('connect-error').textContent()) ?? '', { timeout: 30_000 }).toMatch(/Unauthenticated|token/i);
    await screenshot(page, 'connections-error');

    await page.getByTestId('connect-token').fill(remote.summary.adminToken);
    await page.getByTestId('connect-submit').click();
    await expect.poll(() => page.url(), { timeout: 30_000 }).toMatch(/#\/clusters\/[^/]+\/topology/);
    for (const dc of ['dc-a', 'dc-b']) await expect.poll(() => page.getByTestId(`dc-${dc}`).count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => page.locator('[data-testid^="node-"][data-role]').count(), { timeout: 30_000 }).toBe(3);
    await expect.poll(() => leaderOf(page), { timeout: 30_000 }).not.toBeNull();
    await screenshot(page, 'topology-remote');

    // Both clusters stay open side by side.
    await page.goto(new URL('#/', page.url()).toString());
    await expect.poll(() => page.locator('[data-testid^="connection-row-"][data-state="open"]').count(), { timeout: 15_000 }).toBe(2);
    await screenshot(page, 'connections');
  });

  it('launches another local cluster from the connections view, with progress, and stops it', async () => {
    await page.goto(new URL('#/', page.url()).toString());
    await page.getByTestId('launch-dcs').selectOption('3');
    for (let i = 0; i < 3; i++) await page.getByTestId(`launch-layout-${i}`).fill('1');
    await page.getByTestId('launch-name').fill('from-the-ui');
    await page.getByTestId('launch-submit').click();
    const stages = new Set<string>();
    await expect.poll(async () => {
      const stage = await page.getByTestId('launch-progress').getAttribute('data-stage');
      if (stage) stages.add(stage);
      return stage;
    }, { timeout: 90_000, intervals: [50] }).toBe('ready');
    expect(await page.getByTestId('launch-nodes').textContent()).toContain('3/3');
    await screenshot(page, 'launch-ready');
    await page.getByTestId('launch-open').click();
    await expect.poll(() => page.url(), { timeout: 15_000 }).toMatch(/#\/clusters\/[^/]+\/topology/);
    await expect.poll(() => page.locator('[data-testid^="node-"][data-role]').count(), { timeout: 30_000 }).toBe(3);
    await expect.poll(() => leaderOf(page), { timeout: 30_000 }).not.toBeNull();
    await page.getByTestId('topology-stop').click();
    await expect.poll(() => page.url(), { timeout: 30_000 }).toMatch(/#\/$/);
    await expect.poll(() => page.locator('[data-testid^="connection-row-"]').allTextContents(), { timeout: 15_000 }).not.toContainEqual(expect.stringContaining('from-the-ui'));
    process.stdout.write(`launch stages seen from the UI: ${[...stages].join(' → ')}\n`);
  });
});
