// Effectful. `warden cluster local` and the console's launcher: generates a cluster (secret,
// tokens, ports, one data dir per node), starts one process per node, waits for a leader, and
// stops everything on SIGINT/SIGTERM. Reusing --data restarts the same cluster with its data.

import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { connect } from '../client/index.ts';
import { UsageError } from './args.ts';

/** LocalNodeSpec is one node of a generated local cluster. */
export interface LocalNodeSpec {
  readonly id: string;
  readonly datacenter: string;
  /** Learners replicate and serve serializable reads but do not vote (absent: voter). */
  readonly role?: 'voter' | 'learner';
  readonly peerPort: number;
  readonly clientPort: number;
}

/** LocalClusterSpec is what `cluster.json` in the data dir records, so a restart reuses it. */
export interface LocalClusterSpec {
  readonly version: 1;
  readonly clusterId: string;
  readonly secret: string;
  readonly adminToken: string;
  readonly clientToken: string;
  readonly readerToken: string;
  readonly nodes: readonly LocalNodeSpec[];
  /** One-way WAN latency between datacenters, in ms: latency[a][b]. */
  readonly latency: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Datacenters whose voters should lead, in order of preference. */
  readonly preferred?: readonly string[];
  /** Random extra delay (0..jitterMs) and loss on links between datacenters. */
  readonly jitterMs?: number;
  readonly lossPercent?: number;
}

/** LocalClusterOptions are the command-line options. */
export interface LocalClusterOptions {
  readonly dcs: number;
  readonly layout: readonly number[] | null;
  readonly basePort: number | null;
  readonly dataDir: string | null;
  readonly host: string;
  /** Overrides of the default one-way latency matrix. */
  readonly latency?: LatencySpec | null;
  /** Preferred datacenters for the leader. */
  readonly preferred?: readonly string[];
  /** Extra learner nodes, placed in the last datacenter. */
  readonly learners?: number;
  readonly jitterMs?: number;
  readonly lossPercent?: number;
  /** How to run a node process (absent: this Node.js running warden.js). */
  readonly nodeCommand?: NodeCommand;
}

/**
 * NodeCommand runs `warden node`: the executable, the arguments before `node --config FILE`,
 * and extra environment. The desktop app passes its own binary with ELECTRON_RUN_AS_NODE=1,
 * because a packaged app has no separate Node.js to run.
 */
export interface NodeCommand {
  readonly execPath: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** LaunchStep is one step of `launch`, for a progress display. */
export interface LaunchStep {
  readonly stage: 'starting' | 'electing' | 'ready';
  /** Nodes whose client port answers /health. */
  readonly nodesStarted: number;
  readonly nodesTotal: number;
}

/** LatencySpec is a uniform one-way latency or per-pair values ("dc-a:dc-b" → ms). */
export type LatencySpec = { readonly uniform: number } | { readonly pairs: Readonly<Record<string, number>> };

/** defaultLatency is the one-way latency between datacenters i and j: tens of milliseconds. */
export function defaultLatency(i: number, j: number): number {
  const table: Record<string, number> = { '0,1': 30, '0,2': 45, '1,2': 35 };
  const key = `${Math.min(i, j)},${Math.max(i, j)}`;
  return table[key] ?? 25 + 5 * ((i + j) % 5);
}

/** parseLatency reads --wan-latency: "30" or "dc-a:dc-b=30,dc-b:dc-c=40". */
export function parseLatency(text: string): LatencySpec {
  if (/^\d+$/.test(text)) return { uniform: Number(text) };
  const pairs: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^([A-Za-z0-9._-]+):([A-Za-z0-9._-]+)=(\d+)$/.exec(part.trim());
    if (!m) throw new UsageError(`--wan-latency expects MS or DC1:DC2=MS[,...], got ${JSON.stringify(part)}`);
    const ms = Number(m[3]);
    if (ms > 10_000) throw new UsageError('--wan-latency values must be at most 10000 ms');
    pairs[`${m[1]}:${m[2]}`] = ms;
  }
  return { pairs };
}

const WARDEN_JS = fileURLToPath(new URL('./warden.js', import.meta.url));

/** datacenterName names the i-th datacenter dc-a, dc-b, ... */
export function datacenterName(i: number): string {
  return `dc-${String.fromCharCode(97 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ''}`;
}

/** defaultLayout spreads voters so that losing any one datacenter keeps a majority where possible. */
export function defaultLayout(dcs: number): number[] {
  if (dcs === 1) return [3];
  if (dcs === 3) return [2, 2, 1];
  return Array.from({ length: dcs }, () => 1);
}

/**
 * LOCAL_PORTS is where local clusters look for free ports: below the kernel's ephemeral range
 * (Linux 32768-60999, macOS and Windows 49152-65535), which is where bind(0) and every outgoing
 * connection take theirs. A port found free there cannot be taken by a connection made between
 * the choice and the node's own bind, as a port from bind(0) could.
 */
const LOCAL_PORTS: readonly [number, number] = [20000, 32000];

function ephemeralFloor(): number {
  try {
    const [lo] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return lo !== undefined && Number.isInteger(lo) ? lo : 49152;
  } catch {
    return 49152;
  }
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((answer) => {
    const server = createServer();
    server.once('error', () => answer(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => answer(true)));
  });
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * freePort picks a random port in LOCAL_PORTS (below the ephemeral range) that is free now and
 * not already chosen for this cluster; it falls back to the kernel's choice when the range is
 * unusable (a system whose ephemeral range starts lower) or crowded.
 */
export async function freePort(host: string, chosen: Set<number> = new Set()): Promise<number> {
  const hi = Math.min(LOCAL_PORTS[1], ephemeralFloor() - 1);
  for (let attempt = 0; attempt < 64 && hi > LOCAL_PORTS[0]; attempt++) {
    const port = randomInt(LOCAL_PORTS[0], hi + 1);
    if (chosen.has(port) || !(await canBind(host, port))) continue;
    chosen.add(port);
    return port;
  }
  const port = await kernelPort(host);
  chosen.add(port);
  return port;
}

/** planCluster creates a new cluster spec. */
export async function planCluster(options: LocalClusterOptions): Promise<LocalClusterSpec> {
  const layout = options.layout ?? defaultLayout(options.dcs);
  if (layout.length !== options.dcs) throw new UsageError(`--layout has ${layout.length} datacenters but --dcs is ${options.dcs}`);
  const total = layout.reduce((a, b) => a + b, 0);
  if (total < 1 || total > 15) throw new UsageError('a local cluster has 1 to 15 nodes');
  const nodes: LocalNodeSpec[] = [];
  const chosen = new Set<number>();
  let n = 0;
  for (let dc = 0; dc < layout.length; dc++) {
    for (let k = 0; k < (layout[dc] as number); k++) {
      const peerPort = options.basePort !== null ? options.basePort + 2 * n : await freePort(options.host, chosen);
      const clientPort = options.basePort !== null ? options.basePort + 2 * n + 1 : await freePort(options.host, chosen);
      nodes.push({ id: `n${n + 1}`, datacenter: datacenterName(dc), peerPort, clientPort });
      n++;
    }
  }
  for (let k = 0; k < (options.learners ?? 0); k++) {
    const peerPort = options.basePort !== null ? options.basePort + 2 * n : await freePort(options.host, chosen);
    const clientPort = options.basePort !== null ? options.basePort + 2 * n + 1 : await freePort(options.host, chosen);
    nodes.push({ id: `n${n + 1}`, datacenter: datacenterName(layout.length - 1), role: 'learner', peerPort, clientPort });
    n++;
  }
  // NB: hex, so a token never starts with '-' and reads as an option on a command line.
  const token = (): string => randomBytes(24).toString('hex');
  const latency: Record<string, Record<string, number>> = {};
  for (let i = 0; i < layout.length; i++) {
    const a = datacenterName(i);
    latency[a] = {};
    for (let j = 0; j < layout.length; j++) {
      if (i === j) continue;
      const b = datacenterName(j);
      let ms = defaultLatency(i, j);
      const spec = options.latency;
      if (spec && 'uniform' in spec) ms = spec.uniform;
      else if (spec && 'pairs' in spec) ms = spec.pairs[`${a}:${b}`] ?? spec.pairs[`${b}:${a}`] ?? ms;
      (latency[a] as Record<string, number>)[b] = ms;
    }
  }
  const names = layout.map((_, i) => datacenterName(i));
  for (const dc of options.preferred ?? []) if (!names.includes(dc)) throw new UsageError(`--preferred names ${dc}, which is not one of ${names.join(', ')}`);
  return { version: 1, clusterId: `local-${randomBytes(4).toString('hex')}`, secret: randomBytes(32).toString('hex'), adminToken: token(), clientToken: token(), readerToken: token(), nodes, latency, preferred: options.preferred ?? [], jitterMs: options.jitterMs ?? 0, lossPercent: options.lossPercent ?? 0 };
}

/** nodeConfigYaml renders one node's configuration file. */
export function nodeConfigYaml(spec: LocalClusterSpec, node: LocalNodeSpec, dataDir: string, host: string): string {
  return toYaml({
    id: node.id,
    datacenter: node.datacenter,
    dataDir,
    clusterId: spec.clusterId,
    secret: spec.secret,
    listen: { peer: `${host}:${node.peerPort}`, client: `${host}:${node.clientPort}` },
    members: spec.nodes.map((m) => ({ id: m.id, datacenter: m.datacenter, role: m.role ?? 'voter', peerUrl: `ws://${host}:${m.peerPort}/peer`, clientUrl: `ws://${host}:${m.clientPort}/client` })),
    // Several datacenters: WAN timeouts, and the injected latency between them.
    timeouts: { profile: new Set(spec.nodes.map((n) => n.datacenter)).size > 1 ? 'wan' : 'lan' },
    faults: { enabled: true, delayMsByDatacenter: { ...(spec.latency?.[node.datacenter] ?? {}) }, jitterMs: spec.jitterMs ?? 0, lossPercent: spec.lossPercent ?? 0 },
    preferredDatacenters: [...(spec.preferred ?? [])],
    tokens: [
      { name: 'admin', token: spec.adminToken, role: 'admin' },
      { name: 'client', token: spec.clientToken, role: 'client', prefixes: ['/'] },
      { name: 'reader', token: spec.readerToken, role: 'reader' },
    ],
  });
}

/** LocalCluster is a running set of node processes. */
export class LocalCluster {
  readonly spec: LocalClusterSpec;
  readonly dataDir: string;
  readonly host: string;
  readonly children = new Map<string, ChildProcess>();
  /** Datacenters each node currently cannot reach (isolation faults). */
  private readonly blocked = new Map<string, Set<string>>();
  private control: Server | null = null;
  private readonly nodeCommand: NodeCommand | null;

  constructor(spec: LocalClusterSpec, dataDir: string, host: string, nodeCommand: NodeCommand | null = null) {
    this.spec = spec;
    this.dataDir = dataDir;
    this.host = host;
    this.nodeCommand = nodeCommand;
  }

  /** open loads or plans the cluster in a data dir and writes the node configs. */
  static async open(options: LocalClusterOptions): Promise<LocalCluster> {
    const dataDir = options.dataDir ? resolve(options.dataDir) : mkdtempSync(join(tmpdir(), 'warden-local-'));
    mkdirSync(dataDir, { recursive: true });
    const specPath = join(dataDir, 'cluster.json');
    let spec: LocalClusterSpec;
    if (existsSync(specPath)) {
      try {
        spec = JSON.parse(readFileSync(specPath, 'utf8')) as LocalClusterSpec;
      } catch (err) {
        throw new UsageError(`${specPath} is not a readable cluster description (${(err as Error).message}); use another --data directory`);
      }
      if (spec.version !== 1 || !Array.isArray(spec.nodes)) throw new UsageError(`${specPath} was written by another version of warden`);
      if (typeof spec.latency !== 'object' || spec.latency === null) spec = { ...spec, latency: {} };
    } else {
      spec = await planCluster(options);
      writeFileSync(specPath, `${JSON.stringify(spec, null, 2)}\n`, { mode: 0o600 });
    }
    const cluster = new LocalCluster(spec, dataDir, options.host, options.nodeCommand ?? null);
    for (const node of spec.nodes) {
      mkdirSync(join(dataDir, node.id), { recursive: true });
      writeFileSync(cluster.configPath(node.id), nodeConfigYaml(spec, node, join(dataDir, node.id, 'data'), options.host), { mode: 0o600 });
    }
    return cluster;
  }

  configPath(id: string): string {
    return join(this.dataDir, id, 'node.yaml');
  }

  endpoints(): string[] {
    return this.spec.nodes.map((n) => `ws://${this.host}:${n.clientPort}/client`);
  }

  /** startNode spawns one node process, logging to <data>/<id>/node.log. */
  startNode(id: string): ChildProcess {
    const existing = this.children.get(id);
    if (existing && existing.exitCode === null && existing.signalCode === null) return existing;
    const logFd = openSync(join(this.dataDir, id, 'node.log'), 'a');
    // WARDEN_NODE_FLAGS passes extra Node.js flags to node processes (for example --cpu-prof).
    const flags = (process.env.WARDEN_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const command = this.nodeCommand ?? { execPath: process.execPath, args: [...flags, WARDEN_JS] };
    const child = spawn(command.execPath, [...command.args, 'node', '--config', this.configPath(id)], {
      stdio: ['ignore', logFd, logFd, 'ipc'],
      env: { ...process.env, ...(command.env ?? {}), WARDEN_EXIT_WITH_PARENT: '1' },
    });
    closeSync(logFd);
    this.children.set(id, child);
    return child;
  }

  startAll(): void {
    for (const node of this.spec.nodes) this.startNode(node.id);
  }

  /** waitForLeader polls status until a leader is known and every node answers, or times out. */
  async waitForLeader(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = 'no answer';
    while (Date.now() < deadline) {
      if (signal?.aborted) throw new Error('the launch was stopped');
      for (const [id, child] of this.children) {
        if (child.exitCode !== null) throw new Error(`node ${id} exited with status ${child.exitCode}; see ${join(this.dataDir, id, 'node.log')}`);
      }
      try {
        const client = await connect({ endpoints: this.endpoints(), token: this.spec.adminToken, requestTimeoutMs: 2000 });
        try {
          const status = await client.status();
          if (status.leader) return;
          lastError = 'no leader yet';
        } finally {
          client.close();
        }
      } catch (err) {
        lastError = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the cluster did not elect a leader within ${timeoutMs} ms (${lastError})`);
  }

  /**
   * launch starts every node, waits until each answers /health on its client port, then until
   * the cluster has a leader, reporting each step. An abort (the user stopped the launch) or a
   * node that exits ends it with an error; the caller stops what was started.
   */
  async launch(options: { timeoutMs: number; onProgress?: (step: LaunchStep) => void; signal?: AbortSignal }): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    const total = this.spec.nodes.length;
    const checkAlive = (): void => {
      if (options.signal?.aborted) throw new Error('the launch was stopped');
      for (const [id, child] of this.children) {
        if (child.exitCode !== null || child.signalCode !== null) {
          const logPath = join(this.dataDir, id, 'node.log');
          let last = '';
          try {
            last = readFileSync(logPath, 'utf8').trim().split('\n').at(-1)?.slice(0, 400) ?? '';
          } catch {
            // No log yet: the message names where it would be.
          }
          throw new Error(`node ${id} exited (${child.exitCode ?? child.signalCode}) while starting${last ? `: ${last}` : ''}; see ${logPath}`);
        }
      }
    };
    options.onProgress?.({ stage: 'starting', nodesStarted: 0, nodesTotal: total });
    this.startAll();
    const answering = new Set<string>();
    while (answering.size < total) {
      checkAlive();
      if (Date.now() > deadline) throw new Error(`only ${answering.size} of ${total} nodes answered within ${options.timeoutMs} ms; see the node.log files in ${this.dataDir}`);
      for (const node of this.spec.nodes) {
        if (answering.has(node.id) || !(await this.answersHealth(node.clientPort))) continue;
        answering.add(node.id);
        options.onProgress?.({ stage: 'starting', nodesStarted: answering.size, nodesTotal: total });
      }
      if (answering.size < total) await new Promise((r) => setTimeout(r, 100));
    }
    options.onProgress?.({ stage: 'electing', nodesStarted: total, nodesTotal: total });
    checkAlive();
    await this.waitForLeader(Math.max(1000, deadline - Date.now()), options.signal);
    options.onProgress?.({ stage: 'ready', nodesStarted: total, nodesTotal: total });
  }

  private async answersHealth(port: number): Promise<boolean> {
    try {
      const res = await fetch(`http://${this.host}:${port}/health`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** stopAll sends SIGTERM, then SIGKILL to what is still running after a grace period. */
  async stopAll(graceMs = 5000): Promise<void> {
    const running = [...this.children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
    await Promise.all(
      running.map(
        (child) =>
          new Promise<void>((resolveStop) => {
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            child.once('exit', () => {
              clearTimeout(timer);
              resolveStop();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }

  private nodeEndpoint(id: string): string {
    const n = this.spec.nodes.find((x) => x.id === id);
    if (!n) throw new UsageError(`no node ${id} in this cluster (nodes: ${this.spec.nodes.map((x) => x.id).join(', ')})`);
    return `ws://${this.host}:${n.clientPort}/client`;
  }

  private datacenters(): string[] {
    return [...new Set(this.spec.nodes.map((n) => n.datacenter))];
  }

  /** applyFaults pushes a node's current latency row and isolation to it (bounded retries). */
  private async applyFaults(id: string, timeoutMs = 15_000): Promise<void> {
    const node = this.spec.nodes.find((x) => x.id === id);
    if (!node) return;
    const client = await connect({ endpoints: [this.nodeEndpoint(id)], token: this.spec.adminToken, requestTimeoutMs: timeoutMs });
    try {
      await client.setNetworkFaults({ delayMsByDatacenter: { ...(this.spec.latency[node.datacenter] ?? {}) }, blockedDatacenters: [...(this.blocked.get(id) ?? [])] });
    } finally {
      await client.close();
    }
  }

  private async stopNode(id: string, signal: NodeJS.Signals): Promise<void> {
    const child = this.children.get(id);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolveStop) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolveStop();
      });
      child.kill(signal);
    });
  }

  /**
   * fault applies one fault-control action: stop, kill or restart a node; isolate a datacenter;
   * heal every isolation; or set the one-way latency between two datacenters.
   */
  async fault(action: string, args: readonly string[]): Promise<string> {
    const need = (n: number, usage: string): void => {
      if (args.length < n) throw new UsageError(`usage: warden cluster fault ${usage}`);
    };
    switch (action) {
      case 'stop':
        need(1, 'stop NODE');
        this.nodeEndpoint(args[0] as string);
        await this.stopNode(args[0] as string, 'SIGTERM');
        return `stopped ${args[0]}`;
      case 'kill':
        need(1, 'kill NODE');
        this.nodeEndpoint(args[0] as string);
        await this.stopNode(args[0] as string, 'SIGKILL');
        return `killed ${args[0]}`;
      case 'restart': {
        need(1, 'restart NODE');
        const id = args[0] as string;
        this.nodeEndpoint(id);
        await this.stopNode(id, 'SIGTERM');
        this.startNode(id);
        await this.applyFaults(id);
        return `restarted ${id}`;
      }
      case 'isolate': {
        need(1, 'isolate DATACENTER');
        const dc = args[0] as string;
        if (!this.datacenters().includes(dc)) throw new UsageError(`no datacenter ${dc} (datacenters: ${this.datacenters().join(', ')})`);
        for (const n of this.spec.nodes) {
          const set = this.blocked.get(n.id) ?? new Set<string>();
          if (n.datacenter === dc) for (const other of this.datacenters()) if (other !== dc) set.add(other);
          if (n.datacenter !== dc) set.add(dc);
          this.blocked.set(n.id, set);
        }
        await this.applyAll();
        return `isolated ${dc}`;
      }
      case 'heal':
        this.blocked.clear();
        await this.applyAll();
        return 'healed';
      case 'latency': {
        need(3, 'latency DC1 DC2 MS');
        const [a, b, msText] = args as [string, string, string];
        for (const dc of [a, b]) if (!this.datacenters().includes(dc)) throw new UsageError(`no datacenter ${dc}`);
        if (!/^\d+$/.test(msText) || Number(msText) > 10_000) throw new UsageError('MS must be an integer from 0 to 10000');
        const latency = this.spec.latency as Record<string, Record<string, number>>;
        (latency[a] ??= {})[b] = Number(msText);
        (latency[b] ??= {})[a] = Number(msText);
        writeFileSync(join(this.dataDir, 'cluster.json'), `${JSON.stringify(this.spec, null, 2)}\n`, { mode: 0o600 });
        await this.applyAll();
        return `latency ${a} <-> ${b} set to ${msText} ms one way`;
      }
      default:
        throw new UsageError('usage: warden cluster fault stop|kill|restart NODE | isolate DC | heal | latency DC1 DC2 MS');
    }
  }

  private async applyAll(): Promise<void> {
    const running = this.spec.nodes.filter((n) => {
      const c = this.children.get(n.id);
      return c && c.exitCode === null && c.signalCode === null;
    });
    await Promise.all(running.map((n) => this.applyFaults(n.id, 5000).catch(() => undefined)));
  }

  /**
   * startControl serves fault controls on 127.0.0.1 to holders of the admin token, and records
   * its address in <data>/control.json for `warden cluster fault`.
   */
  async startControl(): Promise<string> {
    const server = createHttpServer((req, res) => {
      const reply = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `Bearer ${this.spec.adminToken}`) return reply(401, { error: 'admin token required' });
      if (req.method !== 'POST' || req.url !== '/fault') return reply(404, { error: 'POST /fault' });
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
        if (body.length > 4096) req.destroy();
      });
      req.on('end', () => {
        let parsed: { action?: unknown; args?: unknown };
        try {
          parsed = JSON.parse(body) as { action?: unknown; args?: unknown };
        } catch {
          return reply(400, { error: 'body must be JSON {action, args}' });
        }
        if (typeof parsed.action !== 'string' || !Array.isArray(parsed.args) || parsed.args.some((a) => typeof a !== 'string')) return reply(400, { error: 'body must be {action: string, args: string[]}' });
        this.fault(parsed.action, parsed.args as string[]).then(
          (message) => reply(200, { ok: true, message }),
          (err: Error) => reply(err instanceof UsageError ? 400 : 500, { error: err.message }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.control = server;
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    writeFileSync(join(this.dataDir, 'control.json'), `${JSON.stringify({ url, pid: process.pid })}\n`, { mode: 0o600 });
    return url;
  }

  /** stopControl closes the control server. */
  stopControl(): void {
    this.control?.close();
    this.control = null;
  }

  /** summary is the one-line JSON the design fixes for `--json`. */
  summary(): { endpoints: string[]; adminToken: string; nodes: { id: string; datacenter: string; client: string; pid: number | null }[]; dataDir: string } {
    return {
      endpoints: this.endpoints(),
      adminToken: this.spec.adminToken,
      nodes: this.spec.nodes.map((n) => ({ id: n.id, datacenter: n.datacenter, client: `ws://${this.host}:${n.clientPort}/client`, pid: this.children.get(n.id)?.pid ?? null })),
      dataDir: this.dataDir,
    };
  }
}
