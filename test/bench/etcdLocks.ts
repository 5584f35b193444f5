// Effectful. etcd for `npm run bench -- rivals etcd`: a local 3-member cluster of Debian's etcd
// 3.4, and a client of its v3lock service over gRPC. etcd's own client (`etcdctl lock`, Go's
// concurrency package) takes a lock the same way: a lease for the client's session, then Lock
// with the lock's name and the lease, which answers once the caller holds the lock; Unlock with
// the key it returned. The few messages involved are encoded here (protobuf's wire format) rather
// than generated from etcd's .proto files.

import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, credentials } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { freePort } from '../../core/cli/localCluster.ts';
import type { BenchLocker } from './lockWorkload.ts';
import { bytesField, fields, intField } from './protobufWire.ts';
import { waitFor } from '../integration/helpers.ts';
import { logTails, spawnServer, stopServers } from './servers.ts';
import type { Servers } from './servers.ts';

const HOST = '127.0.0.1';
export const ETCD_BINARY = '/usr/bin/etcd';
/** The leases live through a whole bench (which sends no keep-alives), however many levels it runs. */
const LEASE_TTL_S = 3600;

const serialize = (bytes: number[]): Buffer => Buffer.from(bytes);
const deserialize = (buf: Buffer): Map<number, bigint | Buffer> => fields(buf);

/**
 * EtcdLocker is one etcd client: its own HTTP/2 connection to one member and its own lease,
 * granted when it opens (etcd's session), under which it takes locks.
 */
export class EtcdLocker implements BenchLocker {
  private constructor(private readonly client: Client, private readonly lease: bigint) {}

  static async open(endpoint: string): Promise<EtcdLocker> {
    // A pool of its own, or grpc-js would share one connection among clients of the same member.
    const client = new Client(endpoint, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    const grant = await EtcdLocker.unary(client, '/etcdserverpb.Lease/LeaseGrant', intField(1, BigInt(LEASE_TTL_S)));
    const id = grant.get(2);
    if (typeof id !== 'bigint' || id === 0n) throw new Error(`bench: etcd granted no lease (${String(grant.get(4) ?? '')})`);
    return new EtcdLocker(client, id);
  }

  private static unary(client: Client, method: string, request: number[]): Promise<Map<number, bigint | Buffer>> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(method, serialize, deserialize, request, (error: ServiceError | null, reply?: Map<number, bigint | Buffer>) => {
        if (error || !reply) reject(error ?? new Error(`bench: ${method} answered nothing`));
        else resolve(reply);
      });
    });
  }

  async acquire(name: string): Promise<{ release(): Promise<unknown> }> {
    const reply = await EtcdLocker.unary(this.client, '/v3lockpb.Lock/Lock', [...bytesField(1, Buffer.from(name)), ...intField(2, this.lease)]);
    const key = reply.get(2);
    if (!(key instanceof Buffer)) throw new Error(`bench: etcd's Lock of ${name} answered no key`);
    const held = Buffer.from(key);
    return { release: () => EtcdLocker.unary(this.client, '/v3lockpb.Lock/Unlock', bytesField(1, held)) };
  }

  close(): void {
    this.client.close();
  }
}

/** startEtcd starts a 3-member cluster in `dir` and waits until every member reports healthy. */
export async function startEtcd(dir: string): Promise<Servers & { readonly endpoints: readonly string[] }> {
  if (!existsSync(ETCD_BINARY)) throw new Error(`bench: etcd is not installed (${ETCD_BINARY} is missing): apt-get install etcd-server`);
  const chosen = new Set<number>();
  const ports: { client: number; peer: number }[] = [];
  for (let i = 0; i < 3; i++) ports.push({ client: await freePort(HOST, chosen), peer: await freePort(HOST, chosen) });
  const cluster = ports.map((p, i) => `m${i + 1}=http://${HOST}:${p.peer}`).join(',');
  // Each member's dir holds its log and, beside it, the data dir etcd wants to itself.
  const dirs = ports.map((_, i) => join(dir, `etcd${i + 1}`));
  const children: ChildProcess[] = [];
  try {
    ports.forEach((p, i) => {
      const data = join(dirs[i] as string, 'data');
      mkdirSync(data, { recursive: true });
      children.push(
        spawnServer(ETCD_BINARY, [
          '--name', `m${i + 1}`,
          '--data-dir', data,
          '--listen-client-urls', `http://${HOST}:${p.client}`,
          '--advertise-client-urls', `http://${HOST}:${p.client}`,
          '--listen-peer-urls', `http://${HOST}:${p.peer}`,
          '--initial-advertise-peer-urls', `http://${HOST}:${p.peer}`,
          '--initial-cluster', cluster,
          '--initial-cluster-token', 'warden-bench',
          '--initial-cluster-state', 'new',
          '--logger', 'zap',
          '--log-level', 'warn',
        ], dirs[i] as string),
      );
    });
    await waitFor('the etcd cluster', async () => {
      const health = await Promise.all(ports.map(async (p) => ((await (await fetch(`http://${HOST}:${p.client}/health`)).json()) as { health?: string }).health));
      return health.every((h) => h === 'true');
    }, 60_000, 200);
  } catch (error) {
    await stopServers(children);
    throw new Error(`${(error as Error).message}; the servers' logs end:\n${logTails(dirs)}`, { cause: error });
  }
  return { children, endpoints: ports.map((p) => `${HOST}:${p.client}`), stop: () => stopServers(children) };
}
