// Effectful. `npm run bench -- rivals [zookeeper|etcd]`: the locks bench's workload (lockWorkload.ts)
// against a local 3-server ZooKeeper ensemble and a local 3-member etcd cluster, from Debian's
// packages (`apt-get install zookeeper etcd-server`), so that Warden's figures can be read beside
// theirs from the same machine at the same time. ZooKeeper's clients use the ephemeral-sequential
// lock recipe (each waiter watches its predecessor); etcd's use its v3lock service, one lease per
// client. Every server listens on 127.0.0.1 at free ports with a temporary data dir, and is
// stopped (and its dir removed) however the bench ends.

import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../core/cli/localCluster.ts';
import { maxClients, runLockLevels } from './lockWorkload.ts';
import type { BenchLocker, LockLevels } from './lockWorkload.ts';
import { EtcdLocker, startEtcd } from './etcdLocks.ts';
import { waitFor } from '../integration/helpers.ts';
import { logTails, spawnServer, stopServers } from './servers.ts';
import type { Servers } from './servers.ts';

const HOST = '127.0.0.1';
const ZK_JAR = '/usr/share/java/zookeeper.jar';
const ZK_CONF = '/etc/zookeeper/conf';
export const RIVALS = ['zookeeper', 'etcd'] as const;
export type Rival = (typeof RIVALS)[number];
/**
 * RIVAL_WARMUP_S: the rivals get an unmeasured warm-up first (the JVM compiles ZooKeeper's paths
 * only under load), which Warden's own bench does without: the comparison errs their way.
 */
const RIVAL_WARMUP_S = 20;

// ZooKeeper ----------------------------------------------------------------------------------

/** zkSay sends a four-letter command to a server and returns its answer ('' on any failure). */
function zkSay(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = tcpConnect({ host: HOST, port }, () => socket.end(word));
    socket.setEncoding('utf8');
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(''));
  });
}

/** startZooKeeper starts a 3-server ensemble and waits until it has a leader and two followers. */
async function startZooKeeper(dir: string): Promise<Servers & { readonly connectString: string }> {
  const chosen = new Set<number>();
  const ports: { client: number; quorum: number; election: number }[] = [];
  for (let i = 0; i < 3; i++) ports.push({ client: await freePort(HOST, chosen), quorum: await freePort(HOST, chosen), election: await freePort(HOST, chosen) });
  const dirs = ports.map((_, i) => join(dir, `zk${i + 1}`));
  const children: ChildProcess[] = [];
  try {
    ports.forEach((p, i) => {
      const data = dirs[i] as string;
      mkdirSync(data, { recursive: true });
      writeFileSync(join(data, 'myid'), `${i + 1}\n`);
      const cfg = [
        'tickTime=2000',
        'initLimit=10',
        'syncLimit=5',
        `dataDir=${data}`,
        `clientPort=${p.client}`,
        `clientPortAddress=${HOST}`,
        // The admin server would listen on 8080 for every server alike.
        'admin.enableServer=false',
        '4lw.commands.whitelist=srvr',
        ...ports.map((q, j) => `server.${j + 1}=${HOST}:${q.quorum}:${q.election}`),
      ].join('\n');
      const file = join(data, 'zoo.cfg');
      writeFileSync(file, `${cfg}\n`);
      const args = ['-Xmx512m', '-cp', `${ZK_CONF}:${ZK_JAR}`, '-Dzookeeper.root.logger=WARN,CONSOLE', 'org.apache.zookeeper.server.quorum.QuorumPeerMain', file];
      children.push(spawnServer('java', args, data));
    });
    await waitFor('the ZooKeeper ensemble', async () => {
      const modes = await Promise.all(ports.map(async (p) => /Mode: (\w+)/.exec(await zkSay(p.client, 'srvr'))?.[1] ?? ''));
      return modes.filter((m) => m === 'leader').length === 1 && modes.filter((m) => m === 'follower').length === 2;
    }, 60_000, 200);
  } catch (error) {
    await stopServers(children);
    throw new Error(`${(error as Error).message}; the servers' logs end:\n${logTails(dirs)}`, { cause: error });
  }
  return { children, connectString: ports.map((p) => `${HOST}:${p.client}`).join(','), stop: () => stopServers(children) };
}

/** The parts of node-zookeeper-client the recipe uses (the package ships no types). */
interface ZkStat {
  readonly version: number;
}
interface ZkClient {
  connect(): void;
  close(): void;
  once(event: 'connected', listener: () => void): void;
  on(event: 'disconnected' | 'expired', listener: () => void): void;
  create(path: string, data: Buffer | null, acls: unknown, mode: number, callback: (error: Error | null, path: string) => void): void;
  mkdirp(path: string, callback: (error: Error | null) => void): void;
  getChildren(path: string, callback: (error: Error | null, children: string[]) => void): void;
  exists(path: string, watcher: (event: unknown) => void, callback: (error: Error | null, stat: ZkStat | null) => void): void;
  remove(path: string, version: number, callback: (error: Error | null) => void): void;
}
interface ZkModule {
  createClient(connectString: string, options: { sessionTimeout: number; spinDelay: number; retries: number }): ZkClient;
  readonly ACL: { readonly OPEN_ACL_UNSAFE: unknown };
  readonly CreateMode: { readonly EPHEMERAL_SEQUENTIAL: number };
}

function call<T>(op: (callback: (error: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => op((error, value) => (error ? reject(error) : resolve(value))));
}

/**
 * ZkLocker is one ZooKeeper client (connection and session) taking locks by the recipe in
 * ZooKeeper's documentation: an ephemeral-sequential child of the lock's node; the lowest child
 * holds the lock; every other waits for the deletion of the child just below its own.
 */
class ZkLocker implements BenchLocker {
  constructor(private readonly zk: ZkModule, private readonly client: ZkClient) {}

  static async open(zk: ZkModule, connectString: string): Promise<ZkLocker> {
    const client = zk.createClient(connectString, { sessionTimeout: 30_000, spinDelay: 100, retries: 0 });
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bench: a ZooKeeper client did not connect within 20 s')), 20_000);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    client.connect();
    await connected;
    // A lost session would quietly free its locks: the figures would no longer mean anything.
    client.on('expired', () => process.stderr.write('bench: a ZooKeeper session expired\n'));
    return new ZkLocker(zk, client);
  }

  async mkdirp(path: string): Promise<void> {
    await call<void>((cb) => this.client.mkdirp(path, (e) => cb(e, undefined)));
  }

  async acquire(name: string): Promise<{ release(): Promise<unknown> }> {
    const parent = `/${name}`;
    const mine = await call<string>((cb) => this.client.create(`${parent}/lock-`, null, this.zk.ACL.OPEN_ACL_UNSAFE, this.zk.CreateMode.EPHEMERAL_SEQUENTIAL, cb));
    const own = mine.slice(parent.length + 1);
    for (let attempt = 0; attempt < 1_000_000; attempt++) {
      const children = (await call<string[]>((cb) => this.client.getChildren(parent, cb))).sort();
      const at = children.indexOf(own);
      if (at < 0) throw new Error(`bench: ZooKeeper lost ${mine}`);
      if (at === 0) return { release: () => call<void>((cb) => this.client.remove(mine, -1, (e) => cb(e, undefined))) };
      const before = `${parent}/${children[at - 1] as string}`;
      let deleted!: () => void;
      const gone = new Promise<void>((resolve) => (deleted = resolve));
      const stat = await call<ZkStat | null>((cb) => this.client.exists(before, () => deleted(), cb));
      if (stat !== null) await gone;
    }
    throw new Error(`bench: ${mine} never became the lowest child`);
  }

  close(): void {
    this.client.close();
  }
}

async function runZooKeeper(levels: LockLevels): Promise<void> {
  if (!existsSync(ZK_JAR)) throw new Error(`bench: ZooKeeper is not installed (${ZK_JAR} is missing): apt-get install zookeeper`);
  const zk = createRequire(import.meta.url)('node-zookeeper-client') as ZkModule;
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-zk-'));
  let servers: Awaited<ReturnType<typeof startZooKeeper>> | null = null;
  const lockers: ZkLocker[] = [];
  try {
    servers = await startZooKeeper(dir);
    for (let i = 0; i < maxClients(levels); i++) lockers.push(await ZkLocker.open(zk, servers.connectString));
    const pids = servers.children.map((c) => c.pid);
    await runLockLevels('zookeeper 3.8 (ephemeral-sequential recipe), local 3-server ensemble', {
      lockers,
      serverPids: () => pids,
      // The lock nodes' parents, made before a run's clock starts: the recipe needs them to exist.
      prepare: async (names) => {
        const share = Math.ceil(names.length / lockers.length);
        await Promise.all(lockers.map(async (l, i) => {
          for (const name of names.slice(i * share, (i + 1) * share)) await l.mkdirp(`/${name}`);
        }));
      },
    }, levels, RIVAL_WARMUP_S);
  } finally {
    for (const l of lockers) l.close();
    await servers?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runEtcd(levels: LockLevels): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-etcd-'));
  let servers: Awaited<ReturnType<typeof startEtcd>> | null = null;
  const lockers: EtcdLocker[] = [];
  try {
    servers = await startEtcd(dir);
    const endpoints = servers.endpoints;
    // Clients spread over the members, as ZooKeeper's pick a server each; writes go to the leader.
    for (let i = 0; i < maxClients(levels); i++) lockers.push(await EtcdLocker.open(endpoints[i % endpoints.length] as string));
    const pids = servers.children.map((c) => c.pid);
    await runLockLevels('etcd 3.4 (v3lock service, a lease per client), local 3-member cluster', { lockers, serverPids: () => pids }, levels, RIVAL_WARMUP_S);
  } finally {
    for (const l of lockers) l.close();
    await servers?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** runRivalsBench runs the lock workload against each named rival (default: both) in turn. */
export async function runRivalsBench(which: readonly Rival[], levels: LockLevels): Promise<void> {
  for (const rival of which) {
    if (rival === 'zookeeper') await runZooKeeper(levels);
    else await runEtcd(levels);
  }
}
