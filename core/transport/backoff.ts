// Pure. Exponential backoff with full jitter for reconnecting peer links: delays spread over
// [0, min(max, base * 2^attempt)) so that nodes restarting together do not redial in lockstep.
// Randomness is injected, so tests are deterministic.

/** BackoffOptions configures a Backoff; delays are in milliseconds. */
export interface BackoffOptions {
  /** The cap of the first delay. */
  readonly retryDelayMsMin: number;
  /** The cap never grows past this. */
  readonly retryDelayMsMax: number;
  /** A float in [0, 1); Math.random in production, a seeded generator in tests. */
  readonly random: () => number;
}

/**
 * Backoff hands out reconnect delays ("full jitter", as in the AWS architecture note on
 * backoff): each failure doubles the cap, a success resets it, and the actual delay is uniform
 * below the cap so that a thundering herd spreads out.
 */
export class Backoff {
  private attempt = 0;
  private readonly options: BackoffOptions;

  constructor(options: BackoffOptions) {
    if (!(options.retryDelayMsMin > 0) || !(options.retryDelayMsMax >= options.retryDelayMsMin)) {
      throw new RangeError(`invalid backoff bounds: min ${options.retryDelayMsMin}, max ${options.retryDelayMsMax}`);
    }
    this.options = options;
  }

  /** attempts is the number of delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** cap is the bound of the next delay. */
  cap(): number {
    const { retryDelayMsMin, retryDelayMsMax } = this.options;
    // 2^attempt overflows to Infinity long after the cap is reached; min() keeps it finite.
    return Math.min(retryDelayMsMax, retryDelayMsMin * 2 ** this.attempt);
  }

  /** next returns the delay before the next attempt and doubles the cap for the one after. */
  next(): number {
    const cap = this.cap();
    this.attempt = Math.min(this.attempt + 1, 64);
    const r = this.options.random();
    return Math.floor(Math.min(Math.max(r, 0), 1) * cap);
  }

  /** reset starts over after a success, so a brief blip is retried quickly. */
  reset(): void {
    this.attempt = 0;
  }
}
