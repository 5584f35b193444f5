// Pure. A line diff for the configuration editor's "what will change" view: the longest common
// subsequence of lines (after trimming the common head and tail), with long unchanged runs
// folded so that the change itself stays on screen.

/** DiffLine is one line of a diff: kept, removed from the old text, or added by the new one. */
export interface DiffLine {
  readonly kind: 'same' | 'del' | 'add';
  readonly text: string;
  /** 1-based line number in the old text (null for an added line). */
  readonly oldLine: number | null;
  /** 1-based line number in the new text (null for a removed line). */
  readonly newLine: number | null;
}

/** LineDiff is a whole diff with its counts. */
export interface LineDiff {
  readonly lines: readonly DiffLine[];
  readonly added: number;
  readonly removed: number;
  /**
   * The changed middle was too large for the LCS table, so it is shown as removed then added:
   * still a correct diff, only not a minimal one.
   */
  readonly approximate: boolean;
}

/** DiffRow is what the diff view draws: a line, or a fold of unchanged lines. */
export type DiffRow = DiffLine | { readonly kind: 'skip'; readonly count: number; readonly oldLine: number; readonly newLine: number };

/** Above this many cells (old lines × new lines of the changed middle) the LCS table is skipped. */
export const MAX_LCS_CELLS = 2_000_000;

/** splitLines splits on \n or \r\n; an empty text has no lines, and a final newline ends the last. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * lineDiff compares two texts line by line. Equal texts give only 'same' lines; the order of the
 * result is the order a reader expects: within a change, removals before additions.
 */
export function lineDiff(oldText: string, newText: string): LineDiff {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const lines: DiffLine[] = [];
  for (let i = 0; i < head; i++) lines.push({ kind: 'same', text: a[i] as string, oldLine: i + 1, newLine: i + 1 });

  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const n = midA.length;
  const m = midB.length;
  let approximate = false;
  if (n > 0 && m > 0 && (n + 1) * (m + 1) <= MAX_LCS_CELLS) {
    // lcs[i * (m + 1) + j] is the LCS length of midA[i..] and midB[j..].
    const width = m + 1;
    const lcs = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * width + j] = midA[i] === midB[j] ? (lcs[(i + 1) * width + j + 1] as number) + 1 : Math.max(lcs[(i + 1) * width + j] as number, lcs[i * width + j + 1] as number);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        lines.push({ kind: 'same', text: midA[i] as string, oldLine: head + i + 1, newLine: head + j + 1 });
        i++;
        j++;
      } else if (j >= m || (i < n && (lcs[(i + 1) * width + j] as number) >= (lcs[i * width + j + 1] as number))) {
        lines.push({ kind: 'del', text: midA[i] as string, oldLine: head + i + 1, newLine: null });
        i++;
      } else {
        lines.push({ kind: 'add', text: midB[j] as string, oldLine: null, newLine: head + j + 1 });
        j++;
      }
    }
  } else {
    approximate = n > 0 && m > 0;
    for (let i = 0; i < n; i++) lines.push({ kind: 'del', text: midA[i] as string, oldLine: head + i + 1, newLine: null });
    for (let j = 0; j < m; j++) lines.push({ kind: 'add', text: midB[j] as string, oldLine: null, newLine: head + j + 1 });
  }

  for (let k = 0; k < tail; k++) {
    const ai = a.length - tail + k;
    const bi = b.length - tail + k;
    lines.push({ kind: 'same', text: a[ai] as string, oldLine: ai + 1, newLine: bi + 1 });
  }
  let added = 0;
  let removed = 0;
  for (const line of lines) {
    if (line.kind === 'add') added++;
    else if (line.kind === 'del') removed++;
  }
  return { lines, added, removed, approximate };
}

/**
 * foldUnchanged keeps `context` unchanged lines around each change and folds longer unchanged
 * runs into one 'skip' row, as unified diffs do.
 */
export function foldUnchanged(lines: readonly DiffLine[], context = 3): DiffRow[] {
  const keep = new Uint8Array(lines.length);
  lines.forEach((line, i) => {
    if (line.kind === 'same') return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = 1;
  });
  const rows: DiffRow[] = [];
  let i = 0;
  while (i < lines.length) {
    if (keep[i] === 1) {
      rows.push(lines[i] as DiffLine);
      i++;
      continue;
    }
    const from = i;
    while (i < lines.length && keep[i] !== 1) i++;
    const first = lines[from] as DiffLine;
    rows.push({ kind: 'skip', count: i - from, oldLine: first.oldLine ?? 0, newLine: first.newLine ?? 0 });
  }
  return rows;
}
