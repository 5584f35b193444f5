// Pure. Invariant checks that stay on in production: a broken invariant is a bug, and a crash
// that names it (and, in the simulator, comes with a seed) is better than silent divergence.

/** AssertionError marks a broken internal invariant, never an expected outcome. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/**
 * assert throws when `condition` is false. Use it for invariants only; expected failures are
 * result unions (`{ ok: false, reason }`), so callers can tell bugs from outcomes.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** unreachable marks a switch that must be exhaustive; the compiler checks it, this checks at run time. */
export function unreachable(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
