// End to end, effectful: `npm start` exactly as a user types it. Where no Electron runtime is
// installed (as on CI), it must say so in one line and land the user in a working console in
// the browser, on a local three-datacenter cluster; Ctrl-C stops everything.

import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, waitFor } from '../integration/helpers.ts';
import { findElectronRuntime } from '../../build/electronRuntime.ts';
import { launchBrowser, screenshot, startConsole } from './browser.ts';

afterAll(cleanup);

describe('npm start', () => {
  const runtime = findElectronRuntime();
  if (runtime.found) process.stdout.write(`npm start browser fallback not exercised: an Electron runtime is installed (${runtime.executable}); test/e2e/electron.e2e.ts covers the app\n`);

  it.skipIf(runtime.found)('without an Electron runtime says why in one line and serves the console on a local cluster', async () => {
    const started = await startConsole([], { viaNpmStart: true });
    const browser = await launchBrowser();
    try {
      const notices = started.output().split('\n').filter((l) => l.includes('no Electron runtime'));
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(/opening the console in a browser instead/);
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(started.summary.url);
      for (const dc of ['dc-a', 'dc-b', 'dc-c']) await expect.poll(() => page.getByTestId(`dc-${dc}`).count(), { timeout: 30_000 }).toBe(1);
      await expect.poll(() => page.locator('[data-testid^="node-"][data-role="leader"]').count(), { timeout: 30_000 }).toBe(1);
      await screenshot(page, 'npm-start');
    } finally {
      await browser.close();
      // Ctrl-C: npm reports the interrupt (130); the console and every node it started are gone.
      expect(await started.stop()).toBe(130);
      await expect(fetch(started.summary.url)).rejects.toThrow();
      const nodes = started.summary.connections.flatMap((c) => c.endpoints).map((e) => e.replace(/^ws/, 'http').replace(/\/client$/, '/health'));
      expect(nodes).toHaveLength(5);
      for (const health of nodes) await waitFor(`${health} to stop answering`, () => fetch(health).then(() => false, () => true), 15_000, 200);
    }
  });
});
