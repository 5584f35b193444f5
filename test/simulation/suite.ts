// Effectful (reads seeds.txt). Shared pieces of the Vitest simulation suites: the regression
// corpus, the fresh seed ranges each suite file owns, the worker count, and how a failing seed is
// reported (always with the command that reproduces it).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BugName } from '../../core/raft/types.ts';
import { hex, rerunCommand } from './report.ts';
import { runSeeds, type SeedOptions } from './pool.ts';
import type { RunResult } from './run.ts';

/**
 * FRESH_SEEDS is the CI range of fresh seeds, split between the two suite files so that each
 * stays well inside the time budget; together with the corpus they exceed 500 seeds.
 */
export const FRESH_SEEDS = { first: 1, count: 800 } as const;

/** SUITE_WORKERS is how many processes each suite forks: the CI machine has two cores. */
export const SUITE_WORKERS = Number(process.env.SIM_WORKERS ?? 2);

/**
 * corpusSeeds reads seeds.txt: one seed per line (decimal or 0x-hex), `#` starts a comment.
 * Each regression seed once exposed a bug; it must keep passing forever.
 */
export function corpusSeeds(): number[] {
  const text = readFileSync(fileURLToPath(new URL('./seeds.txt', import.meta.url)), 'utf8');
  const seeds: number[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const seed = /^0x[0-9a-f]+$/i.test(line) ? parseInt(line.slice(2), 16) : Number(line);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seeds.txt: not a seed: ${raw}`);
    seeds.push(seed);
  }
  return seeds;
}

/** range lists `count` seeds from `first`. */
export function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

/** describeFailure is the one line a failing seed prints: what broke and how to rerun it. */
export function describeFailure(result: RunResult, bug?: BugName): string {
  return `seed=${hex(result.seed)} ${result.violations[0] ?? ''} (${result.violations.length} violation(s); ${result.config}) rerun: ${rerunCommand(result.seed, bug)}`;
}

/** summarize is a one-line throughput report for a batch of runs. */
export function summarize(label: string, results: readonly RunResult[], wallMs: number): string {
  const events = results.reduce((sum, r) => sum + r.events, 0);
  const virtualS = results.reduce((sum, r) => sum + r.virtualMs, 0) / 1000;
  const cpuMs = results.reduce((sum, r) => sum + r.wallMs, 0);
  const unknown = results.filter((r) => r.linearizability === 'unknown').length;
  return (
    `${label}: ${results.length} seeds, ${events} events, ${virtualS.toFixed(0)} virtual s in ${(wallMs / 1000).toFixed(1)} s wall ` +
    `(${Math.round(events / (cpuMs / 1000))} events/s per worker, ${(cpuMs / results.length).toFixed(0)} ms per seed), ` +
    `${unknown} linearizability search(es) out of budget, ${datacenterSeeds(results)} datacenter seed(s)`
  );
}

/** datacenterSeeds counts the runs whose nodes were spread over datacenters. */
export function datacenterSeeds(results: readonly RunResult[]): number {
  return results.filter((r) => (r.stats.datacenters ?? 0) > 0).length;
}

/**
 * huntBug looks for the first seed in [1, limit] whose run with `bug` planted reports a
 * violation while the same seed without the bug passes: proof that the checkers catch this bug,
 * not some other failure. Seeds are tried in small parallel batches, in order.
 */
export async function huntBug(bug: BugName, limit: number, options: SeedOptions = {}): Promise<{ seed: number; violation: string } | null> {
  const batch = Math.max(2, SUITE_WORKERS * 4);
  for (let first = 1; first <= limit; first += batch) {
    const seeds = range(first, Math.min(batch, limit - first + 1));
    const planted = await runSeeds(seeds, { ...options, bug }, SUITE_WORKERS);
    const caught = planted.filter((result) => result.violations.length > 0);
    // Control runs without the bug, a few at a time in seed order, until one passes.
    for (let i = 0; i < caught.length; i += SUITE_WORKERS) {
      const group = caught.slice(i, i + SUITE_WORKERS);
      const clean = await runSeeds(
        group.map((result) => result.seed),
        options,
        SUITE_WORKERS,
      );
      for (const result of group) {
        const control = clean.find((c) => c.seed === result.seed);
        if (control && control.violations.length === 0) return { seed: result.seed, violation: result.violations[0] ?? '' };
      }
    }
  }
  return null;
}
