// Pure. The arithmetic of virtual scrolling over fixed-height rows: which rows a viewport shows,
// where they sit, how tall the whole list is, and which pages of a paged query cover them. One
// row may be expanded by a known extra height (the lock table's waiter queue).

/** Expansion makes one row taller than the others by `extraPx`. */
export interface Expansion {
  readonly index: number;
  readonly extraPx: number;
}

/** WindowInput is the viewport and the list it looks at. */
export interface WindowInput {
  readonly scrollTop: number;
  readonly viewportPx: number;
  readonly rowPx: number;
  readonly total: number;
  /** Rows rendered beyond each edge of the viewport, so fast scrolling shows no blank band. */
  readonly overscan: number;
  readonly expansion?: Expansion | null;
}

/** VirtualWindow is what to render: rows [start, end) placed from offsetPx, inside totalPx. */
export interface VirtualWindow {
  readonly start: number;
  readonly end: number;
  readonly offsetPx: number;
  readonly totalPx: number;
}

function validExpansion(expansion: Expansion | null | undefined, total: number): Expansion | null {
  if (!expansion || expansion.index < 0 || expansion.index >= total || expansion.extraPx <= 0) return null;
  return expansion;
}

/** rowTopPx is where row `index` starts, counting the expanded row's extra height above it. */
export function rowTopPx(index: number, rowPx: number, expansion: Expansion | null = null): number {
  const extra = expansion !== null && index > expansion.index ? expansion.extraPx : 0;
  return index * rowPx + extra;
}

/** rowAtPx is the row under a vertical position (clamped to the list). */
export function rowAtPx(px: number, rowPx: number, total: number, expansion: Expansion | null = null): number {
  if (total <= 0) return 0;
  const y = Math.max(0, px);
  let index: number;
  if (expansion === null || y < (expansion.index + 1) * rowPx) index = Math.floor(y / rowPx);
  else if (y < (expansion.index + 1) * rowPx + expansion.extraPx) index = expansion.index;
  else index = Math.floor((y - expansion.extraPx) / rowPx);
  return Math.min(total - 1, Math.max(0, index));
}

/**
 * virtualWindow picks the rows to render. It depends only on its input, so a list of 100,000
 * rows costs the same as one of 50: about viewport / row height + 2 × overscan rows.
 */
export function virtualWindow(input: WindowInput): VirtualWindow {
  const rowPx = Math.max(1, input.rowPx);
  const total = Math.max(0, Math.floor(input.total));
  const expansion = validExpansion(input.expansion, total);
  const totalPx = total * rowPx + (expansion?.extraPx ?? 0);
  if (total === 0) return { start: 0, end: 0, offsetPx: 0, totalPx: 0 };
  const viewportPx = Math.max(0, input.viewportPx);
  // NB: a list that shrank under a scrolled viewport still shows its last rows, not a blank.
  const scrollTop = Math.min(Math.max(0, input.scrollTop), Math.max(0, totalPx - viewportPx));
  const first = rowAtPx(scrollTop, rowPx, total, expansion);
  const last = rowAtPx(scrollTop + Math.max(viewportPx, rowPx) - 1, rowPx, total, expansion);
  const overscan = Math.max(0, Math.floor(input.overscan));
  const start = Math.max(0, first - overscan);
  const end = Math.min(total, last + 1 + overscan);
  return { start, end, offsetPx: rowTopPx(start, rowPx, expansion), totalPx };
}

/** pagesCovering lists the page numbers of a paged query that hold rows [start, end). */
export function pagesCovering(start: number, end: number, pageSize: number): number[] {
  if (end <= start || pageSize <= 0) return [];
  const first = Math.floor(start / pageSize);
  const last = Math.floor((end - 1) / pageSize);
  const pages: number[] = [];
  for (let p = first; p <= last; p++) pages.push(p);
  return pages;
}
