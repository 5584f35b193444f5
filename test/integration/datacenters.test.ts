// Several datacenters on real processes: a 2,2,1 local cluster with injected WAN latency
// reports three datacenters and five nodes with measured RTTs that match the injected latency;
// isolating a datacenter keeps writes and locks going in the other two, healing catches the
// isolated nodes up, and isolating the leader's datacenter moves the leader to a preferred one.

import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../core/client/index.ts';
import type { WardenClient } from '../../core/client/index.ts';
import { cleanup, runCli, startLocalCluster, stopCluster, tempDir, waitFor } from './helpers.ts';

afterAll(cleanup);

describe('a 2,2,1 local cluster with WAN latency', () => {
  it('reports three datacenters, five nodes, and RTTs matching the injected latency', async () => {
    const data = tempDir();
    const cluster = await startLocalCluster(['--dcs', '3', '--layout', '2,2,1', '--wan-latency', 'dc-a:dc-b=30,dc-a:dc-c=45,dc-b:dc-c=35', '--data', data]);
    try {
      const env = { WARDEN_ENDPOINTS: cluster.summary.endpoints.join(','), WARDEN_TOKEN: cluster.summary.adminToken };
      const client = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken });
      // Let every link take a few RTT samples.
      const topo = await waitFor('RTTs on every link', async () => {
        const t = await client.topology();
        return t.rtt.length >= 20 ? t : null;
      }, 30_000, 250);
      expect(topo.datacenters.map((d) => [d.name, d.nodes.length])).toEqual([
        ['dc-a', 2],
        ['dc-b', 2],
        ['dc-c', 1],
      ]);
      const dcOf = new Map(topo.datacenters.flatMap((d) => d.nodes.map((n) => [n.id, d.name] as const)));
      const lan = topo.rtt.filter((r) => dcOf.get(r.from) === dcOf.get(r.to)).map((r) => r.ms);
      const lanRtt = Math.max(...lan);
      const injected: Record<string, number> = { 'dc-a|dc-b': 60, 'dc-a|dc-c': 90, 'dc-b|dc-c': 70 };
      for (const r of topo.rtt) {
        const a = dcOf.get(r.from) as string;
        const b = dcOf.get(r.to) as string;
        if (a === b) continue;
        const expected = injected[a < b ? `${a}|${b}` : `${b}|${a}`] as number;
        expect(r.ms, `${r.from}->${r.to}`).toBeGreaterThanOrEqual(expected);
        expect(r.ms, `${r.from}->${r.to}`).toBeLessThanOrEqual(expected * 1.25 + lanRtt);
      }
      expect(topo.electionTimeoutMs).toBeGreaterThanOrEqual(10 * 90);
      const cli = JSON.parse((await runCli(['topology', '--json'], env)).stdout) as { datacenters: unknown[] };
      expect(cli.datacenters).toHaveLength(3);
      await client.close();
    } finally {
      await stopCluster(cluster);
    }
  });

  it('keeps serving when a datacenter is isolated, catches up after heal, and prefers the named datacenter', async () => {
    const data = tempDir();
    const cluster = await startLocalCluster(['--dcs', '3', '--layout', '2,2,1', '--preferred', 'dc-a,dc-b', '--data', data]);
    const fault = async (...args: string[]): Promise<void> => {
      const r = await runCli(['cluster', 'fault', ...args, '--data', data]);
      expect(r.code, r.stderr).toBe(0);
    };
    let client: WardenClient | null = null;
    try {
      client = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken, requestTimeoutMs: 15_000 });
      const c = client;
      const leaderDc = await waitFor('a leader in dc-a', async () => ((await c.status()).leader?.datacenter === 'dc-a' ? 'dc-a' : null), 30_000, 200);
      expect(leaderDc).toBe('dc-a');
      const acked: string[] = [];
      for (let i = 0; i < 20; i++) {
        await c.kv.put(`/dc/before/${i}`, `v${i}`);
        acked.push(`/dc/before/${i}`);
      }
      // Isolate the leader's datacenter: the leader must move to dc-b (preferred), not dc-c.
      const started = Date.now();
      await fault('isolate', 'dc-a');
      const moved = await waitFor('a leader outside dc-a', async () => {
        const s = await c.status();
        return s.leader && s.leader.datacenter !== 'dc-a' && s.nodes.find((n) => n.id === s.leader?.id)?.state === 'leader' ? s.leader : null;
      }, 30_000, 200);
      expect(moved.datacenter).toBe('dc-b');
      await c.kv.put('/dc/during', 'x');
      acked.push('/dc/during');
      const session = await c.openSession({ ttlMs: 10_000 });
      const lock = await session.acquire('dc/lock');
      expect(lock.token).toBeGreaterThan(0);
      await lock.release();
      expect(Date.now() - started).toBeLessThan(20_000);

      await fault('heal');
      await waitFor('dc-a to catch up', async () => {
        const s = await c.status();
        const leader = s.nodes.find((n) => n.state === 'leader');
        return leader && s.nodes.filter((n) => n.datacenter === 'dc-a').every((n) => n.appliedIndex >= leader.commitIndex && n.state === 'follower' || n.state === 'leader');
      }, 30_000, 200);
      for (const key of acked) expect((await c.kv.get(key))?.key, key).toBe(key);
      await session.close();
    } finally {
      await client?.close();
      await stopCluster(cluster);
    }
  });
});
