// Several datacenters on real processes: a 2,2,1 local cluster with injected WAN latency
// reports three datacenters and five nodes with measured RTTs that match the injected latency;
// isolating a datacenter keeps writes and locks going in the other two, healing catches the
// isolated nodes up, and isolating the leader's datacenter moves the leader to a preferred one.

import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connect } from '../../core/client/index.ts';
import type { WardenClient } from '../../core/client/index.ts';
import { cleanup, runCli, startLocalCluster, stopCluster, tempDir, waitFor } from './helpers.ts';

afterAll(cleanup);

interface RawConnection {
  request(method: string, params: Record<string, unknown>): Promise<{ result?: Record<string, unknown>; error?: { code: string } }>;
  close(): void;
}

/** rawConnection is a bare client socket to one node: the SDK would follow the leader elsewhere, and renews on its own schedule. */
async function rawConnection(url: string, token: string): Promise<RawConnection> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 1;
  return {
    request: (method, params) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => reject(new Error(`no answer to ${method}`)), 10_000);
        const onMessage = (text: Buffer): void => {
          const frame = JSON.parse(text.toString()) as { id?: number; result?: Record<string, unknown>; error?: { code: string } };
          if (frame.id !== id) return;
          clearTimeout(timer);
          ws.off('message', onMessage);
          resolve(frame);
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

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
      const byPair = new Map<string, number[]>();
      for (const r of topo.rtt) {
        const a = dcOf.get(r.from) as string;
        const b = dcOf.get(r.to) as string;
        if (a === b) continue;
        const pair = a < b ? `${a}|${b}` : `${b}|${a}`;
        // Injected delay is never undercut on any link.
        expect(r.ms, `${r.from}->${r.to}`).toBeGreaterThanOrEqual(injected[pair] as number);
        byPair.set(pair, [...(byPair.get(pair) ?? []), r.ms]);
      }
      // The measured RTT between two datacenters (the median of their links, so that one link
      // delayed by a busy machine does not decide) is within 25% of the injected one plus the LAN RTT.
      expect([...byPair.keys()].sort()).toEqual(Object.keys(injected).sort());
      for (const [pair, samples] of byPair) {
        const median = [...samples].sort((x, y) => x - y)[Math.floor(samples.length / 2)] as number;
        expect(median, pair).toBeLessThanOrEqual((injected[pair] as number) * 1.25 + lanRtt);
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

      // Each of the other datacenters in turn: writes and locks go on in the remaining two.
      for (const dc of ['dc-b', 'dc-c']) {
        const cut = Date.now();
        await fault('isolate', dc);
        await waitFor(`a leader outside ${dc}`, async () => {
          const s = await c.status();
          return s.leader && s.leader.datacenter !== dc && s.nodes.find((n) => n.id === s.leader?.id)?.state === 'leader' ? s.leader : null;
        }, 30_000, 200);
        // A cut link shows no round trip, from either side.
        const topo = await c.topology();
        const dcOf = new Map(topo.datacenters.flatMap((d) => d.nodes.map((n) => [n.id, d.name] as const)));
        expect(topo.rtt.filter((r) => (dcOf.get(r.from) === dc) !== (dcOf.get(r.to) === dc)), `RTTs across the cut around ${dc}`).toEqual([]);
        expect(topo.rtt.length).toBeGreaterThan(0);
        for (let i = 0; i < 5; i++) {
          await c.kv.put(`/dc/without-${dc}/${i}`, `v${i}`);
          acked.push(`/dc/without-${dc}/${i}`);
        }
        const held = await session.acquire(`dc/lock-without-${dc}`);
        await held.release();
        expect(Date.now() - cut, `serving without ${dc}`).toBeLessThan(20_000);
        await fault('heal');
        await waitFor(`${dc} to catch up`, async () => {
          const s = await c.status();
          const leader = s.nodes.find((n) => n.state === 'leader');
          return leader && s.nodes.filter((n) => n.datacenter === dc).every((n) => n.appliedIndex >= leader.commitIndex) ? true : null;
        }, 30_000, 200);
      }
      for (const key of acked) expect((await c.kv.get(key))?.key, key).toBe(key);
      await session.close();
    } finally {
      await client?.close();
      await stopCluster(cluster);
    }
  });

  it('a leader cut off from the others stops acknowledging keep-alives before it could be replaced', async () => {
    const data = tempDir();
    const cluster = await startLocalCluster(['--dcs', '3', '--layout', '1,1,1', '--data', data]);
    let client: WardenClient | null = null;
    let raw: RawConnection | null = null;
    try {
      client = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken, requestTimeoutMs: 15_000 });
      const c = client;
      // The wan profile (1 s election timeout) leaves a cut-off leader in office for 1-2 s, long
      // enough for keep-alives to reach it while it still believes it leads.
      await c.admin.setSettings({ timeoutProfile: 'wan' });
      const leader = await waitFor('a leader', async () => (await c.status()).leader, 30_000, 200);
      const node = cluster.summary.nodes.find((n) => n.id === leader.id);
      expect(node).toBeDefined();
      // A raw connection to that node alone: the SDK would follow the leader elsewhere.
      raw = await rawConnection((node as { client: string }).client, cluster.summary.adminToken);
      const request = raw.request;
      const opened = await request('session.open', { ttlMs: 10_000, info: { host: 'test', pid: process.pid, app: 'leases', label: '' } });
      const sessionId = opened.result?.sessionId as string;
      expect(typeof sessionId).toBe('string');
      expect((await request('session.keepAlive', { sessionId })).result?.ttlMs).toBe(10_000);

      const r = await runCli(['cluster', 'fault', 'isolate', node?.datacenter as string, '--data', data]);
      expect(r.code, r.stderr).toBe(0);
      // Until it steps down it still answers as leader; no keep-alive may be acknowledged, since
      // the others may already be electing a successor that never hears of them.
      let whileLeading = 0;
      const deadline = Date.now() + 5_000;
      for (let i = 0; i < 200 && Date.now() < deadline; i++) {
        const report = (await (await fetch(`${(node as { client: string }).client.replace('ws://', 'http://').replace('/client', '/health')}`)).json()) as { state?: string };
        const answer = await request('session.keepAlive', { sessionId });
        expect(answer.result, `keep-alive ${i} acknowledged by a cut-off node`).toBeUndefined();
        expect(['Unavailable', 'NotLeader']).toContain(answer.error?.code);
        if (report.state === 'leader') whileLeading++;
        else break;
      }
      // The check above ran while the node still believed it led (else it proves nothing).
      expect(whileLeading).toBeGreaterThan(0);
      await runCli(['cluster', 'fault', 'heal', '--data', data]);
    } finally {
      raw?.close();
      await client?.close();
      await stopCluster(cluster);
    }
  });

  it('a keep-alive that arrives before the TTL runs out keeps its session, however long the leader takes to confirm it leads', async () => {
    // 400 ms one way: confirming the leadership (a quorum round) takes about 800 ms, longer
    // than the lease has left when the keep-alive arrives.
    const cluster = await startLocalCluster(['--dcs', '3', '--layout', '1,1,1', '--wan-latency', '400']);
    let client: WardenClient | null = null;
    let raw: RawConnection | null = null;
    try {
      client = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken, requestTimeoutMs: 15_000 });
      const c = client;
      const leader = await waitFor('a leader', async () => (await c.status()).leader, 30_000, 200);
      const node = cluster.summary.nodes.find((n) => n.id === leader.id) as { client: string };
      raw = await rawConnection(node.client, cluster.summary.adminToken);
      const ttlMs = 2_000;
      const opened = await raw.request('session.open', { ttlMs, info: { host: 'test', pid: process.pid, app: 'leases', label: '' } });
      // The leader starts the lease when the open commits, just before this answer arrives.
      const openedAt = Date.now();
      const sessionId = opened.result?.sessionId as string;
      expect(typeof sessionId, JSON.stringify(opened)).toBe('string');
      // Sent with 500 ms of the lease left; answered only after a quorum round.
      await new Promise((r) => setTimeout(r, ttlMs - 500));
      const answer = await raw.request('session.keepAlive', { sessionId });
      const answeredAt = Date.now();
      expect(answer.error, 'a keep-alive that arrived in time was refused').toBeUndefined();
      expect(answer.result?.ttlMs).toBe(ttlMs);
      // Else the test proves nothing: the answer must come after the old lease ran out.
      expect(answeredAt - openedAt).toBeGreaterThan(ttlMs);
      // The session lives on: the lease counts from the keep-alive's arrival.
      const again = await raw.request('session.keepAlive', { sessionId });
      expect(again.error).toBeUndefined();
      await raw.request('session.close', { sessionId });
    } finally {
      raw?.close();
      await client?.close();
      await stopCluster(cluster);
    }
  });
});

describe('membership of a running cluster', () => {
  it('a learner catches up and is promoted, a voter is removed, and writes go on throughout', async () => {
    const cluster = await startLocalCluster(['--dcs', '3', '--layout', '1,1,1', '--learners', '1', '--wan-latency', '5']);
    const client = await connect({ endpoints: cluster.summary.endpoints, token: cluster.summary.adminToken, requestTimeoutMs: 15_000 });
    let stop = false;
    let writes = 0;
    let failures = 0;
    const writer = (async () => {
      for (let i = 0; !stop && i < 100_000; i++) {
        try {
          await client.kv.put(`/members/k${i % 20}`, `v${i}`);
          writes++;
        } catch {
          failures++;
        }
      }
    })();
    try {
      const learner = cluster.summary.nodes[3] as { id: string };
      const before = await client.status();
      expect(before.nodes.find((n) => n.id === learner.id)?.role).toBe('learner');
      await client.kv.put('/members/marker', 'here');
      const target = (await client.status()).nodes.find((n) => n.state === 'leader')?.commitIndex ?? 0;
      await waitFor('the learner to catch up', async () => {
        const l = (await client.status()).nodes.find((n) => n.id === learner.id);
        return l && l.appliedIndex >= target;
      }, 30_000, 200);
      const learnerClient = await connect({ endpoints: [cluster.summary.nodes[3]!.client], token: cluster.summary.adminToken });
      expect((await learnerClient.kv.get('/members/marker', { serializable: true }))?.value).toBe('here');
      await learnerClient.close();

      const promoted = await runCli(['member', 'promote', learner.id, '--json'], { WARDEN_ENDPOINTS: cluster.summary.endpoints.join(','), WARDEN_TOKEN: cluster.summary.adminToken });
      expect(promoted.code, promoted.stderr).toBe(0);
      expect((JSON.parse(promoted.stdout) as { voters: string[] }).voters).toContain(learner.id);
      const promotedAt = writes;
      await waitFor('writes after the promotion', () => writes > promotedAt + 5, 20_000, 50);

      const status = await client.status();
      const victim = status.nodes.find((n) => n.role === 'voter' && n.state === 'follower' && n.id !== learner.id) as { id: string };
      const removed = await client.changeMember('removeNode', victim.id);
      expect(removed.voters).not.toContain(victim.id);
      expect(removed.voters).toHaveLength(3);
      const refused = await runCli(['member', 'add', 'n99'], { WARDEN_ENDPOINTS: cluster.summary.endpoints.join(','), WARDEN_TOKEN: cluster.summary.adminToken });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/InvalidArgument.*members/);
      const mark = writes;
      await waitFor('writes after the changes', () => writes > mark + 10, 20_000, 50);
    } finally {
      stop = true;
      await writer;
      await client.close();
      await stopCluster(cluster);
    }
    // Writes went on after each change (waited for above), however fast the changes were made.
    expect(writes).toBeGreaterThan(15);
    // Writes may fail while leadership settles, but most go through.
    expect(failures).toBeLessThan(writes);
  });
});
