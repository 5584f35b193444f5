// Effectful (forks simulation workers). The regression corpus (seeds.txt) plus the first half of
// the fresh CI seed range, every seed a full run: safety phase, liveness phase, linearizability.
// Any violation fails the seed, and the failure message carries the command that reproduces it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSeeds } from './pool.ts';
import type { RunResult } from './run.ts';
import { corpusSeeds, datacenterSeeds, describeFailure, FRESH_SEEDS, range, summarize, SUITE_WORKERS } from './suite.ts';

const half = Math.ceil(FRESH_SEEDS.count / 2);
const corpus = corpusSeeds();
const fresh = range(FRESH_SEEDS.first, half).filter((seed) => !corpus.includes(seed));
const results = new Map<number, RunResult>();
let wallMs = 0;

describe('simulation: regression corpus and fresh seeds (first half)', () => {
  beforeAll(async () => {
    const started = performance.now();
    for (const result of await runSeeds([...corpus, ...fresh], {}, SUITE_WORKERS)) results.set(result.seed, result);
    wallMs = performance.now() - started;
  }, 600_000);

  afterAll(() => {
    console.log(summarize('corpus + fresh (first half)', [...results.values()], wallMs));
  });

  it.each(corpus)('regression seed %i passes', (seed) => {
    const result = results.get(seed);
    expect(result, `seed ${seed} did not run`).toBeDefined();
    if (result && result.violations.length > 0) expect.fail(describeFailure(result));
  });

  it(`fresh seeds ${fresh[0]}..${fresh[fresh.length - 1]} pass`, () => {
    const failures = fresh.map((seed) => results.get(seed)).filter((r): r is RunResult => !r || r.violations.length > 0);
    expect(failures.map((r) => describeFailure(r))).toEqual([]);
  });

  it('fresh seeds include datacenter seeds (101 of 1..400)', () => {
    expect(datacenterSeeds(fresh.map((seed) => results.get(seed)).filter((r): r is RunResult => r !== undefined))).toBeGreaterThan(50);
  });
});
