// Pure. Geometry of the topology diagram: where each datacenter region sits, and where the line
// between two regions runs and carries its RTT label. Computed from counts alone (no DOM
// measurement), so the picture is stable between updates and testable without a browser.

/** Fixed sizes in CSS pixels; ClusterNodeCard and ClusterDiagramRegion use the same numbers. */
export const SIZES = {
  regionWidth: 300,
  regionHeader: 40,
  regionPadding: 10,
  cardHeight: 112,
  /** A card without fault buttons (remote clusters). */
  compactCardHeight: 72,
  cardGap: 8,
  emptyRegionBody: 40,
  gapX: 140,
  gapY: 92,
  margin: 16,
  labelWidth: 78,
  labelHeight: 22,
} as const;

/** RegionBox is a datacenter's rectangle. */
export interface RegionBox {
  readonly name: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** LinkGeometry is the visible part of a link (between region borders) and its label's centre. */
export interface LinkGeometry {
  readonly a: string;
  readonly b: string;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly labelX: number;
  readonly labelY: number;
}

/** DiagramLayout is the whole picture's geometry. */
export interface DiagramLayout {
  readonly width: number;
  readonly height: number;
  readonly regions: readonly RegionBox[];
  readonly links: readonly LinkGeometry[];
}

/**
 * Slots per datacenter count as [column in half-region units, row]. Shapes are chosen so that no
 * line between two regions crosses a third region: a row, a triangle, a diamond, a pentagon.
 */
const SLOTS: Record<number, readonly (readonly [number, number])[]> = {
  1: [[0, 0]],
  2: [[0, 0], [2, 0]],
  3: [[0, 0], [2, 0], [1, 1]],
  4: [[1, 0], [0, 1], [2, 1], [1, 2]],
  5: [[2, 0], [0, 1], [4, 1], [1, 2], [3, 2]],
};

function slotsFor(count: number): (readonly [number, number])[] {
  const fixed = SLOTS[count];
  if (fixed) return [...fixed];
  // More than five datacenters: rows of three; lines may cross regions, which are drawn on top.
  return Array.from({ length: count }, (_, i) => [2 * (i % 3), Math.floor(i / 3)] as const);
}

/** regionHeight is the height of a region holding `nodes` node cards, with or without buttons. */
export function regionHeight(nodes: number, compact = false): number {
  const card = compact ? SIZES.compactCardHeight : SIZES.cardHeight;
  const body = nodes === 0 ? SIZES.emptyRegionBody : nodes * card + (nodes - 1) * SIZES.cardGap;
  return SIZES.regionHeader + body + 2 * SIZES.regionPadding;
}

interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

function overlaps(p: Rect, q: Rect): boolean {
  return p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height;
}

/** exitFraction is how far along (dx, dy) from a box's centre the line leaves the box. */
function exitFraction(box: RegionBox, dx: number, dy: number): number {
  const fx = dx === 0 ? Number.POSITIVE_INFINITY : box.width / 2 / Math.abs(dx);
  const fy = dy === 0 ? Number.POSITIVE_INFINITY : box.height / 2 / Math.abs(dy);
  return Math.min(fx, fy);
}

/**
 * layoutDiagram places datacenters (given in drawing order with their node counts) and the links
 * between the given pairs; `compact` is for node cards without fault buttons. Each label goes at
 * the middle of its line's visible part, or is slid along the line when that spot is taken by
 * another label or a region (crossing diagonals).
 */
export function layoutDiagram(
  datacenters: readonly { readonly name: string; readonly nodes: number }[],
  pairs: readonly { readonly a: string; readonly b: string }[],
  options: { readonly compact?: boolean } = {},
): DiagramLayout {
  const compact = options.compact ?? false;
  const slots = slotsFor(datacenters.length);
  const unit = (SIZES.regionWidth + SIZES.gapX) / 2;
  const rows = new Map<number, number>();
  datacenters.forEach((dc, i) => {
    const row = (slots[i] as readonly [number, number])[1];
    rows.set(row, Math.max(rows.get(row) ?? 0, regionHeight(dc.nodes, compact)));
  });
  const rowTop = new Map<number, number>();
  let y = SIZES.margin;
  for (const row of [...rows.keys()].sort((p, q) => p - q)) {
    rowTop.set(row, y);
    y += (rows.get(row) as number) + SIZES.gapY;
  }
  const regions: RegionBox[] = datacenters.map((dc, i) => {
    const [col, row] = slots[i] as readonly [number, number];
    return { name: dc.name, x: SIZES.margin + col * unit, y: rowTop.get(row) as number, width: SIZES.regionWidth, height: regionHeight(dc.nodes, compact) };
  });
  const byName = new Map(regions.map((r) => [r.name, r]));
  const width = regions.reduce((w, r) => Math.max(w, r.x + r.width), 0) + SIZES.margin;
  const height = regions.reduce((h, r) => Math.max(h, r.y + r.height), 0) + SIZES.margin;

  const taken: Rect[] = [...regions];
  const links: LinkGeometry[] = [];
  for (const { a, b } of pairs) {
    const ra = byName.get(a);
    const rb = byName.get(b);
    if (!ra || !rb) continue;
    const cax = ra.x + ra.width / 2;
    const cay = ra.y + ra.height / 2;
    const cbx = rb.x + rb.width / 2;
    const cby = rb.y + rb.height / 2;
    const dx = cbx - cax;
    const dy = cby - cay;
    let fa = exitFraction(ra, dx, dy);
    let fb = exitFraction(rb, dx, dy);
    if (fa + fb >= 1) {
      fa = 0;
      fb = 0;
    }
    const x1 = cax + fa * dx;
    const y1 = cay + fa * dy;
    const x2 = cbx - fb * dx;
    const y2 = cby - fb * dy;
    let label: Rect | null = null;
    for (const t of [0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6]) {
      const cx = x1 + t * (x2 - x1);
      const cy = y1 + t * (y2 - y1);
      const candidate = { x: cx - SIZES.labelWidth / 2, y: cy - SIZES.labelHeight / 2, width: SIZES.labelWidth, height: SIZES.labelHeight };
      if (!taken.some((r) => overlaps(candidate, r))) {
        label = candidate;
        break;
      }
    }
    label ??= { x: (x1 + x2) / 2 - SIZES.labelWidth / 2, y: (y1 + y2) / 2 - SIZES.labelHeight / 2, width: SIZES.labelWidth, height: SIZES.labelHeight };
    taken.push(label);
    links.push({ a, b, x1, y1, x2, y2, labelX: label.x + label.width / 2, labelY: label.y + label.height / 2 });
  }
  return { width, height, regions, links };
}
