// Effectful. `npm run bench -- kv`: a local 3-node cluster (real processes, SQLite, WebSockets);
// puts of small values from 1, 32 and 64 concurrent SDK clients, each for a bounded time.
// Prints ops/s, p50 and p99 per level, medians over --runs runs, and the machine.

import { rmSync } from 'node:fs';
import { connect } from '../../core/client/index.ts';
import type { WardenClient } from '../../core/client/index.ts';
import { LocalCluster } from '../../core/cli/localCluster.ts';
import { machineLine, median, percentile } from './machine.ts';

export interface LevelResult {
  readonly clients: number;
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function level(clients: WardenClient[], seconds: number, tag: string): Promise<LevelResult> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (c, i) => {
      for (let n = 0; performance.now() < deadline && n < 10_000_000; n++) {
        const t = performance.now();
        try {
          await c.kv.put(`/bench/${tag}/c${i}/k${n % 100}`, `value-${n}`);
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  if (errors > 0) process.stderr.write(`  (${errors} failed puts at ${clients.length} clients)\n`);
  return { clients: clients.length, opsPerSecond: latencies.length / elapsed, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
}

/** runKvBench runs the benchmark and prints a table. */
export async function runKvBench(options: { runs: number; seconds: number; levels: number[] }): Promise<LevelResult[]> {
  const cluster = await LocalCluster.open({ dcs: 1, layout: [3], basePort: null, dataDir: null, host: '127.0.0.1' });
  cluster.startAll();
  const results: LevelResult[][] = options.levels.map(() => []);
  try {
    await cluster.waitForLeader(60_000);
    const max = Math.max(...options.levels);
    const clients = await Promise.all(Array.from({ length: max }, () => connect({ endpoints: cluster.endpoints(), token: cluster.spec.adminToken })));
    // Warm up: every client finds the leader.
    await Promise.all(clients.map((c, i) => c.kv.put(`/bench/warm/${i}`, 'x')));
    for (let run = 0; run < options.runs; run++) {
      for (const [i, n] of options.levels.entries()) {
        const r = await level(clients.slice(0, n), options.seconds, `r${run}`);
        results[i]?.push(r);
        process.stderr.write(`  run ${run + 1}: ${n} clients: ${r.opsPerSecond.toFixed(0)} puts/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms\n`);
      }
    }
    for (const c of clients) c.close();
  } finally {
    await cluster.stopAll();
    // The cluster's temporary data dir (the bench planned it: no --data).
    rmSync(cluster.dataDir, { recursive: true, force: true });
  }
  const summary = options.levels.map((n, i) => {
    const rs = results[i] ?? [];
    return { clients: n, opsPerSecond: median(rs.map((r) => r.opsPerSecond)), p50Ms: median(rs.map((r) => r.p50Ms)), p99Ms: median(rs.map((r) => r.p99Ms)) };
  });
  process.stdout.write(`\nkv puts, local 3-node cluster, medians of ${options.runs} runs of ${options.seconds} s\n`);
  process.stdout.write(`machine: ${machineLine()}\n`);
  process.stdout.write('clients   puts/s     p50 ms   p99 ms\n');
  for (const r of summary) process.stdout.write(`${String(r.clients).padEnd(9)} ${r.opsPerSecond.toFixed(0).padEnd(10)} ${r.p50Ms.toFixed(2).padEnd(8)} ${r.p99Ms.toFixed(2)}\n`);
  return summary;
}
