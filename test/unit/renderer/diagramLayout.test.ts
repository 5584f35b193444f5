// Tests of lib/diagramLayout.ts: regions never overlap, links run between region borders, labels
// sit outside regions and apart from each other, for one to five datacenters.

import { describe, expect, it } from 'vitest';
import { layoutDiagram, regionHeight, SIZES, type RegionBox } from '../../../renderer/lib/diagramLayout.ts';

function pairs(names: string[]): { a: string; b: string }[] {
  const out: { a: string; b: string }[] = [];
  for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) out.push({ a: names[i] as string, b: names[j] as string });
  return out;
}

function overlap(p: RegionBox, q: RegionBox): boolean {
  return p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height;
}

function inside(x: number, y: number, r: RegionBox): boolean {
  return x > r.x && x < r.x + r.width && y > r.y && y < r.y + r.height;
}

describe('layoutDiagram', () => {
  for (const count of [1, 2, 3, 4, 5]) {
    it(`places ${count} datacenter(s) without overlap and labels every link clear of regions`, () => {
      const names = Array.from({ length: count }, (_, i) => `dc-${String.fromCharCode(97 + i)}`);
      const layout = layoutDiagram(
        names.map((name, i) => ({ name, nodes: 1 + (i % 3) })),
        pairs(names),
      );
      expect(layout.regions.map((r) => r.name)).toEqual(names);
      for (const [i, p] of layout.regions.entries()) {
        for (const q of layout.regions.slice(i + 1)) expect(overlap(p, q)).toBe(false);
        expect(p.x + p.width).toBeLessThanOrEqual(layout.width);
        expect(p.y + p.height).toBeLessThanOrEqual(layout.height);
      }
      expect(layout.links).toHaveLength((count * (count - 1)) / 2);
      for (const link of layout.links) {
        for (const r of layout.regions) expect(inside(link.labelX, link.labelY, r)).toBe(false);
      }
      for (const [i, l] of layout.links.entries()) {
        for (const m of layout.links.slice(i + 1)) {
          const apart = Math.abs(l.labelX - m.labelX) >= SIZES.labelWidth || Math.abs(l.labelY - m.labelY) >= SIZES.labelHeight;
          expect(apart).toBe(true);
        }
      }
    });
  }

  it('starts and ends each line on the borders of its two regions', () => {
    const layout = layoutDiagram(
      [
        { name: 'dc-a', nodes: 2 },
        { name: 'dc-b', nodes: 2 },
      ],
      [{ a: 'dc-a', b: 'dc-b' }],
    );
    const [a, b] = layout.regions as [RegionBox, RegionBox];
    const link = layout.links[0];
    expect(link?.x1).toBeCloseTo(a.x + a.width);
    expect(link?.x2).toBeCloseTo(b.x);
    expect(link?.y1).toBeCloseTo(a.y + a.height / 2);
  });

  it('sizes regions by their node count, smaller without fault buttons', () => {
    expect(regionHeight(2)).toBe(SIZES.regionHeader + 2 * SIZES.cardHeight + SIZES.cardGap + 2 * SIZES.regionPadding);
    expect(regionHeight(2, true)).toBeLessThan(regionHeight(2));
    expect(regionHeight(0)).toBeGreaterThan(SIZES.regionHeader);
  });

  it('skips links to unknown datacenters', () => {
    expect(layoutDiagram([{ name: 'dc-a', nodes: 1 }], [{ a: 'dc-a', b: 'dc-z' }]).links).toEqual([]);
  });
});
