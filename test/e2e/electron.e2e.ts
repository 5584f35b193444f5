// End to end, effectful: the packaged-layout desktop app (out/app staged in a temporary
// directory, better-sqlite3 rebuilt for Electron) driven through Playwright's Electron support,
// launching its embedded local three-datacenter cluster. Runs only where an Electron runtime is
// installed; elsewhere it says so and skips.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron } from 'playwright-core';
import type { ElectronApplication, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleElectron } from '../../build/bundleElectron.ts';
import { rebuildNativeForElectron, RENDERER_DIR, stageApp } from '../../build/dist.ts';
import { findElectronRuntime } from '../../build/electronRuntime.ts';
import { eventNames, requestNames } from '../../core/api/contract.ts';
import { cleanup, startLocalCluster, stopCluster } from '../integration/helpers.ts';
import type { RunningCluster } from '../integration/helpers.ts';
import { connectRemote, expectTopology, killLeader, launchFromUi } from './specs.ts';

const runtime = findElectronRuntime();
if (!runtime.found) process.stdout.write(`Electron specs not run: no Electron runtime installed (${runtime.reason})\n`);
const describeWithElectron = runtime.found ? describe : describe.skip;

/** electronArgs are the switches this machine needs: no setuid sandbox as root, no display in CI. */
function electronArgs(appDir: string): string[] {
  const args = [appDir];
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) args.push('--ozone-platform=headless');
  return args;
}

describeWithElectron('desktop app in Electron', () => {
  let base: string;
  let app: ElectronApplication | undefined;
  let page: Page;
  let remote: RunningCluster | undefined;

  beforeAll(async () => {
    if (!runtime.found) return;
    if (!existsSync(join(RENDERER_DIR, 'index.html'))) throw new Error('the renderer is not built: run npm run build:renderer (npm run test:e2e does)');
    base = mkdtempSync(join(tmpdir(), 'warden-electron-e2e-'));
    const bundleDir = join(base, 'bundle');
    await bundleElectron(bundleDir);
    const appDir = await stageApp({ stageDir: join(base, 'app'), bundleDir });
    await rebuildNativeForElectron(appDir, runtime.version);
    app = await _electron.launch({
      executablePath: runtime.executable,
      args: electronArgs(appDir),
      env: { ...process.env, WARDEN_USER_DATA_DIR: join(base, 'user-data') } as Record<string, string>,
      timeout: 60_000,
    });
    app.process().stderr?.on('data', (d: Buffer) => process.stderr.write(`[electron] ${d.toString()}`));
    page = await app.firstWindow({ timeout: 60_000 });
    page.on('pageerror', (err) => process.stderr.write(`page error: ${err.message}\n`));
    await page.waitForLoadState('domcontentloaded');
    remote = await startLocalCluster(['--dcs', '2', '--layout', '2,1']);
  });

  afterAll(async () => {
    // NB: closing quits the app, whose before-quit stops the local cluster's node processes.
    await app?.close();
    if (base) rmSync(base, { recursive: true, force: true });
    if (remote) await stopCluster(remote);
    await cleanup();
  });

  it('loads the console from the app scheme with only the typed bridge in the page', async () => {
    expect(page.url()).toMatch(/^app:\/\/warden\/index\.html/);
    const globals = await page.evaluate(() => {
      const g = globalThis as unknown as Record<string, unknown>;
      return {
        require: typeof g.require,
        process: typeof g.process,
        keys: Object.keys((g.warden ?? {}) as object).sort(),
      };
    });
    expect(globals.require).toBe('undefined');
    expect(globals.process).toBe('undefined');
    expect(globals.keys).toEqual([...requestNames, ...eventNames].sort());
  });

  it('does not navigate away from the app', async () => {
    await page.evaluate(() => {
      (globalThis as unknown as { location: { href: string } }).location.href = 'https://example.com/';
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(page.url()).toMatch(/^app:\/\/warden\//);
    expect(app?.windows().length).toBe(1);
  });

  it('launches a local cluster with progress and shows three datacenters and a leader', async () => {
    const stages = await launchFromUi(page, 'desktop', [2, 2, 1]);
    expect(stages.at(-1)).toBe('ready');
    await expectTopology(page, ['dc-a', 'dc-b', 'dc-c'], 5);
  });

  it('kills the leader from the topology view and shows the new leader', async () => {
    await killLeader(page);
  });

  it('connects to a second cluster by endpoint and token', async () => {
    const cluster = remote as RunningCluster;
    await connectRemote(page, 'second', cluster.summary.endpoints, cluster.summary.adminToken);
    await expectTopology(page, ['dc-a', 'dc-b'], 3);
  });
});
