// Effectful. `npm run bench -- console [micro] [--runs N]`: the lock view at 100,000 locks.
// First, in process, the node's lock query (filter + sort + a window of 100) over a 100,000-lock
// table. Then a local 2,2,1 cluster holding 100,000 locks, the console backend behind its
// WebSocket bridge (queryLocks latency), and Debian's Chromium on the locks view: first render,
// a filter and a sort, each timed until the table shows the rows the cluster returns for that
// query. Medians of --runs runs (at least 5), and the machine.

import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WebSocket } from 'ws';
import type { Browser, Page } from 'playwright-core';
import { CONSOLE_WS_PATH } from '../../core/api/contract.ts';
import type { LockPage, LockQuery, WsServerFrame } from '../../core/api/contract.ts';
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

/** FIRST_ROWS is how many leading rows each measurement checks by name and token, in order. */
const FIRST_ROWS = 5;

/**
 * TableExpectation is what the lock table must show before a measurement ends: exactly the
 * first rows the cluster returns for the query the view should be asking, with that total, and
 * no other rows.
 */
interface TableExpectation {
  /** The query, for error messages. */
  readonly what: string;
  /** Every rendered row's name starts with it (the prefix filter; '' for none). */
  readonly prefix: string;
  /** locks-total's data-total. */
  readonly total: number;
  /** The first rows, in order, by name and by the token their token cell shows. */
  readonly first: readonly { readonly name: string; readonly token: number }[];
}

/**
 * PageElement is the little of the DOM that tableShows reads. The bench compiles without DOM
 * types, and tableShows runs only in the page.
 */
interface PageElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getBoundingClientRect(): { readonly top: number; readonly bottom: number; readonly height: number };
}

/**
 * tableShows is the page-side check that ends a measurement: the table shows only real rows (no
 * placeholder still waiting for its page), every one matching the prefix, the expected total,
 * and the expected first rows, the first of them on screen.
 *
 * NB: it is passed to waitForFunction as a function, never as text. Playwright evaluates it once
 * while its CDP call may bypass the console's CSP and then calls the result on every frame; a
 * text expression is evaluated again on every frame, which the CSP (no 'unsafe-eval') refuses.
 * It must be self-contained: no module names, and no named inner functions, which tsx's
 * keepNames would wrap in a `__name` helper that the page does not have.
 */
function tableShows(expected: TableExpectation): boolean {
  const doc = (globalThis as unknown as { document: PageElement }).document;
  const list = doc.querySelector('[data-testid="virtual-list"]');
  const total = doc.querySelector('[data-testid="locks-total"]');
  if (list === null || total === null || total.getAttribute('data-total') !== String(expected.total)) return false;
  if (list.querySelector('[data-testid="lock-row-placeholder"]') !== null) return false;
  const rows = Array.from(list.querySelectorAll('[data-testid="lock-row"]'));
  if (rows.length === 0 || rows.length !== Number(list.getAttribute('data-rendered'))) return false;
  if (!rows.every((row) => (row.getAttribute('data-name') ?? '').startsWith(expected.prefix))) return false;
  for (let i = 0; i < expected.first.length; i++) {
    const row = rows[i];
    const want = expected.first[i];
    if (row === undefined || want === undefined || row.getAttribute('data-name') !== want.name) return false;
    if (row.querySelector('[title^="last token granted: "]')?.getAttribute('title') !== `last token granted: ${want.token}`) return false;
  }
  const top = (rows[0] as PageElement).getBoundingClientRect();
  const view = list.getBoundingClientRect();
  return top.height > 0 && top.top >= view.top && top.bottom <= view.bottom;
}

/** tableNow describes what the table shows, for the error when it never shows what was expected. */
function tableNow(): string {
  const doc = (globalThis as unknown as { document: PageElement }).document;
  const list = doc.querySelector('[data-testid="virtual-list"]');
  const rows = list === null ? [] : Array.from(list.querySelectorAll('[data-testid="lock-row"]'));
  const total = doc.querySelector('[data-testid="locks-total"]')?.getAttribute('data-total') ?? 'none';
  const first = rows.slice(0, 3).map((row) => `${row.getAttribute('data-name') ?? '?'} (${row.querySelector('[title^="last token granted: "]')?.getAttribute('title') ?? 'no token'})`);
  return `total ${total}, ${rows.length} rows of ${list?.getAttribute('data-rendered') ?? '?'} rendered, first ${first.join(', ') || 'none'}`;
}

/** TableQuery is the part of a lock query the view's controls set. */
type TableQuery = Pick<LockQuery, 'prefix' | 'sort' | 'descending'>;

/** ExpectTable asks the cluster, outside any timing, what the view must show for a query. */
type ExpectTable = (what: string, query: TableQuery) => Promise<TableExpectation>;

/**
 * waitForTable waits (bounded) until the page's table shows `expected`; if it never does, the
 * error says what it showed instead.
 */
async function waitForTable(page: Page, expected: TableExpectation): Promise<void> {
  try {
    await page.waitForFunction(tableShows, expected, { polling: 'raf', timeout: 30_000 });
  } catch (err) {
    const shown = await page.evaluate(tableNow).catch(() => 'nothing readable');
    const first = expected.first[0];
    throw new Error(`the lock table never showed ${expected.what} (total ${expected.total}, first ${first?.name ?? 'none'} token ${first?.token ?? '-'}); it shows ${shown}`, { cause: err });
  }
}

/**
 * browserBench measures the locks view in Chromium; null when the built renderer has no locks
 * view. Each measurement ends only when the table shows what the cluster returns for the query
 * the view should now be asking, not when some row appears: first render from navigation, a
 * prefix filter from typing, and a sort from the click on the token header, which flips
 * between descending (the first click) and ascending.
 */
async function browserBench(browser: Browser, url: string, runs: number, expectTable: ExpectTable): Promise<{ rows: Row[]; screenshot: string } | null> {
  const byName = await expectTable('every lock in name order', { sort: 'name', descending: false });
  const firstRender: number[] = [];
  let page: Page | null = null;
  for (let r = 0; r < runs; r++) {
    await page?.close();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const started = performance.now();
    await page.goto(url, { waitUntil: 'commit' });
    try {
      await waitForTable(page, byName);
    } catch (err) {
      const hasView = (await page.locator('[data-testid="locks-view"]').count()) > 0;
      await page.close();
      if (hasView) throw err;
      return null;
    }
    firstRender.push(performance.now() - started);
  }
  const p = page as Page;
  const screenshot = join(ROOT, 'test-output', 'bench', 'console-locks.png');
  mkdirSync(dirname(screenshot), { recursive: true });
  await p.screenshot({ path: screenshot });
  const filter = p.locator('[data-testid="locks-filter-prefix"]');
  const filtering: number[] = [];
  for (let r = 0; r < runs; r++) {
    // A different group each run, so every run changes what the table shows.
    const prefix = `svc/${GROUPS[(r + 2) % GROUPS.length] as string}/`;
    const expected = await expectTable(`the locks under ${prefix}`, { prefix, sort: 'name', descending: false });
    filtering.push(
      await timed(async () => {
        await filter.fill(prefix);
        await waitForTable(p, expected);
      }),
    );
  }
  await filter.fill('');
  await waitForTable(p, byName);
  const tokenHeader = p.locator('[data-testid="locks-sort-token"]');
  const sorting: number[] = [];
  for (let r = 0; r < runs; r++) {
    const descending = r % 2 === 0;
    const expected = await expectTable(`every lock by token, ${descending ? 'descending' : 'ascending'}`, { sort: 'token', descending });
    sorting.push(
      await timed(async () => {
        await tokenHeader.click();
        await waitForTable(p, expected);
      }),
    );
  }
  await p.close();
  return {
    rows: [
      { what: 'first render (navigation to first rows, name order)', runs: firstRender },
      { what: 'filter by prefix (typing to only matching rows)', runs: filtering },
      { what: 'sort by token (click to rows in token order)', runs: sorting },
    ],
    screenshot,
  };
}

/**
 * namesInOrder are the first `n` names of group `group` in name order, from lockName alone: the
 * bench's own account of what a name-ordered listing holds, to check the cluster's against.
 */
function namesInOrder(group: number, n: number): string[] {
  return Array.from({ length: n }, (_, k) => lockName(group + k * GROUPS.length));
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
      const asked = bridge;
      const expectTable: ExpectTable = async (what, query) => {
        const answer = await asked.call<LockPage>('queryLocks', { connectionId: connection.id, offset: 0, limit: FIRST_ROWS, ...query });
        const expected = { what, prefix: query.prefix ?? '', total: answer.total, first: answer.locks.map((l) => ({ name: l.name, token: l.lastToken })) };
        // Name order is known without the cluster; its answer must agree, or it holds other locks.
        if (query.sort === 'name' && !query.descending) {
          const group = query.prefix === undefined ? 0 : GROUPS.indexOf(query.prefix.split('/')[1] as string);
          const names = namesInOrder(group, FIRST_ROWS);
          const total = query.prefix === undefined ? count : Math.ceil((count - group) / GROUPS.length);
          if (expected.total !== total || expected.first.some((row, i) => row.name !== names[i])) {
            throw new Error(`the cluster's answer for ${what} is ${expected.total} locks from ${expected.first[0]?.name ?? 'none'}; the bench created ${total} from ${names[0] as string}`);
          }
        }
        return expected;
      };
      const measured = await browserBench(browser, server.urlFor(`/clusters/${connection.id}/locks`), runs, expectTable);
      if (measured === null) {
        process.stdout.write('\nbrowser: skipped, the built renderer has no locks view at #/clusters/<id>/locks (data-testid="locks-view"); rebuild once it has landed\n');
      } else {
        printRows(`locks view in Chromium, ${count} locks, ${runs} runs`, measured.rows);
        process.stdout.write(`screenshot: ${measured.screenshot}\n`);
      }
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
