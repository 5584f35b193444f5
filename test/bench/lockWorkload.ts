// Effectful. The lock benchmarks' workload, whatever serves the locks: acquire+release cycles on
// distinct names (each client cycles through 64 names of its own) and hand-offs of one contended
// name. `npm run bench -- locks` drives Warden with it, `npm run bench -- rivals` ZooKeeper and
// etcd, so that their figures come from the same loop, the same clients' process and the same
// machine.

import { machineLine, median, percentile, processCpuMs } from './machine.ts';

/** BenchLocker is one client as the workload sees it: Warden's session, or a rival's lock recipe. */
export interface BenchLocker {
  /** Resolves once the lock is held (waiting as long as it takes), to something that releases it. */
  acquire(name: string): Promise<{ release(): Promise<unknown> }>;
}

/** LockSystem is a running cluster the workload measures. */
export interface LockSystem {
  /** One locker per client, each with its own connection (and session). */
  readonly lockers: readonly BenchLocker[];
  /** The server processes' pids, for their CPU time; the busiest is taken as the leader. */
  serverPids(): readonly (number | undefined)[];
  /** Makes the names usable before a run's clock starts (ZooKeeper's lock parents); optional. */
  prepare?(names: readonly string[]): Promise<void>;
}

interface Result {
  readonly clients: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time per cycle of the busiest server (the leader) and of all of them, in µs; NaN where unreadable. */
  readonly leaderCpuUs: number;
  readonly nodesCpuUs: number;
  /**
   * CPU time per cycle of this process, which runs every client. The clients' code is the same in
   * two versions of the servers, so this column tracks how fast the machine was during the run: a
   * version whose servers' figure fell while this one did not used less CPU.
   */
  readonly clientCpuUs: number;
}

/** DISTINCT_NAMES is how many names each client cycles through in the distinct scenario. */
const DISTINCT_NAMES = 64;

function lockName(tag: string, contended: boolean, client: number, n: number): string {
  return contended ? `bench/${tag}/hot` : `bench/${tag}/c${client}/n${n % DISTINCT_NAMES}`;
}

/** serversCpu reads each server process's CPU time (ms), or null when any cannot be read. */
function serversCpu(system: LockSystem): number[] | null {
  const times = system.serverPids().map((pid) => processCpuMs(pid));
  return times.every((t): t is number => t !== null) ? times : null;
}

async function cycles(system: LockSystem, clients: number, seconds: number, contended: boolean, tag: string): Promise<Result> {
  const lockers = system.lockers.slice(0, clients);
  if (system.prepare) {
    const names = new Set<string>();
    for (let i = 0; i < lockers.length; i++) for (let n = 0; n < (contended ? 1 : DISTINCT_NAMES); n++) names.add(lockName(tag, contended, i, n));
    await system.prepare([...names]);
  }
  const latencies: number[] = [];
  const cpuBefore = serversCpu(system);
  const clientBefore = process.cpuUsage();
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    lockers.map(async (locker, i) => {
      for (let n = 0; performance.now() < deadline && n < 10_000_000; n++) {
        const t = performance.now();
        const lock = await locker.acquire(lockName(tag, contended, i, n));
        latencies.push(performance.now() - t);
        await lock.release();
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = serversCpu(system);
  const client = process.cpuUsage(clientBefore);
  const used = cpuBefore && cpuAfter ? cpuAfter.map((t, i) => t - (cpuBefore[i] as number)) : null;
  latencies.sort((a, b) => a - b);
  return {
    clients: lockers.length,
    perSecond: done / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    leaderCpuUs: used && done > 0 ? (Math.max(...used) * 1000) / done : NaN,
    nodesCpuUs: used && done > 0 ? (used.reduce((a, b) => a + b, 0) * 1000) / done : NaN,
    clientCpuUs: done > 0 ? (client.user + client.system) / done : NaN,
  };
}

export interface LockLevels {
  readonly runs: number;
  readonly seconds: number;
  readonly distinct: readonly number[];
  readonly contended: readonly number[];
}

/** maxClients is how many lockers a system must offer for these levels. */
export function maxClients(levels: LockLevels): number {
  return Math.max(...levels.distinct, ...levels.contended);
}

/**
 * runLockLevels runs both scenarios at every level, --runs times each, logs every run to stderr
 * and prints the medians as a table headed by `title` and the machine. With `warmupSeconds`, an
 * unmeasured run of each scenario comes first.
 */
export async function runLockLevels(title: string, system: LockSystem, levels: LockLevels, warmupSeconds = 0): Promise<void> {
  if (system.lockers.length < maxClients(levels)) throw new RangeError(`${title}: ${system.lockers.length} lockers for ${maxClients(levels)} clients`);
  if (warmupSeconds > 0) {
    // Unmeasured: both scenarios at the most clients, so that a JIT (the JVM's) has compiled the paths.
    const half = warmupSeconds / 2;
    const warm = [await cycles(system, maxClients(levels), half, false, 'warmup'), await cycles(system, Math.max(...levels.contended), half, true, 'warmup')];
    process.stderr.write(`  warm-up, ${warmupSeconds} s: ${warm.map((r) => r.perSecond.toFixed(0)).join(' and ')} cycles/s (not counted)\n`);
  }
  const rows: { scenario: string; results: Result[] }[] = [];
  for (const [scenario, counts, contended] of [
    ['distinct', levels.distinct, false],
    ['contended', levels.contended, true],
  ] as const) {
    for (const n of counts) {
      const results: Result[] = [];
      for (let run = 0; run < levels.runs; run++) {
        const r = await cycles(system, n, levels.seconds, contended, `${scenario}${n}r${run}`);
        results.push(r);
        process.stderr.write(`  ${scenario}, ${n} clients, run ${run + 1}: ${r.perSecond.toFixed(0)}/s, acquire p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, leader CPU ${r.leaderCpuUs.toFixed(0)} us/cycle\n`);
      }
      rows.push({ scenario, results });
    }
  }
  process.stdout.write(`\n${title}, medians of ${levels.runs} runs of ${levels.seconds} s\n`);
  process.stdout.write(`machine: ${machineLine()}\n`);
  process.stdout.write('scenario    clients   cycles/s   acquire p50 ms   p99 ms   leader CPU us/cycle   nodes CPU us/cycle   clients CPU us/cycle\n');
  for (const row of rows) {
    const n = row.results[0]?.clients ?? 0;
    process.stdout.write(
      `${row.scenario.padEnd(11)} ${String(n).padEnd(9)} ${median(row.results.map((r) => r.perSecond)).toFixed(0).padEnd(10)} ${median(row.results.map((r) => r.p50Ms)).toFixed(2).padEnd(16)} ${median(row.results.map((r) => r.p99Ms)).toFixed(2).padEnd(8)} ${median(row.results.map((r) => r.leaderCpuUs)).toFixed(0).padEnd(21)} ${median(row.results.map((r) => r.nodesCpuUs)).toFixed(0).padEnd(20)} ${median(row.results.map((r) => r.clientCpuUs)).toFixed(0)}\n`,
    );
  }
}
