// Tests of lib/locks.ts and lib/rateLimit.ts: sort clicks, aria-sort, why an action is blocked
// (read-only, role, closed), figures aged between refetches, and the filter debounce and push
// throttle timings.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { actionBlockedReason, ariaSort, lockFigures, nextSort, waiterPanelPx, WAITERS_SHOWN } from '../../../renderer/lib/locks.ts';
import { leadingDebounce, throttle } from '../../../renderer/lib/rateLimit.ts';
import { connection, lockView } from './fixtures.ts';

describe('sorting', () => {
  it('a new column starts at its interesting end; the same column flips', () => {
    expect(nextSort({ key: 'name', descending: false }, 'token')).toEqual({ key: 'token', descending: true });
    expect(nextSort({ key: 'token', descending: true }, 'token')).toEqual({ key: 'token', descending: false });
    expect(nextSort({ key: 'token', descending: true }, 'name')).toEqual({ key: 'name', descending: false });
    expect(nextSort({ key: 'name', descending: false }, 'name')).toEqual({ key: 'name', descending: true });
  });

  it('aria-sort names the sorted column only', () => {
    expect(ariaSort({ key: 'age', descending: true }, 'age')).toBe('descending');
    expect(ariaSort({ key: 'age', descending: false }, 'age')).toBe('ascending');
    expect(ariaSort({ key: 'age', descending: false }, 'token')).toBe('none');
  });
});

describe('actionBlockedReason', () => {
  const open = connection({ id: 'c', state: 'open', role: 'admin' });

  it('allows an admin on an open, writable connection', () => {
    expect(actionBlockedReason(open, true, 'admin', 'forced release')).toBeNull();
  });

  it('says why: read-only, a non-admin role, an unknown role, a closed connection, no backend', () => {
    expect(actionBlockedReason({ ...open, readOnly: true }, true, 'admin', 'forced release')).toBe('read-only connection: forced release is disabled');
    expect(actionBlockedReason({ ...open, role: 'client' }, true, 'admin', 'forced release')).toMatch(/client role; forced release needs an admin token/);
    expect(actionBlockedReason({ ...open, role: 'reader' }, true, 'write', 'editing configuration')).toMatch(/reader role/);
    expect(actionBlockedReason({ ...open, role: 'client' }, true, 'write', 'editing configuration')).toBeNull();
    expect(actionBlockedReason({ ...open, role: null }, true, 'admin', 'forced release')).toMatch(/not known yet/);
    expect(actionBlockedReason({ ...open, state: 'closed' }, true, 'admin', 'forced release')).toBe('the connection is not open');
    expect(actionBlockedReason(open, false, 'admin', 'forced release')).toBe('the console backend is not reachable');
    expect(actionBlockedReason(null, true, 'admin', 'forced release')).toBe('unknown connection');
  });
});

describe('lockFigures', () => {
  it('ages the holder figures by the time since the page was read', () => {
    const f = lockFigures(lockView('a', { lockDelayLeftMs: 5_000 }), 2_000);
    expect(f).toEqual({ token: 41, heldMs: 402_000, keepAliveAgeMs: 2_300, keepAliveShare: 0.23, lockDelayLeftMs: 3_000 });
  });

  it('a free lock has no token or ages, and lock-delay never goes below zero', () => {
    expect(lockFigures(lockView('a', { holders: [], mode: null, lockDelayLeftMs: 1_000 }), 5_000)).toEqual({
      token: null,
      heldMs: null,
      keepAliveAgeMs: null,
      keepAliveShare: null,
      lockDelayLeftMs: 0,
    });
  });

  it('the waiter panel height grows with the queue up to a scrolling maximum', () => {
    expect(waiterPanelPx(1)).toBeLessThan(waiterPanelPx(3));
    expect(waiterPanelPx(WAITERS_SHOWN + 50)).toBe(waiterPanelPx(WAITERS_SHOWN));
  });
});

describe('rate limits', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('leadingDebounce answers the first call at once and a burst once, after it ends', () => {
    const fn = vi.fn();
    const limited = leadingDebounce(fn, 150);
    limited();
    expect(fn).toHaveBeenCalledTimes(1);
    limited();
    vi.advanceTimersByTime(100);
    limited();
    vi.advanceTimersByTime(100);
    limited();
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(150);
    expect(fn).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(2);
    limited();
    expect(fn).toHaveBeenCalledTimes(3);
    limited();
    limited.cancel();
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('leadingDebounce answers at once when the previous call is no longer busy', () => {
    const fn = vi.fn();
    let busy = true;
    const limited = leadingDebounce(fn, 150, () => busy);
    limited();
    limited();
    expect(fn).toHaveBeenCalledTimes(1);
    busy = false;
    limited();
    expect(fn).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(150);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('throttle calls at most once per window, with one trailing call', () => {
    const fn = vi.fn();
    const limited = throttle(fn, 1000);
    for (let i = 0; i < 10; i++) limited();
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(5000);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});
