// Effectful. `npm run bench -- locks`: a local 3-node cluster; acquire+release cycles on distinct
// names with 1, 8, 32 and 64 clients, and hand-offs of one contended name with 1, 8 and 32
// clients. Prints cycles/s, acquire p50/p99, the nodes' CPU time per cycle (Linux) and the
// clients' (this process), medians over --runs runs, and the machine. The workload is
// lockWorkload.ts, which `npm run bench -- rivals` runs against ZooKeeper and etcd.

import { rmSync } from 'node:fs';
import { connect } from '../../core/client/index.ts';
import { LocalCluster } from '../../core/cli/localCluster.ts';
import { maxClients, runLockLevels } from './lockWorkload.ts';
import type { LockLevels } from './lockWorkload.ts';

/** runLocksBench runs both scenarios against Warden and prints a table. */
export async function runLocksBench(levels: LockLevels): Promise<void> {
  const cluster = await LocalCluster.open({ dcs: 1, layout: [3], basePort: null, dataDir: null, host: '127.0.0.1' });
  cluster.startAll();
  try {
    await cluster.waitForLeader(60_000);
    const clients = await Promise.all(Array.from({ length: maxClients(levels) }, () => connect({ endpoints: cluster.endpoints(), token: cluster.spec.adminToken })));
    const sessions = await Promise.all(clients.map((c) => c.openSession({ ttlMs: 30_000, info: { app: 'bench' } })));
    await runLockLevels('locks, local 3-node cluster', {
      // A session's own acquire: its Lock is the release, so the loop is the SDK's and nothing more.
      lockers: sessions.map((s) => ({ acquire: (name: string) => s.acquire(name, { waitMs: 60_000 }) })),
      serverPids: () => [...cluster.children.values()].map((child) => child.pid),
    }, levels);
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await cluster.stopAll();
    // The cluster's temporary data dir (the bench planned it: no --data).
    rmSync(cluster.dataDir, { recursive: true, force: true });
  }
}
