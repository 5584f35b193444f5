// Effectful (binds loopback ports). The ports a local cluster is planned on: free when chosen,
// distinct within one cluster, and below the kernel's ephemeral range, so an outgoing connection
// made before a node binds cannot take one.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, planCluster } from '../../../core/cli/localCluster.ts';

function ephemeralFloor(): number | null {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return null;
  }
}

describe('local cluster ports', () => {
  it('plans every node on distinct ports below the ephemeral range', async () => {
    const spec = await planCluster({ dcs: 3, layout: [2, 2, 1], basePort: null, dataDir: null, host: '127.0.0.1', learners: 2 });
    const ports = spec.nodes.flatMap((n) => [n.peerPort, n.clientPort]);
    expect(ports).toHaveLength(14);
    expect(new Set(ports).size).toBe(14);
    const floor = ephemeralFloor();
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20000);
      if (floor !== null) expect(port).toBeLessThan(floor);
    }
  });

  it('never hands out a port that is in use, or one already chosen', async () => {
    const chosen = new Set<number>();
    const servers = [];
    try {
      // Occupy the first 40 ports it gives out; the next ones must avoid them.
      for (let i = 0; i < 40; i++) {
        const port = await freePort('127.0.0.1', chosen);
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', resolve);
        });
        servers.push(server);
      }
      expect(chosen.size).toBe(40);
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('keeps the given base ports when asked to', async () => {
    const spec = await planCluster({ dcs: 1, layout: [3], basePort: 7000, dataDir: null, host: '127.0.0.1' });
    expect(spec.nodes.map((n) => [n.peerPort, n.clientPort])).toEqual([
      [7000, 7001],
      [7002, 7003],
      [7004, 7005],
    ]);
  });
});
