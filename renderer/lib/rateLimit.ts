// Effectful (timers). Two rate limiters for the views: a debounce that answers a change at once
// when nothing is pending (a pasted filter shows its rows without waiting) and coalesces a burst
// of typing into one trailing call, and a throttle for refetches triggered by pushes.

/** RateLimited is a limited function plus a way to drop what it has scheduled. */
export interface RateLimited {
  (): void;
  cancel(): void;
}

/**
 * leadingDebounce calls `fn` at once when it has been quiet for `waitMs`, or when `busy` says the
 * previous call's work is done; otherwise calls are coalesced into one call `waitMs` after the
 * last of them. So typing faster than the cluster answers sends one query per pause, while a
 * change made after the last answer arrived is never held back.
 */
export function leadingDebounce(fn: () => void, waitMs: number, busy: () => boolean = () => true): RateLimited {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending = false;
  const settle = (): void => {
    timer = null;
    if (pending) {
      pending = false;
      fn();
      timer = setTimeout(settle, waitMs);
    }
  };
  const limited = (() => {
    if (timer === null || !busy()) {
      if (timer !== null) clearTimeout(timer);
      pending = false;
      fn();
      timer = setTimeout(settle, waitMs);
      return;
    }
    pending = true;
    clearTimeout(timer);
    timer = setTimeout(settle, waitMs);
  }) as RateLimited;
  limited.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    pending = false;
  };
  return limited;
}

/** throttle calls `fn` at most once per `waitMs`: at once, then once more at the end of the window if called meanwhile. */
export function throttle(fn: () => void, waitMs: number): RateLimited {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending = false;
  const settle = (): void => {
    timer = null;
    if (pending) {
      pending = false;
      fn();
      timer = setTimeout(settle, waitMs);
    }
  };
  const limited = (() => {
    if (timer === null) {
      fn();
      timer = setTimeout(settle, waitMs);
    } else pending = true;
  }) as RateLimited;
  limited.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    pending = false;
  };
  return limited;
}
