// Effectful (real node processes, sockets, temp dirs). The console backend behind its WebSocket
// bridge, end to end: a local 2,2,1 cluster launched with progress and topology pushes, a fault
// that moves the leader, a second real cluster as a saved remote connection with every way
// opening it can fail, and `warden console` itself. One backend and two clusters serve the file.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_WS_PATH } from '../../core/api/contract.ts';
import type { ConnectionSummary, LaunchStage, TopologyUpdate, WsServerFrame } from '../../core/api/contract.ts';
import { connect } from '../../core/client/index.ts';
import { startConsoleServer } from '../../core/console/consoleServer.ts';
import type { RunningConsoleServer } from '../../core/console/consoleServer.ts';
import { createConsoleService } from '../../core/console/consoleService.ts';
import type { ConsoleService } from '../../core/console/consoleService.ts';
import { ROOT, WARDEN, cleanup, startLocalCluster, stopCluster, tempDir, waitFor } from './helpers.ts';
import type { RunningCluster } from './helpers.ts';

type Reply = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };

/** ConsoleSocket is the browser bridge as a renderer would use it: requests by id, and pushes. */
class ConsoleSocket {
  readonly events: { event: string; payload: unknown }[] = [];
  private readonly replies = new Map<number, Reply>();
  private nextId = 1;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as WsServerFrame;
      if ('event' in frame) this.events.push(frame);
      else this.replies.set(frame.id, frame.reply as Reply);
    });
  }

  static open(url: string, origin: string | null): Promise<ConsoleSocket> {
    const ws = new WebSocket(url, origin === null ? {} : { origin });
    return new Promise((resolveOpen, reject) => {
      ws.once('open', () => resolveOpen(new ConsoleSocket(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  async call(request: string, payload?: unknown, timeoutMs = 60_000): Promise<Reply> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify(payload === undefined ? { id, request } : { id, request, payload }));
    return waitFor(`a reply to ${request}`, () => this.replies.get(id), timeoutMs, 20);
  }

  /** value calls and expects success. */
  async value<T>(request: string, payload?: unknown, timeoutMs?: number): Promise<T> {
    const reply = await this.call(request, payload, timeoutMs);
    if (!reply.ok) throw new Error(`${request} failed: ${reply.error.code}: ${reply.error.message}`);
    return reply.value as T;
  }

  /** error calls and expects a failure. */
  async error(request: string, payload?: unknown, timeoutMs?: number): Promise<{ code: string; message: string }> {
    const reply = await this.call(request, payload, timeoutMs);
    if (reply.ok) throw new Error(`${request} succeeded: ${JSON.stringify(reply.value).slice(0, 200)}`);
    return reply.error;
  }

  topologies(connectionId: string): TopologyUpdate[] {
    return this.events.filter((e) => e.event === 'onTopology' && (e.payload as TopologyUpdate).connectionId === connectionId).map((e) => e.payload as TopologyUpdate);
  }

  lists(): ConnectionSummary[][] {
    return this.events.filter((e) => e.event === 'onConnectionsChanged').map((e) => e.payload as ConnectionSummary[]);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

let service: ConsoleService;
let server: RunningConsoleServer;
let socket: ConsoleSocket;
let staticDir: string;
let remotePromise: Promise<RunningCluster>;
let remote: RunningCluster | null = null;
let localId = '';
const children: ChildProcess[] = [];

beforeAll(async () => {
  // The second cluster starts in its own process while the console launches the first.
  remotePromise = startLocalCluster(['--dcs', '1', '--layout', '1']);
  remotePromise.then((r) => (remote = r)).catch(() => undefined);
  staticDir = tempDir('warden-console-static-');
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Warden console</title>');
  service = createConsoleService({ stateDir: tempDir('warden-console-state-'), bridge: 'browser', version: 'test', pollIntervalMs: 500, connectTimeoutMs: 3000, localDataRoot: tempDir('warden-console-local-') });
  server = await startConsoleServer({ service, port: 0, staticDir });
  socket = await ConsoleSocket.open(`ws://127.0.0.1:${server.port}${CONSOLE_WS_PATH}?token=${server.token}`, `http://127.0.0.1:${server.port}`);
});

afterAll(async () => {
  socket?.ws.close();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await server?.close();
  await service?.close();
  if (remote) await stopCluster(remote);
  await cleanup();
});

describe('console backend over its WebSocket bridge', () => {
  it('refuses sockets without the token or from a foreign origin, and bad payloads', async () => {
    const base = `ws://127.0.0.1:${server.port}${CONSOLE_WS_PATH}`;
    const own = `http://127.0.0.1:${server.port}`;
    await expect(ConsoleSocket.open(base, own)).rejects.toThrow('HTTP 401');
    await expect(ConsoleSocket.open(`${base}?token=wrong`, own)).rejects.toThrow('HTTP 401');
    await expect(ConsoleSocket.open(`${base}?token=${server.token}`, 'https://attacker.example')).rejects.toThrow('HTTP 403');
    const bad = await socket.error('launchLocalCluster', { dcs: 3, layout: [2, 2] });
    expect(bad).toMatchObject({ code: 'BadRequest', message: expect.stringContaining('layout') });
  });

  it('launches a local 2,2,1 cluster with progress in order, then pushes its topology', async () => {
    const launched = await socket.value<ConnectionSummary>('launchLocalCluster', { name: 'it-local', dcs: 3, layout: [2, 2, 1] }, 120_000);
    localId = launched.id;
    expect(launched).toMatchObject({ kind: 'local', state: 'open', role: 'admin', hasToken: true, saved: false, launch: { stage: 'ready' } });
    expect(launched.local?.datacenters).toEqual(['dc-a', 'dc-b', 'dc-c']);
    expect(JSON.stringify(launched)).not.toMatch(/"token"/);

    const progress = socket.lists().flatMap((list) => list.filter((c) => c.id === localId && c.launch).map((c) => c.launch as NonNullable<ConnectionSummary['launch']>));
    const stages = progress.map((p) => p.stage).filter((s, i, all) => i === 0 || all[i - 1] !== s);
    expect(stages).toEqual<LaunchStage[]>(['planning', 'starting', 'electing', 'ready']);
    const started = progress.filter((p) => p.stage === 'starting').map((p) => p.nodesStarted);
    expect(started).toEqual([...started].sort((a, b) => a - b));
    expect(started.at(-1)).toBe(5);
    expect(progress.every((p) => p.nodesTotal === 5)).toBe(true);

    const update = await waitFor('a topology push with a leader and three datacenters', () => socket.topologies(localId).find((u) => u.topology?.leader && u.topology.datacenters.length === 3), 20_000);
    expect(update.error).toBeNull();
    expect(update.topology?.datacenters.map((d) => [d.name, d.nodes.length])).toEqual([
      ['dc-a', 2],
      ['dc-b', 2],
      ['dc-c', 1],
    ]);
    expect(update.at).toBeGreaterThan(Date.now() - 60_000);
    const fresh = await socket.value<{ clusterId: string }>('getTopology', { connectionId: localId });
    expect(fresh.clusterId).toBe(launched.clusterId);
  });

  it('kills the leader on request, and a pushed topology shows a new one', async () => {
    const before = await socket.value<{ leader: { id: string } | null }>('getTopology', { connectionId: localId });
    const oldLeader = before.leader?.id as string;
    expect(oldLeader).toBeTruthy();
    const seen = socket.topologies(localId).length;
    const result = await socket.value<{ message: string }>('clusterFault', { connectionId: localId, action: 'kill', node: oldLeader }, 30_000);
    expect(result.message).toBe(`killed ${oldLeader}`);
    const moved = await waitFor('a pushed topology with a new leader', () => socket.topologies(localId).slice(seen).find((u) => u.topology?.leader && u.topology.leader.id !== oldLeader), 30_000);
    expect(moved.topology?.leader?.id).not.toBe(oldLeader);
    const unknown = await socket.error('clusterFault', { connectionId: localId, action: 'kill', node: 'n99' });
    expect(unknown).toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('n99') });
    const restarted = await socket.value<{ message: string }>('clusterFault', { connectionId: localId, action: 'restart', node: oldLeader }, 30_000);
    expect(restarted.message).toBe(`restarted ${oldLeader}`);
  });

  it('saves a second real cluster as a remote connection, opens it, and records its cluster id', async () => {
    const other = await remotePromise;
    const saved = await socket.value<ConnectionSummary>('saveConnection', { name: 'other', group: 'it', endpoints: other.summary.endpoints, token: other.summary.adminToken, readOnly: false });
    expect(saved).toMatchObject({ kind: 'remote', saved: true, state: 'closed', hasToken: true, clusterId: null });
    const opened = await socket.value<ConnectionSummary>('openConnection', { connectionId: saved.id });
    expect(opened).toMatchObject({ state: 'open', role: 'admin', error: null });
    expect(opened.clusterId).toMatch(/^local-/);
    const listed = (await socket.value<ConnectionSummary[]>('listConnections')).find((c) => c.id === saved.id);
    expect(listed?.clusterId).toBe(opened.clusterId);
    await waitFor('a topology push for the remote cluster', () => socket.topologies(saved.id).find((u) => u.topology?.leader), 15_000);
    // Local-only and write actions are refused on it for what it is.
    expect(await socket.error('clusterFault', { connectionId: saved.id, action: 'heal' })).toMatchObject({ code: 'NotLocal' });
    expect(await socket.error('stopLocalCluster', { connectionId: saved.id })).toMatchObject({ code: 'NotLocal' });

    const exported = await socket.value<{ json: string }>('exportConnections');
    expect(exported.json).toContain(other.summary.endpoints[0]);
    expect(exported.json).not.toContain(other.summary.adminToken);
    expect(exported.json).not.toMatch(/"token"/);

    // An import of the same export for another cluster at the same address: WrongCluster.
    const file = JSON.parse(exported.json) as { connections: { name: string; clusterId: string | null }[] };
    file.connections = file.connections.map((c) => ({ ...c, name: `${c.name}-imported`, clusterId: 'some-other-cluster' }));
    expect(await socket.value('importConnections', { json: JSON.stringify(file) })).toEqual({ imported: 1 });
    const imported = (await socket.value<ConnectionSummary[]>('listConnections')).find((c) => c.name === 'other-imported') as ConnectionSummary;
    expect(imported).toMatchObject({ hasToken: false, clusterId: 'some-other-cluster' });
    expect(await socket.error('openConnection', { connectionId: imported.id })).toMatchObject({ code: 'Unauthenticated', message: expect.stringContaining('no token') });
    await socket.value('saveConnection', { id: imported.id, name: imported.name, group: imported.group, endpoints: imported.endpoints, token: other.summary.adminToken, readOnly: false });
    const wrong = await socket.error('openConnection', { connectionId: imported.id });
    expect(wrong.code).toBe('WrongCluster');
    expect(wrong.message).toContain('some-other-cluster');
    expect(wrong.message).toContain(opened.clusterId as string);
    expect((await socket.value<ConnectionSummary[]>('listConnections')).find((c) => c.id === imported.id)).toMatchObject({ state: 'error', error: { code: 'WrongCluster' } });

    // Deleting an open connection closes it first.
    const pushes = socket.topologies(saved.id).length;
    expect(await socket.value('deleteConnection', { connectionId: saved.id })).toBeNull();
    expect((await socket.value<ConnectionSummary[]>('listConnections')).some((c) => c.id === saved.id)).toBe(false);
    await new Promise((r) => setTimeout(r, 1200));
    expect(socket.topologies(saved.id).length).toBeLessThanOrEqual(pushes + 1);
    expect(await socket.error('getTopology', { connectionId: saved.id })).toMatchObject({ code: 'NotFound' });
  });

  it('says Unauthenticated for a wrong token and Unreachable, naming the endpoints, for a dead port', async () => {
    const other = await remotePromise;
    const badToken = await socket.value<ConnectionSummary>('saveConnection', { name: 'bad-token', group: 'it', endpoints: other.summary.endpoints, token: 'not-the-token', readOnly: false });
    expect(await socket.error('openConnection', { connectionId: badToken.id })).toMatchObject({ code: 'Unauthenticated' });

    const dead = `ws://127.0.0.1:${await freePort()}/client`;
    const unreachable = await socket.value<ConnectionSummary>('saveConnection', { name: 'dead', group: 'it', endpoints: [dead], token: 'whatever', readOnly: false });
    const started = Date.now();
    const error = await socket.error('openConnection', { connectionId: unreachable.id });
    expect(Date.now() - started).toBeLessThan(8000);
    expect(error.code).toBe('Unreachable');
    expect(error.message).toContain(dead);
    expect(error.message).toMatch(/ECONNREFUSED/);
    const listed = (await socket.value<ConnectionSummary[]>('listConnections')).find((c) => c.id === unreachable.id);
    expect(listed).toMatchObject({ state: 'error', error: { code: 'Unreachable' } });
  });

  it('refuses fault actions through a read-only connection', async () => {
    const other = await remotePromise;
    const readOnly = await socket.value<ConnectionSummary>('saveConnection', { name: 'watch-only', group: 'it', endpoints: other.summary.endpoints, token: other.summary.adminToken, readOnly: true });
    expect(await socket.value<ConnectionSummary>('openConnection', { connectionId: readOnly.id })).toMatchObject({ state: 'open', readOnly: true });
    expect(await socket.error('clusterFault', { connectionId: readOnly.id, action: 'kill', node: 'n1' })).toMatchObject({ code: 'ReadOnly' });
    expect(await socket.value('closeConnection', { connectionId: readOnly.id })).toBeNull();
  });

  it('stops the local cluster: stopping, then stopped, then gone, with its data dir removed', async () => {
    const summary = (await socket.value<ConnectionSummary[]>('listConnections')).find((c) => c.id === localId) as ConnectionSummary;
    const dataDir = summary.local?.dataDir as string;
    expect(existsSync(dataDir)).toBe(true);
    const seen = socket.lists().length;
    expect(await socket.value('stopLocalCluster', { connectionId: localId }, 30_000)).toBeNull();
    const after = socket.lists().slice(seen);
    const stages = after.flatMap((list) => list.filter((c) => c.id === localId).map((c) => c.launch?.stage));
    expect(stages).toEqual(['stopping', 'stopped']);
    expect(after.at(-1)?.some((c) => c.id === localId)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
    await expect(connect({ endpoints: summary.endpoints, token: 'x', requestTimeoutMs: 1000 })).rejects.toMatchObject({ code: 'Unavailable' });
  });
});

/** runConsole starts `warden console` and resolves with its first stdout line (bounded). */
function runConsole(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; line: string; stderr: () => string }> {
  const child = spawn(process.execPath, [WARDEN, 'console', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error(`warden console printed nothing: ${err}`)), 60_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolveLine({ child, line: out.slice(0, nl), stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`warden console exited with ${code}: ${err}`));
    });
  });
}

function exitOf(child: ChildProcess, timeoutMs = 20_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveExit(code);
    });
  });
}

describe('warden console', () => {
  it('prints its URL, serves index.html, opens the given cluster, and exits 0 on SIGTERM', async () => {
    const other = await remotePromise;
    const state = tempDir('warden-console-cli-');
    const { child, line } = await runConsole(['--port', '0', '--json', '--endpoints', other.summary.endpoints.join(','), '--token', other.summary.adminToken, '--state-dir', state], { WARDEN_CONSOLE_STATIC_DIR: staticDir });
    const printed = JSON.parse(line) as { url: string; port: number; token: string; stateDir: string; connections: ConnectionSummary[] };
    expect(printed.stateDir).toBe(state);
    expect(printed.connections).toHaveLength(1);
    const opened = printed.connections[0] as ConnectionSummary;
    expect(opened).toMatchObject({ kind: 'remote', state: 'open', saved: false, role: 'admin' });
    expect(printed.url).toBe(`http://127.0.0.1:${printed.port}/?token=${printed.token}#/clusters/${opened.id}/topology`);
    expect(line).not.toContain(other.summary.adminToken);
    const page = await fetch(printed.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Warden console');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
  });

  it('fails with one line and status 1 when the cluster cannot be opened', async () => {
    const other = await remotePromise;
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync(process.execPath, [WARDEN, 'console', '--port', '0', '--endpoints', other.summary.endpoints.join(','), '--token', 'wrong-token', '--state-dir', tempDir()], {
      cwd: ROOT,
      env: { ...process.env, WARDEN_CONSOLE_STATIC_DIR: staticDir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Unauthenticated');
  });

  it('says how to build the UI, and exits 2, when the renderer is not built', async () => {
    const { spawnSync } = await import('node:child_process');
    const empty = tempDir();
    mkdirSync(join(empty, 'renderer'));
    const run = spawnSync(process.execPath, [WARDEN, 'console', '--port', '0', '--state-dir', tempDir()], { cwd: ROOT, env: { ...process.env, WARDEN_CONSOLE_STATIC_DIR: join(empty, 'renderer') }, encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('npm run build:renderer');
  });

  it('with --local, launches a 2,2,1 cluster, opens on its topology, and stops it on SIGINT', async () => {
    const { child, line, stderr } = await runConsole(['--port', '0', '--json', '--local', '--state-dir', tempDir()], { WARDEN_CONSOLE_STATIC_DIR: staticDir });
    const printed = JSON.parse(line) as { url: string; connections: ConnectionSummary[] };
    const local = printed.connections.find((c) => c.kind === 'local') as ConnectionSummary;
    expect(local).toMatchObject({ name: 'local', state: 'open', local: { datacenters: ['dc-a', 'dc-b', 'dc-c'], layout: [2, 2, 1] } });
    expect(printed.url).toMatch(new RegExp(`#/clusters/${local.id}/topology$`));
    child.kill('SIGINT');
    expect(await exitOf(child), stderr()).toBe(0);
    expect(existsSync(local.local?.dataDir as string)).toBe(false);
    await expect(connect({ endpoints: local.endpoints, token: 'x', requestTimeoutMs: 1000 })).rejects.toMatchObject({ code: 'Unavailable' });
  });
});
