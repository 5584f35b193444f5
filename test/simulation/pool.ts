// Effectful (child processes). runSeeds runs many seeds, in this process or spread over forked
// worker processes (test/simulation/worker.ts) that pull one seed at a time, so a few slow seeds
// do not leave a core idle. Used by the CLI and by the Vitest simulation suites alike.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runSeed, type RunOptions, type RunResult } from './run.ts';

/** SeedRequest is what a worker needs to run seeds: everything in RunOptions except callbacks. */
export type SeedOptions = Omit<RunOptions, 'trace'>;

/** WorkerMessage is the protocol between the pool and a worker: one seed out, one result back. */
export type WorkerMessage = { readonly seed: number; readonly options: SeedOptions } | { readonly done: true };

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/**
 * loaderArgs keeps the TypeScript loader in the children: inherited from a `tsx` parent, or
 * `--import tsx` when the parent is another runner (Vitest).
 */
function loaderArgs(): string[] {
  return process.execArgv.some((arg) => arg.includes('tsx')) ? process.execArgv : ['--import', 'tsx'];
}

/**
 * runSeeds runs `seeds` with `options` and resolves with every result in seed order. With one
 * worker it runs in this process (synchronously, then resolves); `onResult` sees results as they
 * finish, in completion order.
 */
export async function runSeeds(
  seeds: readonly number[],
  options: SeedOptions,
  workers: number,
  onResult: (result: RunResult) => void = () => {},
): Promise<RunResult[]> {
  const results: RunResult[] = [];
  const record = (result: RunResult): void => {
    results.push(result);
    onResult(result);
  };
  if (workers <= 1 || seeds.length <= 1) {
    for (const seed of seeds) record(runSeed(seed, options));
  } else {
    const queue = seeds.slice();
    const count = Math.min(workers, seeds.length);
    await Promise.all(Array.from({ length: count }, () => drive(queue, options, record)));
  }
  return results.sort((a, b) => a.seed - b.seed);
}

/** drive feeds one worker process from the shared queue until it is empty. */
function drive(queue: number[], options: SeedOptions, record: (result: RunResult) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [], { execArgv: loaderArgs(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let running: number | null = null;
    const next = (): void => {
      const seed = queue.shift();
      if (seed === undefined) {
        running = null;
        child.send({ done: true } satisfies WorkerMessage);
        return;
      }
      running = seed;
      child.send({ seed, options } satisfies WorkerMessage);
    };
    child.on('message', (result: RunResult) => {
      record(result);
      next();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (running === null && code === 0) resolve();
      else reject(new Error(`simulation worker exited with code ${code} while running seed ${running}`));
    });
    next();
  });
}
