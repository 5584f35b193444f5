// Effectful. `npm run bench -- locks`: a local 3-node cluster; acquire+release cycles on distinct
// names with 1, 8, 32 and 64 clients, and hand-offs of one contended name with 1, 8 and 32
// clients. Prints cycles/s, acquire p50/p99, the nodes' CPU time per cycle (Linux) and the
// clients' (this process), medians over --runs runs, and the machine.

import { rmSync } from 'node:fs';
import { connect } from '../../core/client/index.ts';
import type { Session } from '../../core/client/index.ts';
import { LocalCluster } from '../../core/cli/localCluster.ts';
import { machineLine, median, percentile, processCpuMs } from './machine.ts';

interface Result {
  readonly clients: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time per cycle of the busiest node (the leader) and of all three, in µs; NaN where unreadable. */
  readonly leaderCpuUs: number;
  readonly nodesCpuUs: number;
  /**
   * CPU time per cycle of this process, which runs every client. The clients' code is the same in
   * two versions of the nodes, so this column tracks how fast the machine was during the run: a
   * version whose nodes' figure fell while this one did not used less CPU.
   */
  readonly clientCpuUs: number;
}

/** nodesCpu reads each node process's CPU time (ms), or null when any cannot be read. */
function nodesCpu(cluster: LocalCluster): number[] | null {
  const times = [...cluster.children.values()].map((child) => processCpuMs(child.pid));
  return times.every((t): t is number => t !== null) ? times : null;
}

async function cycles(cluster: LocalCluster, sessions: Session[], seconds: number, contended: boolean, tag: string): Promise<Result> {
  const latencies: number[] = [];
  const cpuBefore = nodesCpu(cluster);
  const clientBefore = process.cpuUsage();
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    sessions.map(async (s, i) => {
      for (let n = 0; performance.now() < deadline && n < 10_000_000; n++) {
        const name = contended ? `bench/${tag}/hot` : `bench/${tag}/c${i}/n${n % 64}`;
        const t = performance.now();
        const lock = await s.acquire(name, { waitMs: 60_000 });
        latencies.push(performance.now() - t);
        await lock.release();
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = nodesCpu(cluster);
  const client = process.cpuUsage(clientBefore);
  const used = cpuBefore && cpuAfter ? cpuAfter.map((t, i) => t - (cpuBefore[i] as number)) : null;
  latencies.sort((a, b) => a - b);
  return {
    clients: sessions.length,
    perSecond: done / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    leaderCpuUs: used && done > 0 ? (Math.max(...used) * 1000) / done : NaN,
    nodesCpuUs: used && done > 0 ? (used.reduce((a, b) => a + b, 0) * 1000) / done : NaN,
    clientCpuUs: done > 0 ? (client.user + client.system) / done : NaN,
  };
}

/** runLocksBench runs both scenarios and prints a table. */
export async function runLocksBench(options: { runs: number; seconds: number; distinct: number[]; contended: number[] }): Promise<void> {
  const cluster = await LocalCluster.open({ dcs: 1, layout: [3], basePort: null, dataDir: null, host: '127.0.0.1' });
  cluster.startAll();
  const rows: { scenario: string; results: Result[] }[] = [];
  try {
    await cluster.waitForLeader(60_000);
    const max = Math.max(...options.distinct, ...options.contended);
    const clients = await Promise.all(Array.from({ length: max }, () => connect({ endpoints: cluster.endpoints(), token: cluster.spec.adminToken })));
    const sessions = await Promise.all(clients.map((c) => c.openSession({ ttlMs: 30_000, info: { app: 'bench' } })));
    for (const [scenario, levels, contended] of [
      ['distinct', options.distinct, false],
      ['contended', options.contended, true],
    ] as const) {
      for (const n of levels) {
        const results: Result[] = [];
        for (let run = 0; run < options.runs; run++) {
          const r = await cycles(cluster, sessions.slice(0, n), options.seconds, contended, `${scenario}${n}r${run}`);
          results.push(r);
          process.stderr.write(`  ${scenario}, ${n} clients, run ${run + 1}: ${r.perSecond.toFixed(0)}/s, acquire p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, leader CPU ${r.leaderCpuUs.toFixed(0)} us/cycle\n`);
        }
        rows.push({ scenario, results });
      }
    }
    await Promise.all(clients.map((c) => c.close()));
  } finally {
    await cluster.stopAll();
    // The cluster's temporary data dir (the bench planned it: no --data).
    rmSync(cluster.dataDir, { recursive: true, force: true });
  }
  process.stdout.write(`\nlocks, local 3-node cluster, medians of ${options.runs} runs of ${options.seconds} s\n`);
  process.stdout.write(`machine: ${machineLine()}\n`);
  process.stdout.write('scenario    clients   cycles/s   acquire p50 ms   p99 ms   leader CPU us/cycle   nodes CPU us/cycle   clients CPU us/cycle\n');
  for (const row of rows) {
    const n = row.results[0]?.clients ?? 0;
    process.stdout.write(
      `${row.scenario.padEnd(11)} ${String(n).padEnd(9)} ${median(row.results.map((r) => r.perSecond)).toFixed(0).padEnd(10)} ${median(row.results.map((r) => r.p50Ms)).toFixed(2).padEnd(16)} ${median(row.results.map((r) => r.p99Ms)).toFixed(2).padEnd(8)} ${median(row.results.map((r) => r.leaderCpuUs)).toFixed(0).padEnd(21)} ${median(row.results.map((r) => r.nodesCpuUs)).toFixed(0).padEnd(20)} ${median(row.results.map((r) => r.clientCpuUs)).toFixed(0)}\n`,
    );
  }
}
