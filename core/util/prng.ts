// Pure. A small, seedable pseudo-random generator (sfc32 seeded through splitmix32). Every
// source of randomness in Warden's core comes through a Random so that a run is a function of
// its seed; `fork(label)` derives an independent stream so that one subsystem drawing more
// numbers never shifts what another subsystem sees.

/** Random is the port through which pure code receives randomness. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [state, z >>> 0];
}

function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Prng is a deterministic generator. Two Prngs built from the same seed produce the same
 * sequence on every platform, because only 32-bit integer arithmetic is used.
 */
export class Prng implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** The seed this generator was built from, for reproduction lines. */
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    let s = this.seed;
    let out: number;
    [s, out] = splitmix32(s);
    this.a = out;
    [s, out] = splitmix32(s);
    this.b = out;
    [s, out] = splitmix32(s);
    this.c = out;
    [, out] = splitmix32(s);
    this.d = out;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** nextUint32 returns the next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(n: number): number {
    if (n <= 0) return 0;
    return Math.floor(this.next() * n);
  }

  /** chance returns true with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** range returns an integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** pick returns a uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[this.int(items.length)] as T;
  }

  /**
   * fork derives an independent stream for a named subsystem. The child depends only on this
   * generator's seed and the label, not on how many numbers were drawn so far.
   */
  fork(label: string): Prng {
    return new Prng((this.seed ^ hashLabel(label)) >>> 0 ^ 0x5bd1e995);
  }
}
