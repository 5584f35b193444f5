// Effectful (forks simulation workers). The second half of the fresh CI seed range, in its own
// file so that Vitest can schedule it beside the corpus suite. Same checks as corpus.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSeeds } from './pool.ts';
import type { RunResult } from './run.ts';
import { corpusSeeds, datacenterSeeds, describeFailure, FRESH_SEEDS, range, summarize, SUITE_WORKERS } from './suite.ts';

const half = Math.ceil(FRESH_SEEDS.count / 2);
const corpus = corpusSeeds();
const fresh = range(FRESH_SEEDS.first + half, FRESH_SEEDS.count - half).filter((seed) => !corpus.includes(seed));
let results: RunResult[] = [];
let wallMs = 0;

describe('simulation: fresh seeds (second half)', () => {
  beforeAll(async () => {
    const started = performance.now();
    results = await runSeeds(fresh, {}, SUITE_WORKERS);
    wallMs = performance.now() - started;
  }, 600_000);

  afterAll(() => {
    console.log(summarize('fresh (second half)', results, wallMs));
  });

  it(`fresh seeds ${fresh[0]}..${fresh[fresh.length - 1]} pass`, () => {
    expect(results.length).toBe(fresh.length);
    expect(results.filter((r) => r.violations.length > 0).map((r) => describeFailure(r))).toEqual([]);
  });

  it('include datacenter seeds (105 of 401..800)', () => {
    expect(datacenterSeeds(results)).toBeGreaterThan(50);
  });
});
