// Real processes on 127.0.0.1: clusters started through the `warden` CLI, nodes killed with
// SIGKILL, the SDK and the CLI as clients. Checks failover, durability of acknowledged writes
// across a whole-cluster crash, and linearizability of concurrent SDK histories.

import { afterAll, describe, expect, it } from 'vitest';
import { connect, WardenError } from '../../core/client/index.ts';
import type { WardenClient } from '../../core/client/index.ts';
import { checkOperations, kvModel } from '../simulation/checkers/linearizability.ts';
import type { KvInput, KvOutput, Operation } from '../simulation/checkers/linearizability.ts';
import { cleanup, killHard, runCli, startLocalCluster, stopCluster, tempDir, waitFor } from './helpers.ts';

afterAll(cleanup);

async function leaderOf(client: WardenClient): Promise<string> {
  return waitFor('a leader', async () => (await client.status()).leader?.id ?? null, 30_000, 100);
}

describe('a local cluster started through the CLI', () => {
  it('elects a new leader after kill -9 of the leader, and writes continue', async () => {
    const cluster = await startLocalCluster(['--dcs', '1', '--layout', '3']);
    const { summary } = cluster;
    expect(summary.nodes).toHaveLength(3);
    const env = { WARDEN_ENDPOINTS: summary.endpoints.join(','), WARDEN_TOKEN: summary.adminToken };
    const put = await runCli(['kv', 'put', '/app/before', 'one'], env);
    expect(put.code, put.stderr).toBe(0);

    const client = await connect({ endpoints: summary.endpoints, token: summary.adminToken });
    const first = await leaderOf(client);
    const victim = summary.nodes.find((n) => n.id === first);
    expect(victim).toBeDefined();
    await killHard(victim!.pid);

    const second = await waitFor('a new leader', async () => {
      const s = await client.status();
      return s.leader && s.leader.id !== first ? s.leader.id : null;
    }, 30_000);
    expect(second).not.toBe(first);
    await client.kv.put('/app/after', 'two');
    const status = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { leader: { id: string }; nodes: { id: string; state: string }[] };
    expect(status.leader.id).toBe(second);
    expect(status.nodes.find((n) => n.id === first)?.state).toBe('down');
    const got = await runCli(['kv', 'get', '/app/before'], env);
    expect(got.stdout.trim()).toBe('one');
    expect((await client.kv.get('/app/after'))?.value).toBe('two');
    client.close();
    await stopCluster(cluster);
  });

  it('keeps every acknowledged put when every node is killed -9 under load, and restarts from --data', async () => {
    const data = tempDir();
    const cluster = await startLocalCluster(['--dcs', '1', '--layout', '3', '--data', data]);
    const { summary } = cluster;
    const clients = await Promise.all([0, 1, 2, 3].map(() => connect({ endpoints: summary.endpoints, token: summary.adminToken, requestTimeoutMs: 2000 })));
    const acked = new Map<string, string>();
    let stop = false;
    const loops = clients.map(async (c, i) => {
      for (let n = 0; !stop && n < 100_000; n++) {
        const key = `/load/c${i}/k${n % 50}`;
        const value = `v${n}`;
        try {
          await c.kv.put(key, value);
          acked.set(key, value);
        } catch {
          // Unknown outcome: not acknowledged, so not required to survive.
        }
      }
    });
    await waitFor('some acknowledged writes', () => acked.size >= 100, 30_000, 20);
    await Promise.all(summary.nodes.map((n) => killHard(n.pid)));
    stop = true;
    await Promise.all(loops);
    for (const c of clients) c.close();
    const expected = new Map(acked);
    await stopCluster(cluster);

    const again = await startLocalCluster(['--data', data]);
    expect(again.summary.adminToken).toBe(summary.adminToken);
    const client = await connect({ endpoints: again.summary.endpoints, token: again.summary.adminToken });
    const items = await client.kv.list('/load');
    const present = new Map(items.map((i) => [i.key, i.value]));
    const missing: string[] = [];
    for (const [key, value] of expected) {
      // A later unacknowledged put to the same key may have landed; the acknowledged value or a
      // later one must be there.
      const got = present.get(key);
      if (got === undefined || Number(got.slice(1)) < Number(value.slice(1))) missing.push(`${key}=${value} (found ${got})`);
    }
    expect(missing).toEqual([]);
    expect(expected.size).toBeGreaterThanOrEqual(50);
    client.close();
    await stopCluster(again);
  });

  it('produces linearizable histories from concurrent SDK clients while leaders are killed', async () => {
    const cluster = await startLocalCluster(['--dcs', '1', '--layout', '5']);
    const { summary } = cluster;
    const t0 = performance.now();
    const now = (): number => performance.now() - t0;
    const history: Operation<KvInput, KvOutput>[] = [];
    const keys = ['/lin/a', '/lin/b', '/lin/c'];
    let stop = false;
    const clients = await Promise.all([0, 1, 2, 3, 4, 5].map(() => connect({ endpoints: summary.endpoints, token: summary.adminToken, requestTimeoutMs: 3000 })));
    const loops = clients.map(async (c, clientId) => {
      for (let n = 0; !stop && n < 100_000; n++) {
        const key = keys[(clientId + n) % keys.length] as string;
        if (n % 3 === 0) {
          const value = `c${clientId}-${n}`;
          const call = now();
          try {
            await c.kv.put(key, value);
            history.push({ clientId, input: { op: 'put', key, value }, call, ret: now(), output: { ok: true, value: null } });
          } catch (err) {
            const definite = err instanceof WardenError && (err.code === 'NotLeader' || err.code === 'InvalidArgument');
            if (!definite) history.push({ clientId, input: { op: 'put', key, value }, call, ret: Infinity, output: undefined });
          }
        } else {
          const call = now();
          try {
            const item = await c.kv.get(key);
            history.push({ clientId, input: { op: 'get', key }, call, ret: now(), output: { ok: true, value: item?.value ?? null } });
          } catch {
            // A failed read has no effect and constrains nothing.
          }
        }
      }
    });
    const admin = await connect({ endpoints: summary.endpoints, token: summary.adminToken });
    for (let kill = 0; kill < 2; kill++) {
      await new Promise((r) => setTimeout(r, 1500));
      const leader = await leaderOf(admin);
      await killHard(summary.nodes.find((n) => n.id === leader)!.pid);
      await waitFor('a new leader', async () => {
        const s = await admin.status();
        return s.leader && s.leader.id !== leader ? s.leader.id : null;
      }, 30_000);
    }
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(loops);
    for (const c of clients) c.close();
    admin.close();
    await stopCluster(cluster);

    const completed = history.filter((h) => h.output !== undefined);
    expect(completed.length).toBeGreaterThan(200);
    const verdict = checkOperations(kvModel, history);
    expect(verdict.ok, 'explanation' in verdict ? verdict.explanation : '').toBe(true);
  });
});
