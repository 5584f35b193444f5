// Tests of lib/virtualWindow.ts: the rows a viewport renders over fixed-height rows, with one
// expanded row, at the ends of the list, and the query pages that cover them.

import { describe, expect, it } from 'vitest';
import { pagesCovering, rowAtPx, rowTopPx, virtualWindow } from '../../../renderer/lib/virtualWindow.ts';

describe('virtualWindow', () => {
  it('renders a screenful plus overscan of 100,000 rows, inside a spacer as tall as all of them', () => {
    const w = virtualWindow({ scrollTop: 0, viewportPx: 600, rowPx: 30, total: 100_000, overscan: 10 });
    expect(w).toEqual({ start: 0, end: 30, offsetPx: 0, totalPx: 3_000_000 });
  });

  it('follows the scroll position with overscan on both sides', () => {
    const w = virtualWindow({ scrollTop: 30_000, viewportPx: 600, rowPx: 30, total: 100_000, overscan: 10 });
    expect(w.start).toBe(990);
    expect(w.end).toBe(1030);
    expect(w.offsetPx).toBe(990 * 30);
  });

  it('clamps a scroll position past the end (the list shrank) to the last screenful', () => {
    const w = virtualWindow({ scrollTop: 1_000_000, viewportPx: 300, rowPx: 30, total: 50, overscan: 2 });
    expect(w.end).toBe(50);
    expect(w.start).toBe(38);
    expect(w.totalPx).toBe(1500);
  });

  it('renders nothing for an empty list and everything for a short one', () => {
    expect(virtualWindow({ scrollTop: 0, viewportPx: 600, rowPx: 30, total: 0, overscan: 5 })).toEqual({ start: 0, end: 0, offsetPx: 0, totalPx: 0 });
    expect(virtualWindow({ scrollTop: 0, viewportPx: 600, rowPx: 30, total: 7, overscan: 5 })).toMatchObject({ start: 0, end: 7, totalPx: 210 });
  });

  it('an expanded row adds its extra height to the total and pushes the rows below it down', () => {
    const expansion = { index: 5, extraPx: 100 };
    expect(rowTopPx(5, 30, expansion)).toBe(150);
    expect(rowTopPx(6, 30, expansion)).toBe(280);
    expect(rowAtPx(170, 30, 1000, expansion)).toBe(5);
    expect(rowAtPx(279, 30, 1000, expansion)).toBe(5);
    expect(rowAtPx(280, 30, 1000, expansion)).toBe(6);
    const w = virtualWindow({ scrollTop: 280, viewportPx: 90, rowPx: 30, total: 1000, overscan: 0, expansion });
    expect(w).toEqual({ start: 6, end: 9, offsetPx: 280, totalPx: 30_100 });
  });

  it('ignores an expansion outside the list', () => {
    const w = virtualWindow({ scrollTop: 0, viewportPx: 90, rowPx: 30, total: 3, overscan: 0, expansion: { index: 9, extraPx: 100 } });
    expect(w.totalPx).toBe(90);
  });
});

describe('pagesCovering', () => {
  it('lists the pages that hold a range of rows', () => {
    expect(pagesCovering(0, 40, 200)).toEqual([0]);
    expect(pagesCovering(190, 230, 200)).toEqual([0, 1]);
    expect(pagesCovering(400, 400, 200)).toEqual([]);
    expect(pagesCovering(99_980, 100_000, 200)).toEqual([499]);
  });
});
