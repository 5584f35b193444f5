// Unit tests (pure) for reconnect backoff: full jitter below a doubling cap, bounded by the
// maximum, reset on success, and deterministic under an injected random source.

import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../core/transport/backoff.ts';

function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

describe('Backoff', () => {
  it('doubles the cap from the minimum up to the maximum', () => {
    const backoff = new Backoff({ retryDelayMsMin: 100, retryDelayMsMax: 1000, random: () => 0.999999 });
    const delays = Array.from({ length: 7 }, () => backoff.next());
    expect(delays).toEqual([99, 199, 399, 799, 999, 999, 999]);
    expect(backoff.attempts).toBe(7);
  });

  it('draws uniformly below the cap (full jitter), deterministically', () => {
    const make = (): Backoff => new Backoff({ retryDelayMsMin: 100, retryDelayMsMax: 10_000, random: sequence([0, 0.5, 0.25, 0.75]) });
    const a = make();
    const b = make();
    const first = Array.from({ length: 6 }, () => a.next());
    expect(first).toEqual([0, 100, 100, 600, 0, 1600]);
    expect(Array.from({ length: 6 }, () => b.next())).toEqual(first);
  });

  it('resets to the minimum after a success', () => {
    const backoff = new Backoff({ retryDelayMsMin: 50, retryDelayMsMax: 5000, random: () => 0.5 });
    for (let i = 0; i < 10; i++) backoff.next();
    expect(backoff.cap()).toBe(5000);
    backoff.reset();
    expect(backoff.cap()).toBe(50);
    expect(backoff.next()).toBe(25);
  });

  it('stays finite after very many failures and clamps a misbehaving random source', () => {
    const backoff = new Backoff({ retryDelayMsMin: 1, retryDelayMsMax: 30_000, random: sequence([2, -1]) });
    for (let i = 0; i < 5000; i++) {
      const delay = backoff.next();
      expect(Number.isFinite(delay) && delay >= 0 && delay <= 30_000).toBe(true);
    }
  });

  it('refuses nonsensical bounds', () => {
    expect(() => new Backoff({ retryDelayMsMin: 0, retryDelayMsMax: 10, random: Math.random })).toThrow(RangeError);
    expect(() => new Backoff({ retryDelayMsMin: 10, retryDelayMsMax: 5, random: Math.random })).toThrow(RangeError);
  });
});
