// End to end, effectful: the renderer served by `warden console --local` in Debian's Chromium,
// against a real local three-datacenter cluster (five node processes), plus a second cluster
// started with `warden cluster local` and connected to by endpoint and token.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { cleanup, startLocalCluster, stopCluster } from '../integration/helpers.ts';
import type { RunningCluster } from '../integration/helpers.ts';
import { launchBrowser, screenshot, startConsole } from './browser.ts';
import type { RunningConsole } from './browser.ts';
import { connectRemote, expectTopology, gotoConnections, killLeader, launchFromUi } from './specs.ts';

let console_: RunningConsole;
let browser: Browser;
let page: Page;
let remote: RunningCluster;

describe('console in Chromium', () => {
  beforeAll(async () => {
    // NB: one after the other: two launchers choosing free ports at once can pick the same one.
    console_ = await startConsole(['--local']);
    remote = await startLocalCluster(['--dcs', '2', '--layout', '2,1']);
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
    await expectTopology(page, ['dc-a', 'dc-b', 'dc-c'], 5);
    // The token left the address bar once the page had it.
    expect(page.url()).not.toContain(console_.summary.token);
    await screenshot(page, 'topology');
  });

  it('kills the leader from the topology view and shows the new leader', async () => {
    await killLeader(page, 'topology-after-kill');
  });

  it('refuses a wrong token with a clear error and connects to a second cluster by endpoint and token', async () => {
    await connectRemote(page, 'second', remote.summary.endpoints, remote.summary.adminToken, 'connections');
    await expectTopology(page, ['dc-a', 'dc-b'], 3);
    await screenshot(page, 'topology-remote');
    // Both clusters stay open side by side.
    await gotoConnections(page);
    await expect.poll(() => page.locator('[data-testid^="connection-row-"][data-state="open"]').count(), { timeout: 15_000 }).toBe(2);
    await screenshot(page, 'connections');
  });

  it('launches another local cluster from the connections view, with progress, and stops it', async () => {
    const stages = await launchFromUi(page, 'from-the-ui', [1, 1, 1], 'launch-ready');
    expect(stages.at(-1)).toBe('ready');
    await expectTopology(page, ['dc-a', 'dc-b', 'dc-c'], 3);
    await page.getByTestId('topology-stop').click();
    await expect.poll(() => page.url(), { timeout: 30_000 }).toMatch(/#\/$/);
    await expect.poll(() => page.locator('[data-testid^="connection-row-"]').allTextContents(), { timeout: 15_000 }).not.toContainEqual(expect.stringContaining('from-the-ui'));
    process.stdout.write(`launch stages seen from the UI: ${stages.join(' → ')}\n`);
  });
});
