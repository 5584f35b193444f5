// Unit tests (pure) for the per-key history the console keeps from its configuration watch.

import { describe, expect, it } from 'vitest';
import type { WatchEvent } from '../../../core/api/clientProtocol.ts';
import { KvHistory } from '../../../core/console/kvHistory.ts';

const put = (key: string, revision: number, value = `v${revision}`): WatchEvent => ({ type: 'put', key, value, prevValue: null, revision });

describe('KvHistory', () => {
  it('records each key in revision order and drops repeats from a resumed watch', () => {
    const h = new KvHistory(10);
    expect(h.record([put('/a', 11), put('/b', 12), put('/a', 13)]).map((e) => e.revision)).toEqual([11, 12, 13]);
    expect(h.record([put('/a', 13), put('/a', 9), put('/a', 14)]).map((e) => e.revision)).toEqual([14]);
    expect(h.history('/a').map((e) => e.revision)).toEqual([11, 13, 14]);
    expect(h.history('/none')).toEqual([]);
    expect([h.since, h.last]).toEqual([10, 14]);
  });

  it('keeps at most perKey changes per key, the newest', () => {
    const h = new KvHistory(0, { perKey: 3, keys: 10 });
    h.record([1, 2, 3, 4, 5].map((r) => put('/k', r)));
    expect(h.history('/k').map((e) => e.revision)).toEqual([3, 4, 5]);
  });

  it('forgets the key changed least recently when too many keys are tracked', () => {
    const h = new KvHistory(0, { perKey: 10, keys: 2 });
    h.record([put('/a', 1), put('/b', 2), put('/a', 3), put('/c', 4)]);
    expect(h.history('/b')).toEqual([]);
    expect(h.history('/a').map((e) => e.revision)).toEqual([1, 3]);
    expect(h.history('/c').map((e) => e.revision)).toEqual([4]);
  });

  it('restart after a compacted gap moves since forward and keeps what was recorded', () => {
    const h = new KvHistory(0);
    h.record([put('/a', 1)]);
    h.restart(50);
    expect([h.since, h.last]).toEqual([50, 50]);
    expect(h.record([put('/a', 40), put('/a', 51)]).map((e) => e.revision)).toEqual([51]);
    expect(h.history('/a').map((e) => e.revision)).toEqual([1, 51]);
  });
});
