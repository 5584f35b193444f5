// Effectful. `npm run bench -- dc`: a 2,2,1 local cluster with the default WAN latency; lock
// acquire+release cycles from 32 clients spread over the datacenters, and the time from
// isolating the leader's datacenter to the first successful write (median of 5).

import { rmSync } from 'node:fs';
import { connect } from '../../core/client/index.ts';
import { LocalCluster } from '../../core/cli/localCluster.ts';
import { machineLine, median, percentile } from './machine.ts';

/** runDcBench runs both measurements and prints them. */
export async function runDcBench(options: { runs: number; seconds: number; clients: number; failovers: number }): Promise<void> {
  const cluster = await LocalCluster.open({ dcs: 3, layout: [2, 2, 1], basePort: null, dataDir: null, host: '127.0.0.1' });
  cluster.startAll();
  await cluster.startControl();
  const rates: number[] = [];
  const p50s: number[] = [];
  const p99s: number[] = [];
  const failovers: number[] = [];
  try {
    await cluster.waitForLeader(60_000);
    const endpoints = cluster.endpoints();
    const clients = await Promise.all(Array.from({ length: options.clients }, (_, i) => connect({ endpoints: [endpoints[i % endpoints.length] as string, ...endpoints], token: cluster.spec.adminToken })));
    const sessions = await Promise.all(clients.map((c) => c.openSession({ ttlMs: 30_000, info: { app: 'bench-dc' } })));
    for (let run = 0; run < options.runs; run++) {
      const latencies: number[] = [];
      let done = 0;
      const deadline = performance.now() + options.seconds * 1000;
      const started = performance.now();
      await Promise.all(
        sessions.map(async (s, i) => {
          for (let n = 0; performance.now() < deadline && n < 10_000_000; n++) {
            const t = performance.now();
            const lock = await s.acquire(`dc/r${run}/c${i}/n${n % 32}`);
            latencies.push(performance.now() - t);
            await lock.release();
            done++;
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      rates.push(done / ((performance.now() - started) / 1000));
      p50s.push(percentile(latencies, 0.5));
      p99s.push(percentile(latencies, 0.99));
      process.stderr.write(`  run ${run + 1}: ${rates.at(-1)?.toFixed(0)} cycles/s, acquire p50 ${p50s.at(-1)?.toFixed(1)} ms, p99 ${p99s.at(-1)?.toFixed(1)} ms\n`);
    }
    await Promise.all(clients.map((c) => c.close()));

    const admin = await connect({ endpoints, token: cluster.spec.adminToken, requestTimeoutMs: 30_000 });
    for (let i = 0; i < options.failovers; i++) {
      const status = await admin.status();
      const dc = status.leader?.datacenter;
      if (!dc) throw new Error('no leader before the failover');
      const others = cluster.spec.nodes.filter((n) => n.datacenter !== dc).map((n) => `ws://127.0.0.1:${n.clientPort}/client`);
      const writer = await connect({ endpoints: others, token: cluster.spec.adminToken, requestTimeoutMs: 60_000 });
      await writer.kv.put('/bench/failover/warm', 'x');
      const t0 = performance.now();
      await cluster.fault('isolate', [dc]);
      for (let attempt = 0; attempt < 10_000; attempt++) {
        try {
          await writer.kv.put('/bench/failover/probe', String(attempt));
          break;
        } catch {
          // Not yet: the old leader is cut off until the others elect a new one.
        }
      }
      failovers.push(performance.now() - t0);
      process.stderr.write(`  failover ${i + 1}: leader was in ${dc}; first write after ${failovers.at(-1)?.toFixed(0)} ms\n`);
      await writer.close();
      await cluster.fault('heal', []);
      await new Promise((r) => setTimeout(r, 3000));
    }
    await admin.close();
  } finally {
    cluster.stopControl();
    await cluster.stopAll();
    // The cluster's temporary data dir (the bench planned it: no --data).
    rmSync(cluster.dataDir, { recursive: true, force: true });
  }
  process.stdout.write(`\ndatacenters: 2,2,1 local cluster, default WAN latency (one way: dc-a/dc-b 30 ms, dc-a/dc-c 45 ms, dc-b/dc-c 35 ms)\n`);
  process.stdout.write(`machine: ${machineLine()}\n`);
  process.stdout.write(`lock acquire+release, ${options.clients} clients over 3 datacenters, medians of ${options.runs} runs of ${options.seconds} s: ${median(rates).toFixed(0)} cycles/s, acquire p50 ${median(p50s).toFixed(1)} ms, p99 ${median(p99s).toFixed(1)} ms\n`);
  process.stdout.write(`isolating the leader's datacenter to the first successful write: median ${median(failovers).toFixed(0)} ms over ${failovers.length} (${failovers.map((f) => f.toFixed(0)).join(', ')})\n`);
}
