// Effectful only in virtual time. The determinism self-check: one seed run twice in the same
// process must produce the same event count and trace hash (any Date.now, Math.random, Map-order
// or timer leak would show up here), while different seeds must produce different traces. Seed 7
// runs the KV workload, seed 1 the lock workload, and seed 9 the KV workload over three datacenters.

import { describe, expect, it } from 'vitest';
import { runSeed } from './run.ts';

describe('simulation: determinism', () => {
  it('one seed run twice gives identical traces', () => {
    const first = runSeed(7);
    const second = runSeed(7);
    expect(first.events).toBeGreaterThan(1000);
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.events).toBe(first.events);
    expect(second.violations).toEqual(first.violations);
    expect(second.stats).toEqual(first.stats);
  });

  it('a lock seed run twice gives identical traces', () => {
    const first = runSeed(1);
    const second = runSeed(1);
    expect(first.linearizability).toBe('n/a'); // A lock seed.
    expect(first.stats.grants).toBeGreaterThan(10);
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.events).toBe(first.events);
    expect(second.violations).toEqual(first.violations);
    expect(second.stats).toEqual(first.stats);
  });

  it('a datacenter seed run twice gives identical traces', () => {
    const first = runSeed(9);
    const second = runSeed(9);
    expect(first.stats.datacenters).toBe(3);
    expect(first.stats.datacenterIsolations).toBeGreaterThan(0);
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.events).toBe(first.events);
    expect(second.violations).toEqual(first.violations);
    expect(second.stats).toEqual(first.stats);
  });

  it('a planted lock bug is reproduced exactly by its seed', () => {
    const first = runSeed(1, { bug: 'skip-lock-delay' });
    const second = runSeed(1, { bug: 'skip-lock-delay' });
    expect(first.violations.length).toBeGreaterThan(0);
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.violations).toEqual(first.violations);
  });

  it('a planted bug is reproduced exactly by its seed', () => {
    const first = runSeed(2, { bug: 'vote-twice' });
    const second = runSeed(2, { bug: 'vote-twice' });
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.violations).toEqual(first.violations);
  });

  it('different seeds explore different traces', () => {
    const hashes = new Set([1, 2, 3].map((seed) => runSeed(seed, { virtualMs: 20_000 }).traceHash));
    expect(hashes.size).toBe(3);
  });
});
