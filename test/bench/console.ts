// Effectful. `npm run bench -- console [micro] [--runs N]`: the lock view at 100,000 locks.
// First, in process, the node's lock query (filter + sort + a window of 100) over a 100,000-lock
// table. Then a local 2,2,1 cluster holding 100,000 locks, the console backend behind its
// WebSocket bridge (queryLocks latency), and Debian's Chromium on the locks view: first render,
// a filter and a sort. Medians of --runs runs (at least 5), and the machine.

import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { Browser, Page } from 'playwright-core';
import { CONSOLE_WS_PATH } from '../../core/api/contract.ts';
import type { WsServerFrame } from '../../core/api/contract.ts';
import { LocalCluster } from '../../core/cli/localCluster.ts';
import { connect } from '../../core/client/index.ts';
import type { WardenClient } from '../../core/client/index.ts';
import { startConsoleServer } from '../../core/console/consoleServer.ts';
import { createConsoleService } from '../../core/console/consoleService.ts';
import { encodeCommand } from '../../core/lock/commands.ts';
import { LockMachine } from '../../core/lock/lockMachine.ts';
import { queryLocks } from '../../core/lock/views.ts';
import type { LockQueryOptions } from '../../core/lock/views.ts';
import { ROOT, tempDir, cleanup } from '../integration/helpers.ts';
import { machineLine, median } from './machine.ts';

/** GROUPS are the name prefixes locks are spread over (`svc/<group>/<n>`), so a filter keeps a tenth. */
const GROUPS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
const HOLDERS = 8;

const lockName = (i: number): string => `svc/${GROUPS[i % GROUPS.length] as string}/${String(i).padStart(6, '0')}`;

interface Row {
  readonly what: string;
  readonly runs: number[];
}

function printRows(title: string, rows: readonly Row[]): void {
  process.stdout.write(`\n${title}\n`);
  process.stdout.write('measure                                              median ms   min ms   max ms\n');
  for (const row of rows) {
    const sorted = [...row.runs].sort((a, b) => a - b);
    process.stdout.write(`${row.what.padEnd(52)} ${median(row.runs).toFixed(1).padStart(9)} ${(sorted[0] ?? NaN).toFixed(1).padStart(8)} ${(sorted.at(-1) ?? NaN).toFixed(1).padStart(8)}\n`);
  }
}

/** QUERIES are the lock view's typical requests: the first page, a filter, sorts, a deep page. */
const QUERIES: readonly { readonly what: string; readonly query: LockQueryOptions }[] = [
  { what: 'first page (name order, 100 rows)', query: { offset: 0, limit: 100 } },
  { what: 'prefix filter svc/c/ (100 rows)', query: { prefix: 'svc/c/', offset: 0, limit: 100 } },
  { what: 'holder filter holder-3 (100 rows)', query: { holder: 'holder-3', offset: 0, limit: 100 } },
  { what: 'datacenter filter dc-b (100 rows)', query: { datacenter: 'dc-b', offset: 0, limit: 100 } },
  { what: 'sort by token, descending (100 rows)', query: { sort: 'token', descending: true, offset: 0, limit: 100 } },
  { what: 'sort by age (100 rows)', query: { sort: 'age', offset: 0, limit: 100 } },
  { what: 'sort by waiters, descending, page 500 (100 rows)', query: { sort: 'waiters', descending: true, offset: 50_000, limit: 100 } },
  { what: 'stuck only, sorted by stuck', query: { stuckOnly: true, sort: 'stuck', descending: true, offset: 0, limit: 100 } },
];

/** microBench times the node's pure query over an in-process table of `count` locks. */
function microBench(count: number, runs: number): Row[] {
  const machine = new LockMachine();
  const t0 = 1_700_000_000_000;
  let index = 0;
  let now = t0;
  const sessions: string[] = [];
  for (let i = 0; i < HOLDERS; i++) {
    const info = { host: `bench-host-${i}`, pid: 1000 + i, app: 'bench', label: `holder-${i}` };
    const result = machine.applyCommand(encodeCommand({ op: 'session.open', stamp: now, ttlMs: 60_000, info, datacenter: ['dc-a', 'dc-b', 'dc-c'][i % 3] as string }), ++index);
    sessions.push((result.reply as { sessionId: string }).sessionId);
  }
  for (let i = 0; i < count; i++) {
    now += 1;
    machine.applyCommand(encodeCommand({ op: 'lock.acquire', stamp: now, sessionId: sessions[i % HOLDERS] as string, name: lockName(i), mode: 'exclusive', waitMs: 0, lockDelayMs: null }), ++index);
    if (i % 997 === 0) machine.applyCommand(encodeCommand({ op: 'lock.acquire', stamp: now, sessionId: sessions[(i + 1) % HOLDERS] as string, name: lockName(i), mode: 'exclusive', waitMs: 3_600_000, lockDelayMs: null }), ++index);
  }
  const rows: Row[] = [];
  for (const { what, query } of QUERIES) {
    const times: number[] = [];
    // One untimed run warms the code paths up, as a long-running node's are.
    queryLocks(machine.table, now + 10 * 60_000, () => 500, query);
    for (let r = 0; r < runs; r++) {
      const started = performance.now();
      queryLocks(machine.table, now + 10 * 60_000, () => 500, query);
      times.push(performance.now() - started);
    }
    rows.push({ what, runs: times });
  }
  return rows;
}

/**
 * fillCluster creates `count` locks held by HOLDERS sessions, many acquires in flight at once.
 * Holder i first reaches a node of datacenter i mod 3, so sessions are spread over datacenters.
 */
async function fillCluster(cluster: LocalCluster, count: number): Promise<WardenClient[]> {
  const all = cluster.endpoints();
  const datacenters = [...new Set(cluster.spec.nodes.map((n) => n.datacenter))];
  const from = (i: number): string[] => {
    const first = cluster.spec.nodes.findIndex((n) => n.datacenter === datacenters[i % datacenters.length]);
    return [all[first] as string, ...all.filter((_, j) => j !== first)];
  };
  const clients = await Promise.all(Array.from({ length: HOLDERS + 1 }, (_, i) => connect({ endpoints: from(i), token: cluster.spec.adminToken, requestTimeoutMs: 60_000 })));
  const sessions = await Promise.all(clients.map((c, i) => c.openSession({ ttlMs: 120_000, info: { app: 'bench', label: i < HOLDERS ? `holder-${i}` : 'waiter' } })));
  const holders = sessions.slice(0, HOLDERS);
  const waiter = sessions[HOLDERS];
  let next = 0;
  let done = 0;
  const started = performance.now();
  const inFlightPerHolder = 96;
  await Promise.all(
    holders.flatMap((session) =>
      Array.from({ length: inFlightPerHolder }, async () => {
        for (let i = next++; i < count; i = next++) {
          await session.acquire(lockName(i), { waitMs: 0 });
          if (++done % 10_000 === 0) process.stderr.write(`  ${done} locks held (${Math.round(done / ((performance.now() - started) / 1000))}/s)\n`);
        }
      }),
    ),
  );
  // A few locks get a waiter, so the waiters and stuck columns have something to sort.
  if (waiter) for (let i = 0; i < count; i += 997) void waiter.acquire(lockName(i), { waitMs: 3_600_000 }).catch(() => undefined);
  return clients;
}

type Reply = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };

/** BridgeClient is the console's WebSocket bridge, as the renderer uses it. */
class BridgeClient {
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private nextId = 1;
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as WsServerFrame;
      if ('id' in frame) this.pending.get(frame.id)?.(frame.reply as Reply);
    });
  }

  static open(port: number, token: string): Promise<BridgeClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${CONSOLE_WS_PATH}?token=${token}`, { origin: `http://127.0.0.1:${port}` });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new BridgeClient(ws)));
      ws.once('error', reject);
    });
  }

  call<T>(request: string, payload: unknown, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${request} got no reply within ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (reply.ok) resolve(reply.value as T);
        else reject(new Error(`${request}: ${reply.error.code}: ${reply.error.message}`));
      });
      this.ws.send(JSON.stringify({ id, request, payload }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * everyRowIncludes is a page expression (text, so it needs no DOM types here): some rows are
 * shown and every one mentions `wanted`.
 */
function everyRowIncludes(selector: string, wanted: string): string {
  return `(() => { const rows = [...document.querySelectorAll(${JSON.stringify(selector)})]; return rows.length > 0 && rows.every((el) => (el.textContent ?? '').includes(${JSON.stringify(wanted)})); })()`;
}

/** browserBench measures the locks view in Chromium; null when the built renderer has no locks view. */
async function browserBench(browser: Browser, url: string, runs: number): Promise<Row[] | null> {
  const row = '[data-testid="lock-row"]';
  const firstRender: number[] = [];
  let page: Page | null = null;
  for (let r = 0; r < runs; r++) {
    await page?.close();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const started = performance.now();
    await page.goto(url, { waitUntil: 'commit' });
    try {
      await page.locator(row).first().waitFor({ state: 'visible', timeout: 30_000 });
    } catch {
      await page.close();
      return null;
    }
    firstRender.push(performance.now() - started);
  }
  const p = page as Page;
  mkdirSync(join(ROOT, 'test-output', 'bench'), { recursive: true });
  await p.screenshot({ path: join(ROOT, 'test-output', 'bench', 'console-locks.png') });
  const filter = p.locator('[data-testid="locks-filter-prefix"]');
  const filtering: number[] = [];
  for (let r = 0; r < runs; r++) {
    const prefix = `svc/${GROUPS[(r + 2) % GROUPS.length] as string}/`;
    filtering.push(
      await timed(async () => {
        await filter.fill(prefix);
        await p.waitForFunction(everyRowIncludes(row, prefix), undefined, { polling: 'raf', timeout: 30_000 });
      }),
    );
  }
  await filter.fill('');
  await p.waitForFunction(`!(${everyRowIncludes(row, `svc/${GROUPS[(runs + 1) % GROUPS.length] as string}/`)})`, undefined, { polling: 'raf', timeout: 30_000 });
  const sorting: number[] = [];
  for (let r = 0; r < runs; r++) {
    const before = await p.locator(row).first().textContent();
    sorting.push(
      await timed(async () => {
        await p.locator('[data-testid="locks-sort-token"]').click();
        await p.waitForFunction(`(document.querySelector(${JSON.stringify(row)})?.textContent ?? ${JSON.stringify(before ?? '')}) !== ${JSON.stringify(before ?? '')}`, undefined, { polling: 'raf', timeout: 30_000 });
      }),
    );
  }
  await p.close();
  return [
    { what: 'first render (navigation to first row visible)', runs: firstRender },
    { what: 'filter by prefix (typed to table updated)', runs: filtering },
    { what: 'sort by token (click to table updated)', runs: sorting },
  ];
}

/** runConsoleBench runs the micro-benchmark and, unless `microOnly`, the cluster and browser parts. */
export async function runConsoleBench(options: { runs: number; locks?: number; microOnly?: boolean }): Promise<void> {
  const runs = Math.max(5, options.runs);
  const count = options.locks ?? 100_000;
  process.stderr.write(`building a ${count}-lock table in process\n`);
  const micro = microBench(count, runs);
  printRows(`lock query in process (core/lock/views.ts), ${count} locks, ${runs} runs`, micro);
  process.stdout.write(`machine: ${machineLine()}\n`);
  if (options.microOnly) return;

  const cluster = await LocalCluster.open({ dcs: 3, layout: [2, 2, 1], basePort: null, dataDir: null, host: '127.0.0.1' });
  const stateDir = tempDir('warden-bench-console-');
  let clients: WardenClient[] = [];
  let browser: Browser | null = null;
  const service = createConsoleService({ stateDir, bridge: 'browser', version: 'bench', pollIntervalMs: 1000, connectTimeoutMs: 10_000 });
  const built = join(ROOT, 'out', 'renderer');
  const staticDir = existsSync(join(built, 'index.html')) ? built : tempDir('warden-bench-static-');
  if (staticDir !== built) writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>not built</title>');
  const server = await startConsoleServer({ service, port: 0, staticDir });
  let bridge: BridgeClient | null = null;
  try {
    cluster.startAll();
    await cluster.waitForLeader(60_000);
    process.stderr.write(`cluster up (2,2,1, default WAN latency); creating ${count} locks\n`);
    const fillStarted = performance.now();
    clients = await fillCluster(cluster, count);
    process.stderr.write(`created ${count} locks in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s\n`);

    const connection = service.addRemote({ name: 'bench', endpoints: cluster.endpoints(), token: cluster.spec.adminToken });
    bridge = await BridgeClient.open(server.port, server.token);
    await bridge.call('openConnection', { connectionId: connection.id });
    const backend: Row[] = [];
    for (const { what, query } of QUERIES) {
      const payload = { connectionId: connection.id, offset: 0, limit: 100, ...query };
      await bridge.call('queryLocks', payload);
      const times: number[] = [];
      for (let r = 0; r < runs; r++) times.push(await timed(() => (bridge as BridgeClient).call('queryLocks', payload)));
      backend.push({ what, runs: times });
    }
    printRows(`queryLocks over the console WebSocket bridge, ${count} locks, 2,2,1 cluster, ${runs} runs`, backend);
    const direct: Row[] = [];
    const sdkClient = clients[0] as WardenClient;
    for (const { what, query } of QUERIES) {
      const q = { offset: 0, limit: 100, ...query, serializable: true };
      await sdkClient.locks.query(q);
      const times: number[] = [];
      for (let r = 0; r < runs; r++) times.push(await timed(() => sdkClient.locks.query(q)));
      direct.push({ what, runs: times });
    }
    printRows(`for comparison, the SDK's locks.query straight to the leader, ${runs} runs`, direct);

    if (staticDir !== built) {
      process.stdout.write('\nbrowser: skipped, the renderer is not built (npm run build:renderer)\n');
    } else {
      const { launchBrowser } = await import('../e2e/browser.ts');
      browser = await launchBrowser();
      const rows = await browserBench(browser, server.urlFor(`/clusters/${connection.id}/locks`), runs);
      if (rows === null) process.stdout.write('\nbrowser: skipped, the built renderer shows no lock rows at #/clusters/<id>/locks (data-testid="lock-row"); rebuild once the locks view has landed\n');
      else printRows(`locks view in Chromium, ${count} locks, ${runs} runs`, rows);
    }
    process.stdout.write(`machine: ${machineLine()}\n`);
  } finally {
    bridge?.close();
    await browser?.close();
    await server.close();
    await service.close();
    await Promise.allSettled(clients.map((c) => c.close()));
    await cluster.stopAll();
    rmSync(cluster.dataDir, { recursive: true, force: true });
    await cleanup();
  }
}
