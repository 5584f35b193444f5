// Unit tests for the linearizability checker: hand-written classic cases (accepted and rejected),
// unknown-outcome semantics, per-key partitioning, agreement with a brute-force reference on
// small random histories, randomly generated linearizable histories and their corruptions, and
// the exploration budget.
import { describe, expect, it } from 'vitest';
import {
  checkOperations,
  kvModel,
  type CheckResult,
  type KvInput,
  type KvOutput,
  type Model,
  type Operation,
} from '../../simulation/checkers/linearizability.ts';

type Op = Operation<KvInput, KvOutput>;

const put = (clientId: number, key: string, value: string, call: number, ret: number): Op => ({
  clientId,
  input: { op: 'put', key, value },
  call,
  ret,
  output: { ok: true, value: null },
});
const get = (clientId: number, key: string, value: string | null, call: number, ret: number): Op => ({
  clientId,
  input: { op: 'get', key },
  call,
  ret,
  output: { ok: true, value },
});
const cas = (
  clientId: number,
  key: string,
  expected: string | null,
  value: string,
  swapped: boolean,
  call: number,
  ret: number,
): Op => ({
  clientId,
  input: { op: 'cas', key, expected, value },
  call,
  ret,
  output: { ok: swapped, value: null },
});
/** The same request, but the client never learned its outcome. */
const timedOut = (op: Op): Op => ({ ...op, ret: Infinity, output: undefined });

const check = (ops: Op[], maxExplored?: number): CheckResult =>
  checkOperations(kvModel, ops, maxExplored === undefined ? {} : { maxExplored });
const verdict = (ops: Op[]): CheckResult['ok'] => check(ops).ok;

describe('accepted histories', () => {
  it('accepts the empty history', () => {
    expect(check([])).toEqual({ ok: true, explored: 0 });
  });

  it('accepts a sequential history with puts, gets and CAS', () => {
    const ops = [
      get(0, 'x', null, 0, 1),
      put(0, 'x', '1', 2, 3),
      get(1, 'x', '1', 4, 5),
      cas(1, 'x', '1', '2', true, 6, 7),
      cas(0, 'x', '1', '3', false, 8, 9),
      get(0, 'x', '2', 10, 11),
      cas(2, 'y', null, 'a', true, 12, 13),
      get(2, 'y', 'a', 14, 15),
    ];
    expect(verdict(ops)).toBe(true);
  });

  it('accepts a read overlapping a write seeing either the old or the new value', () => {
    expect(verdict([put(0, 'x', '1', 0, 10), get(1, 'x', null, 2, 4)])).toBe(true);
    expect(verdict([put(0, 'x', '1', 0, 10), get(1, 'x', '1', 2, 4)])).toBe(true);
    // A read may see the new value and a later read (still during the write) the same.
    expect(verdict([put(0, 'x', '1', 0, 10), get(1, 'x', '1', 2, 4), get(2, 'x', '1', 5, 6)])).toBe(true);
  });

  it('accepts either order for two concurrent writes', () => {
    const writes = [put(0, 'x', '1', 0, 10), put(1, 'x', '2', 0, 10)];
    expect(verdict([...writes, get(2, 'x', '1', 20, 21)])).toBe(true);
    expect(verdict([...writes, get(2, 'x', '2', 20, 21)])).toBe(true);
    // Reads during the writes can see 2 then 1 (2 linearized first, then 1).
    expect(verdict([...writes, get(2, 'x', '2', 1, 2), get(2, 'x', '1', 3, 4), get(3, 'x', '1', 20, 21)])).toBe(true);
  });

  it('treats operations touching at the same instant as overlapping', () => {
    expect(verdict([put(0, 'x', '1', 0, 10), get(1, 'x', null, 10, 20)])).toBe(true);
    expect(verdict([put(0, 'x', '1', 0, 10), get(1, 'x', null, 11, 20)])).toBe(false);
  });

  it('accepts concurrent CAS where exactly one wins', () => {
    const ops = [
      put(0, 'x', '0', 0, 1),
      cas(1, 'x', '0', 'a', true, 2, 10),
      cas(2, 'x', '0', 'b', false, 2, 10),
      get(3, 'x', 'a', 11, 12),
    ];
    expect(verdict(ops)).toBe(true);
  });
});

describe('rejected histories', () => {
  it('rejects a stale read after a completed write', () => {
    expect(verdict([put(0, 'x', '1', 0, 1), get(1, 'x', null, 2, 3)])).toBe(false);
    const result = check([put(0, 'x', '1', 0, 1), put(0, 'x', '2', 2, 3), get(1, 'x', '1', 4, 5)]);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.partition).toBe(0);
    expect(result.explanation).toContain('Longest linearizable prefix: 2 of 3 ops');
    expect(result.explanation).toContain('get(x) -> "1"');
    expect(result.explanation).toContain('answer illegal in this state');
  });

  it('rejects a read of a value from the future', () => {
    expect(verdict([get(0, 'x', '1', 0, 1), put(1, 'x', '1', 2, 3)])).toBe(false);
  });

  it('rejects a new-old inversion between two sequential reads', () => {
    const ops = [
      put(0, 'x', '1', 0, 1),
      put(0, 'x', '2', 2, 100),
      get(1, 'x', '2', 10, 20),
      get(2, 'x', '1', 30, 40),
    ];
    expect(verdict(ops)).toBe(false);
  });

  it('rejects two readers observing concurrent writes in opposite orders', () => {
    const ops = [
      put(0, 'x', '1', 0, 100),
      put(1, 'x', '2', 0, 100),
      get(2, 'x', '1', 10, 20),
      get(2, 'x', '2', 30, 40),
      get(3, 'x', '2', 10, 20),
      get(3, 'x', '1', 30, 40),
    ];
    expect(verdict(ops)).toBe(false);
    // Either reader alone is fine.
    expect(verdict(ops.slice(0, 4))).toBe(true);
    expect(verdict([...ops.slice(0, 2), ...ops.slice(4)])).toBe(true);
  });

  it('rejects a lost CAS (two CAS on the same expected value both succeed)', () => {
    expect(verdict([put(0, 'x', '0', 0, 1), cas(1, 'x', '0', 'a', true, 2, 3), cas(2, 'x', '0', 'b', true, 4, 5)])).toBe(
      false,
    );
    expect(
      verdict([put(0, 'x', '0', 0, 1), cas(1, 'x', '0', 'a', true, 2, 10), cas(2, 'x', '0', 'b', true, 2, 10)]),
    ).toBe(false);
  });

  it('rejects a CAS that reports failure although the value matched', () => {
    expect(verdict([put(0, 'x', '0', 0, 1), cas(1, 'x', '0', 'a', false, 2, 3)])).toBe(false);
  });
});

describe('operations with unknown outcome', () => {
  it('accepts a timed-out put that later becomes visible', () => {
    const ops = [timedOut(put(0, 'x', '1', 0, 5)), get(1, 'x', null, 10, 20), get(1, 'x', '1', 50, 60)];
    expect(verdict(ops)).toBe(true);
  });

  it('accepts a timed-out put whose value is never seen', () => {
    const ops = [timedOut(put(0, 'x', '1', 0, 5)), get(1, 'x', null, 50, 60), get(2, 'x', null, 70, 80)];
    expect(verdict(ops)).toBe(true);
  });

  it('treats undefined output as unknown even when a finite return time was recorded', () => {
    const ops = [{ ...put(0, 'x', '1', 0, 5), output: undefined }, get(1, 'x', '1', 50, 60)];
    expect(verdict(ops)).toBe(true);
  });

  it('lets an unknown-outcome op take effect after its recorded return time', () => {
    const late = { ...put(0, 'x', '1', 0, 5), output: undefined };
    expect(verdict([late, get(1, 'x', null, 10, 20), get(1, 'x', '1', 30, 40)])).toBe(true);
  });

  it('rejects a read of a value that was never written', () => {
    expect(verdict([timedOut(put(0, 'x', '1', 0, 5)), get(1, 'x', '2', 10, 20)])).toBe(false);
  });

  it('rejects a timed-out write that is seen and then un-happens', () => {
    const ops = [timedOut(put(0, 'x', '1', 0, 5)), get(1, 'x', '1', 10, 20), get(1, 'x', null, 30, 40)];
    expect(verdict(ops)).toBe(false);
  });

  it('rejects a read before the timed-out write was invoked', () => {
    expect(verdict([get(1, 'x', '1', 0, 5), timedOut(put(0, 'x', '1', 10, 15))])).toBe(false);
  });

  it('lets a timed-out CAS take effect or not', () => {
    const base = [put(0, 'x', '0', 0, 1), timedOut(cas(1, 'x', '0', 'a', true, 2, 3))];
    expect(verdict([...base, get(2, 'x', 'a', 10, 11)])).toBe(true);
    expect(verdict([...base, get(2, 'x', '0', 10, 11)])).toBe(true);
    expect(verdict([...base, get(2, 'x', 'a', 10, 11), get(2, 'x', '0', 12, 13)])).toBe(false);
  });

  it('refuses unknown outcomes when the model cannot apply them', () => {
    const { stepUnknown: _ignored, ...withoutUnknown } = kvModel;
    const model: Model<string | null, KvInput, KvOutput> = withoutUnknown;
    expect(() => checkOperations(model, [timedOut(put(0, 'x', '1', 0, 1))])).toThrow(TypeError);
  });

  it('rejects malformed times', () => {
    expect(() => check([put(0, 'x', '1', 5, 4)])).toThrow(RangeError);
    expect(() => check([put(0, 'x', '1', Number.NaN, 4)])).toThrow(RangeError);
  });
});

describe('partitioning', () => {
  it('checks keys independently and reports the failing partition', () => {
    const ops = [
      put(0, 'a', '1', 0, 10),
      put(1, 'b', '1', 0, 10),
      get(2, 'a', '1', 20, 30),
      get(2, 'b', null, 20, 30),
      get(3, 'a', '1', 40, 50),
    ];
    const result = check(ops);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.partition).toBe(1);
    expect(result.explanation).toContain('get(b) -> null');
    expect(result.explanation).not.toContain('get(a)');
    expect(verdict(ops.filter((op) => op.input.key === 'a'))).toBe(true);
  });

  it('splits a history by key, preserving order', () => {
    const ops = [put(0, 'a', '1', 0, 1), put(0, 'b', '1', 2, 3), get(0, 'a', '1', 4, 5)];
    const parts = kvModel.partition!(ops);
    expect(parts.map((p) => p.map((op) => op.input.key))).toEqual([['a', 'a'], ['b']]);
  });

  it('gives the same verdict as an unpartitioned multi-key model', () => {
    for (let seed = 1; seed <= 15; seed++) {
      const ops = generateHistory(seed, { clients: 3, keys: 2, opsPerClient: 8 });
      expect(checkOperations(multiKeyModel, ops).ok, `seed ${seed}`).toBe(true);
      const bad = corruptBogus(ops);
      expect(checkOperations(multiKeyModel, bad).ok, `seed ${seed} corrupted`).toBe(false);
      expect(check(bad).ok, `seed ${seed} corrupted`).toBe(false);
    }
  });
});

describe('agreement with a brute-force search', () => {
  // The checker's pruning rules (memoisation with domination, committed reads, interchangeable
  // timed-out writes) must never change a verdict: compare with exhaustive enumeration on many
  // small random histories, about half of them corrupted.
  const check3000 = <S>(model: Model<S, KvInput, KvOutput>): void => {
    let accepted = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const ops = smallRandomHistory(seed);
      const expected = bruteForce(ops);
      if (expected) accepted++;
      const result = checkOperations(model, ops);
      expect(result.ok, `seed ${seed}: ${JSON.stringify(ops)}`).toBe(expected);
    }
    expect(accepted).toBeGreaterThan(600);
    expect(accepted).toBeLessThan(2400);
  };

  it('never prunes a node because a node with more timed-out ops applied failed', () => {
    // Found by the random comparison against a checker whose domination test was reversed.
    const ops = [
      cas(0, 'x', 'b', 'b', true, 6, 6),
      timedOut(put(1, 'x', 'b', 1, 1)),
      cas(2, 'x', 'a', 'a', false, 1, 1),
      cas(3, 'x', 'a', 'a', true, 4, 5),
      timedOut(put(4, 'x', 'a', 5, 5)),
      timedOut(put(5, 'x', 'a', 6, 6)),
      put(6, 'x', 'b', 7, 7),
      put(7, 'x', 'a', 0, 4),
      cas(8, 'x', 'b', 'b', false, 5, 9),
    ];
    expect(bruteForce(ops)).toBe(true);
    expect(verdict(ops)).toBe(true);
    expect(checkOperations(multiKeyModel, ops).ok).toBe(true);
  });

  it('kvModel (partitioned, with all hints) agrees on 3000 small histories', () => check3000(kvModel));
  it('a hint-free unpartitioned model agrees on 3000 small histories', () => check3000(multiKeyModel));
});

describe('random histories from a linearizable register', () => {
  const seeds = [1, 2, 3, 4, 5, 6];

  it.each(seeds)('accepts generated history (seed %i)', (seed) => {
    const ops = generateHistory(seed, { clients: 5, keys: 3, opsPerClient: 60 });
    expect(ops.length).toBe(300);
    expect(ops.some((op) => op.output === undefined)).toBe(true);
    expect(ops.some((op) => op.input.op === 'cas' && op.output?.ok === true)).toBe(true);
    expect(check(ops).ok).toBe(true);
  });

  it.each(seeds)('rejects the history with one read corrupted (seed %i)', (seed) => {
    const ops = generateHistory(seed, { clients: 5, keys: 3, opsPerClient: 60 });
    expect(check(corruptBogus(ops)).ok).toBe(false);
    expect(check(corruptFuture(ops)).ok).toBe(false);
    expect(check(corruptStale(ops)).ok).toBe(false);
  });
});

describe('budget', () => {
  it("returns 'unknown' instead of hanging on a pathological history", () => {
    // 20 fully concurrent writes followed by an impossible read: the search would visit every
    // subset of the writes before concluding.
    const ops: Op[] = [];
    for (let i = 0; i < 20; i++) ops.push(put(i, 'x', `v${i}`, 0, 100));
    ops.push(get(99, 'x', 'never-written', 200, 300));
    const started = Date.now();
    const result = check(ops, 1000);
    expect(result).toEqual({ ok: 'unknown', partition: 0, explored: 1000, reason: 'budget' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('memoises (linearized set, state) so a factorial search stays small', () => {
    // 10 concurrent writes: 10! orders, but only 10 * 2^9 distinct (set, last value) pairs.
    const ops: Op[] = [];
    for (let i = 0; i < 10; i++) ops.push(put(i, 'x', `v${i}`, 0, 100));
    ops.push(get(99, 'x', 'never-written', 200, 300));
    const result = check(ops, 100_000);
    expect(result.ok).toBe(false);
    expect(result.explored).toBeLessThan(100_000);
  });

  it('treats timed-out writes nobody reads as interchangeable', () => {
    // Each failed CAS needs some timed-out write just before it; the final read is impossible.
    // Which of the 20 writes explains which CAS does not matter, and kvModel knows it.
    const ops: Op[] = [put(0, 'x', 'a', 0, 1)];
    for (let j = 0; j < 20; j++) ops.push(timedOut(put(1 + j, 'x', `t${j}`, 2, 2)));
    for (let k = 0; k < 10; k++) {
      ops.push(cas(30, 'x', 'a', 'b', false, 10 + 4 * k, 11 + 4 * k), put(30, 'x', 'a', 12 + 4 * k, 13 + 4 * k));
    }
    ops.push(get(31, 'x', 'zzz', 100, 101));
    const fast = check(ops, 100_000);
    expect(fast.ok).toBe(false);
    expect(fast.explored).toBeLessThan(10_000);
    expect(check(ops.slice(0, -1)).ok).toBe(true);
    const plainPartition: Model<string | null, KvInput, KvOutput> = {
      ...kvModel,
      partition: (all) => ['x'].map((key) => all.filter((op) => op.input.key === key)),
    };
    expect(checkOperations(plainPartition, ops, { maxExplored: 100_000 }).ok).toBe('unknown');
  });

  it('shares the budget across partitions', () => {
    const ops = [put(0, 'a', '1', 0, 1), get(0, 'a', '1', 2, 3), put(0, 'b', '1', 4, 5)];
    expect(check(ops, 2)).toEqual({ ok: 'unknown', partition: 1, explored: 2, reason: 'budget' });
    expect(check(ops, 3)).toEqual({ ok: true, explored: 3 });
  });
});

// ---------------------------------------------------------------------------------------------
// Helpers

/** mulberry32: a tiny seeded PRNG so generated histories are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Draft {
  clientId: number;
  input: KvInput;
  call: number;
  ret: number;
  /** Linearization point, or undefined if a timed-out op never takes effect. */
  at: number | undefined;
  timedOut: boolean;
  output?: KvOutput;
}

/**
 * Simulate clients against an atomic register per key: each op takes effect at a random point
 * inside [call, ret] (timed-out ops maybe later, maybe never), and outputs are computed by
 * applying ops in linearization-point order. Every written value is unique.
 */
function generateHistory(seed: number, opts: { clients: number; keys: number; opsPerClient: number }): Op[] {
  const rand = prng(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const written = new Map<string, string[]>();
  const drafts: Draft[] = [];
  for (let c = 0; c < opts.clients; c++) {
    let now = int(5);
    for (let k = 0; k < opts.opsPerClient; k++) {
      const key = `k${int(opts.keys)}`;
      const value = `c${c}-${k}`;
      const roll = rand();
      let input: KvInput;
      if (roll < 0.35) {
        input = { op: 'put', key, value };
      } else if (roll < 0.5) {
        const seen = written.get(key) ?? [];
        const expected = int(seen.length + 1) === 0 ? null : (seen[int(seen.length)] ?? null);
        input = { op: 'cas', key, expected, value };
      } else {
        input = { op: 'get', key };
      }
      if (input.op !== 'get') written.set(key, [...(written.get(key) ?? []), value]);
      const call = now;
      const timedOut = rand() < 0.05;
      if (timedOut) {
        const at = rand() < 0.5 ? call + rand() * 80 : undefined;
        drafts.push({ clientId: c, input, call, ret: Infinity, at, timedOut });
        now = call + 30 + int(5);
      } else {
        const ret = call + 1 + int(25);
        drafts.push({ clientId: c, input, call, ret, at: call + rand() * (ret - call), timedOut });
        now = ret + int(4);
      }
    }
  }
  const applied = drafts.filter((d) => d.at !== undefined).sort((a, b) => a.at! - b.at!);
  const store = new Map<string, string | null>();
  for (const d of applied) {
    const current = store.get(d.input.key) ?? null;
    switch (d.input.op) {
      case 'put':
        store.set(d.input.key, d.input.value);
        d.output = { ok: true, value: null };
        break;
      case 'get':
        d.output = { ok: true, value: current };
        break;
      case 'cas': {
        const swapped = current === d.input.expected;
        if (swapped) store.set(d.input.key, d.input.value);
        d.output = { ok: swapped, value: null };
        break;
      }
    }
  }
  return drafts.map((d) => ({
    clientId: d.clientId,
    input: d.input,
    call: d.call,
    ret: d.ret,
    output: d.timedOut ? undefined : d.output,
  }));
}

function replaceOutput(ops: Op[], index: number, value: string | null): Op[] {
  expect(index).toBeGreaterThanOrEqual(0);
  return ops.map((op, i) => (i === index ? { ...op, output: { ok: true, value } } : op));
}

const isKnownGet = (op: Op): boolean => op.input.op === 'get' && op.output !== undefined;

/** A read returns a value nobody ever wrote. */
function corruptBogus(ops: Op[]): Op[] {
  return replaceOutput(ops, ops.findIndex(isKnownGet), 'bogus');
}

/** A read returns the (unique) value of a put invoked only after the read returned. */
function corruptFuture(ops: Op[]): Op[] {
  for (let g = 0; g < ops.length; g++) {
    const read = ops[g]!;
    if (!isKnownGet(read)) continue;
    const later = ops.find((w) => w.input.op === 'put' && w.input.key === read.input.key && w.call > read.ret);
    if (later !== undefined && later.input.op === 'put') return replaceOutput(ops, g, later.input.value);
  }
  return replaceOutput(ops, -1, null);
}

/** A read returns the value of a completed put P although another put Q ran wholly after P and before the read. */
function corruptStale(ops: Op[]): Op[] {
  const puts = ops.filter((op) => op.input.op === 'put' && op.output !== undefined);
  for (let g = 0; g < ops.length; g++) {
    const read = ops[g]!;
    if (!isKnownGet(read)) continue;
    for (const p of puts) {
      if (p.input.key !== read.input.key || p.input.op !== 'put') continue;
      const overwritten = puts.some((q) => q.input.key === read.input.key && q.call > p.ret && q.ret < read.call);
      if (overwritten) return replaceOutput(ops, g, p.input.value);
    }
  }
  return replaceOutput(ops, -1, null);
}

/**
 * Small history with tiny value domains (so values repeat), ties in time, timeouts and
 * sometimes two keys; produced by an atomic register, then with probability 1/2 one known answer is
 * replaced at random (which may or may not break linearizability).
 */
function smallRandomHistory(seed: number): Op[] {
  const rand = prng(seed * 7919);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  // Odd seeds: mixed workload; even seeds: one key, two values, mostly writes, many timeouts.
  const heavy = seed % 2 === 0;
  const values = heavy ? ['a', 'b'] : ['a', 'b', 'c'];
  const keys = !heavy && rand() < 0.3 ? ['x', 'y'] : ['x'];
  const n = 2 + int(heavy ? 8 : 6);
  const drafts: { op: Op; at: number | undefined }[] = [];
  for (let k = 0; k < n; k++) {
    const key = pick(keys);
    const roll = rand();
    const input: KvInput =
      roll < (heavy ? 0.4 : 0.35)
        ? { op: 'put', key, value: pick(values) }
        : roll < (heavy ? 0.85 : 0.6)
          ? { op: 'cas', key, expected: rand() < 0.2 ? null : pick(values), value: pick(values) }
          : { op: 'get', key };
    const call = int(10);
    const ret = call + int(6);
    const timedOut = rand() < (heavy ? 0.5 : 0.2);
    const at = timedOut ? (rand() < 0.5 ? call + rand() * 12 : undefined) : call + rand() * (ret - call);
    drafts.push({ op: { clientId: k, input, call, ret: timedOut ? Infinity : ret, output: undefined }, at });
  }
  const store = new Map<string, string | null>();
  const outputs = new Map<KvInput, KvOutput>();
  for (const d of drafts.filter((x) => x.at !== undefined).sort((a, b) => a.at! - b.at!)) {
    const input = d.op.input;
    const current = store.get(input.key) ?? null;
    if (input.op === 'put') {
      store.set(input.key, input.value);
      outputs.set(input, { ok: true, value: null });
    } else if (input.op === 'get') {
      outputs.set(input, { ok: true, value: current });
    } else {
      const swapped = current === input.expected;
      if (swapped) store.set(input.key, input.value);
      outputs.set(input, { ok: swapped, value: null });
    }
  }
  const ops = drafts.map((d) => (d.op.ret === Infinity ? d.op : { ...d.op, output: outputs.get(d.op.input) }));
  if (rand() < 0.5) {
    const knownIdx = ops.flatMap((op, i) => (op.output === undefined ? [] : [i]));
    if (knownIdx.length > 0) {
      const i = pick(knownIdx);
      const op = ops[i]!;
      ops[i] = {
        ...op,
        output: op.input.op === 'get' ? { ok: true, value: rand() < 0.25 ? null : pick(values) } : { ok: !op.output!.ok, value: null },
      };
    }
  }
  return ops;
}

/**
 * Exhaustive reference: try every order of the operations that respects real time (an op may go
 * next unless some unplaced known op returned strictly before its call); unknown ops may also be
 * left out. Written independently of the checker and of kvModel.
 */
function bruteForce(ops: readonly Op[]): boolean {
  const placed = new Array<boolean>(ops.length).fill(false);
  const search = (store: ReadonlyMap<string, string | null>): boolean => {
    const pendingKnown = ops.filter((op, i) => !placed[i] && op.output !== undefined);
    if (pendingKnown.length === 0) return true;
    for (let i = 0; i < ops.length; i++) {
      if (placed[i]) continue;
      const op = ops[i]!;
      if (pendingKnown.some((other) => other !== op && other.ret < op.call)) continue;
      const current = store.get(op.input.key) ?? null;
      let nextValue = current;
      const out = op.output;
      if (op.input.op === 'put') {
        if (out === undefined || out.ok) nextValue = op.input.value;
      } else if (op.input.op === 'get') {
        if (out !== undefined && out.ok && out.value !== current) continue;
      } else {
        const matches = current === op.input.expected;
        if (out !== undefined && out.ok !== matches) continue;
        if (matches) nextValue = op.input.value;
      }
      placed[i] = true;
      const next = new Map(store).set(op.input.key, nextValue);
      const found = search(next);
      placed[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(new Map());
}

/** All keys in one state, without partitioning: a cross-check of P-compositionality. */
const multiKeyModel: Model<ReadonlyMap<string, string>, KvInput, KvOutput> = {
  init: () => new Map(),
  step(state, input, output) {
    const r = kvModel.step(state.get(input.key) ?? null, input, output);
    return { ok: r.ok, state: withKey(state, input.key, r.state) };
  },
  stepUnknown(state, input) {
    return withKey(state, input.key, kvModel.stepUnknown!(state.get(input.key) ?? null, input));
  },
  hash: (state) => JSON.stringify([...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
};

function withKey(state: ReadonlyMap<string, string>, key: string, value: string | null): ReadonlyMap<string, string> {
  if ((state.get(key) ?? null) === value) return state;
  const next = new Map(state);
  if (value === null) next.delete(key);
  else next.set(key, value);
  return next;
}
