// End to end, effectful: the incident the console exists for, in Debian's Chromium against
// `warden console --local`. A process holds a lock past the stuck threshold while another
// waits; the operator finds it stuck, releases it from the UI with a reason; the holder's SDK
// session hears lockLost, the waiter gets the lock with a larger token, and the audit view says
// who and why. Then a configuration key edited in the UI is read back by the CLI, and a
// concurrent CLI change shows in the UI as a conflict with both versions.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { connect } from '../../core/client/index.ts';
import type { Lock, LockLost, Session, WardenClient } from '../../core/client/index.ts';
import { cleanup, runCli } from '../integration/helpers.ts';
import { launchBrowser, screenshot, startConsole } from './browser.ts';
import type { RunningConsole } from './browser.ts';

interface LocalConnection {
  readonly id: string;
  readonly endpoints: readonly string[];
  readonly local: { readonly dataDir: string } | null;
}

let console_: RunningConsole;
let browser: Browser;
let page: Page;
let admin: WardenClient;
let holderClient: WardenClient;
let waiterClient: WardenClient;
let clusterId: string;
let endpoints: readonly string[];
let adminToken: string;

const LOCK = 'e2e/payments/ledger';

describe('stuck lock and configuration, from the console in Chromium', () => {
  beforeAll(async () => {
    console_ = await startConsole(['--local']);
    const local = (console_.summary.connections as readonly LocalConnection[]).find((c) => c.local !== null);
    if (!local?.local) throw new Error('warden console --local listed no local connection');
    clusterId = local.id;
    endpoints = local.endpoints;
    // An operator on this machine reads the local cluster's tokens from its data dir.
    const spec = JSON.parse(readFileSync(join(local.local.dataDir, 'cluster.json'), 'utf8')) as { adminToken: string; clientToken: string };
    adminToken = spec.adminToken;
    admin = await connect({ endpoints, token: spec.adminToken });
    holderClient = await connect({ endpoints, token: spec.clientToken });
    waiterClient = await connect({ endpoints, token: spec.clientToken });
    await admin.admin.setSettings({ stuckAfterByPrefix: { 'e2e/': 1000 } });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (err) => process.stderr.write(`page error: ${err.message}\n`));
    await page.goto(console_.summary.url);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([admin?.close(), holderClient?.close(), waiterClient?.close()]);
    const code = await console_?.stop();
    await cleanup();
    expect(code).toBe(0);
  });

  it('finds the stuck lock, releases it with a reason, and the holder and waiter hear of it', async () => {
    const holder: Session = await holderClient.openSession({ ttlMs: 10_000, info: { app: 'ledger-writer', label: 'holder' } });
    const held: Lock = await holder.acquire(LOCK);
    const lost = new Promise<LockLost>((resolve) => holder.on('lockLost', resolve));
    const waiter: Session = await waiterClient.openSession({ ttlMs: 10_000, info: { app: 'ledger-writer', label: 'waiter' } });
    const granted = waiter.acquire(LOCK, { waitMs: 120_000 });
    await new Promise((r) => setTimeout(r, 1500)); // past the 1 s stuck threshold for e2e/

    await page.goto(new URL(`#/clusters/${clusterId}/locks`, page.url()).toString());
    await page.getByTestId('locks-filter-stuck').check();
    const row = page.locator(`[data-testid="lock-row"][data-name="${LOCK}"]`);
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(async () => (await row.getByTestId('lock-stuck').getAttribute('data-reasons')) ?? '', { timeout: 30_000 }).toContain('heldTooLong');
    await screenshot(page, 'locks-stuck');

    await row.getByTestId('lock-row-release').click();
    const dialog = page.getByTestId('release-dialog');
    await expect.poll(() => dialog.isVisible(), { timeout: 10_000 }).toBe(true);
    // A reason and an explicit confirmation are both required.
    expect(await dialog.getByTestId('release-submit').isDisabled()).toBe(true);
    await dialog.getByTestId('release-reason').fill('ledger writer wedged on a dead NFS mount (INC-4711)');
    expect(await dialog.getByTestId('release-submit').isDisabled()).toBe(true);
    await dialog.getByTestId('release-confirm').check();
    await screenshot(page, 'release-dialog');
    await dialog.getByTestId('release-submit').click();
    await expect.poll(() => dialog.getByTestId('release-result').count(), { timeout: 30_000 }).toBe(1);
    const shownToken = Number(await dialog.getByTestId('release-next-token').first().textContent());
    await screenshot(page, 'release-result');

    const event = await lost;
    expect(event).toMatchObject({ name: LOCK, token: held.token, reason: 'forced' });
    expect(event.detail).toContain('INC-4711');
    const next = await granted;
    expect(next.token).toBeGreaterThan(held.token);
    expect(shownToken).toBe(next.token);
    expect(await admin.checkSequencer(LOCK, held.token)).toBe(false);
    expect(await admin.checkSequencer(LOCK, next.token)).toBe(true);
    await dialog.getByTestId('release-close').click();

    await page.goto(new URL(`#/clusters/${clusterId}/events`, page.url()).toString());
    await page.getByTestId('events-filter-text').fill('INC-4711');
    const forced = page.locator('[data-testid="event-row"][data-notable="forced"]');
    await expect.poll(() => forced.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    const text = (await forced.first().textContent()) ?? '';
    expect(text).toContain(LOCK);
    expect(text).toContain('INC-4711');
    expect(text).toMatch(/admin/);
    await screenshot(page, 'events-audit');
    await next.release();
    await Promise.all([holder.close(), waiter.close()]);
  });

  it('saves a configuration value the CLI reads back, and shows a concurrent CLI change as a conflict', async () => {
    const cli = (args: string[]) => runCli([...args, '--endpoints', endpoints.join(','), '--token', adminToken]);
    const key = '/e2e/app/limits.json';
    expect((await cli(['kv', 'put', key, '{"rps": 100}'])).code).toBe(0);
    await page.goto(new URL(`#/clusters/${clusterId}/config?key=${encodeURIComponent(key)}`, page.url()).toString());
    const editor = page.getByTestId('kv-editor');
    await expect.poll(async () => editor.inputValue(), { timeout: 30_000 }).toContain('"rps": 100');
    await page.getByTestId('kv-format').selectOption('json');

    // Invalid JSON cannot be saved.
    await editor.fill('{"rps": 250,');
    await expect.poll(() => page.getByTestId('kv-error').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByTestId('kv-save').isDisabled()).toBe(true);

    await editor.fill('{"rps": 250}');
    await expect.poll(() => page.getByTestId('kv-diff').count(), { timeout: 10_000 }).toBe(1);
    await screenshot(page, 'config-diff');
    await page.getByTestId('kv-save').click();
    await expect.poll(() => page.getByTestId('kv-saved').count(), { timeout: 30_000 }).toBe(1);
    const read = await cli(['kv', 'get', key]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain('{"rps": 250}');

    // Someone changes the key from the CLI while the operator edits it.
    await editor.fill('{"rps": 300}');
    expect((await cli(['kv', 'put', key, '{"rps": 999}'])).code).toBe(0);
    await page.getByTestId('kv-save').click();
    const conflict = page.getByTestId('kv-conflict');
    await expect.poll(() => conflict.count(), { timeout: 30_000 }).toBe(1);
    expect(await conflict.getByTestId('kv-conflict-mine').textContent()).toContain('300');
    expect(await conflict.getByTestId('kv-conflict-theirs').textContent()).toContain('999');
    await screenshot(page, 'config-conflict');
    // Nothing was overwritten behind the operator's back.
    expect((await cli(['kv', 'get', key])).stdout).toContain('999');
  });

  it('shows sessions and metrics for the cluster', async () => {
    const session = await holderClient.openSession({ ttlMs: 10_000, info: { app: 'inventory-sync', label: 'sessions-e2e' } });
    await session.acquire('e2e/inventory/cursor');
    await page.goto(new URL(`#/clusters/${clusterId}/sessions`, page.url()).toString());
    const row = page.locator(`[data-testid="session-row"][data-id="${session.id}"]`);
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    expect(await row.textContent()).toContain('inventory-sync');
    await screenshot(page, 'sessions');
    await session.close();
    await page.goto(new URL(`#/clusters/${clusterId}/metrics`, page.url()).toString());
    await expect.poll(() => page.locator('[data-testid^="metrics-chart-"] canvas').count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(4);
    await screenshot(page, 'metrics');
  });
});
