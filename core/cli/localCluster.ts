// Effectful. `warden cluster local`: generates a cluster (secret, tokens, ports, one data dir
// per node), starts one process per node, waits for a leader, and stops everything on
// SIGINT/SIGTERM. Reusing --data restarts the same cluster with its data.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
}

/** LocalClusterOptions are the command-line options. */
export interface LocalClusterOptions {
  readonly dcs: number;
  readonly layout: readonly number[] | null;
  readonly basePort: number | null;
  readonly dataDir: string | null;
  readonly host: string;
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

async function freePort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolvePort(port));
    });
  });
}

/** planCluster creates a new cluster spec. */
export async function planCluster(options: LocalClusterOptions): Promise<LocalClusterSpec> {
  const layout = options.layout ?? defaultLayout(options.dcs);
  if (layout.length !== options.dcs) throw new UsageError(`--layout has ${layout.length} datacenters but --dcs is ${options.dcs}`);
  const total = layout.reduce((a, b) => a + b, 0);
  if (total < 1 || total > 15) throw new UsageError('a local cluster has 1 to 15 nodes');
  const nodes: LocalNodeSpec[] = [];
  let n = 0;
  for (let dc = 0; dc < layout.length; dc++) {
    for (let k = 0; k < (layout[dc] as number); k++) {
      const peerPort = options.basePort !== null ? options.basePort + 2 * n : await freePort(options.host);
      const clientPort = options.basePort !== null ? options.basePort + 2 * n + 1 : await freePort(options.host);
      nodes.push({ id: `n${n + 1}`, datacenter: datacenterName(dc), peerPort, clientPort });
      n++;
    }
  }
  const token = (): string => randomBytes(24).toString('base64url');
  return { version: 1, clusterId: `local-${randomBytes(4).toString('hex')}`, secret: randomBytes(32).toString('hex'), adminToken: token(), clientToken: token(), readerToken: token(), nodes };
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
    members: spec.nodes.map((m) => ({ id: m.id, datacenter: m.datacenter, role: 'voter', peerUrl: `ws://${host}:${m.peerPort}/peer`, clientUrl: `ws://${host}:${m.clientPort}/client` })),
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

  constructor(spec: LocalClusterSpec, dataDir: string, host: string) {
    this.spec = spec;
    this.dataDir = dataDir;
    this.host = host;
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
    } else {
      spec = await planCluster(options);
      writeFileSync(specPath, `${JSON.stringify(spec, null, 2)}\n`, { mode: 0o600 });
    }
    const cluster = new LocalCluster(spec, dataDir, options.host);
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
    const child = spawn(process.execPath, [...flags, WARDEN_JS, 'node', '--config', this.configPath(id)], {
      stdio: ['ignore', logFd, logFd, 'ipc'],
      env: { ...process.env, WARDEN_EXIT_WITH_PARENT: '1' },
    });
    closeSync(logFd);
    this.children.set(id, child);
    return child;
  }

  startAll(): void {
    for (const node of this.spec.nodes) this.startNode(node.id);
  }

  /** waitForLeader polls status until a leader is known and every node answers, or times out. */
  async waitForLeader(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = 'no answer';
    while (Date.now() < deadline) {
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
