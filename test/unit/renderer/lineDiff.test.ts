// Tests of lib/lineDiff.ts: a minimal line diff by LCS, line numbers on both sides, folding of
// unchanged runs, and the fallback for changes too large for the LCS table.

import { describe, expect, it } from 'vitest';
import { foldUnchanged, lineDiff, MAX_LCS_CELLS, splitLines } from '../../../renderer/lib/lineDiff.ts';

const compact = (oldText: string, newText: string): string[] => lineDiff(oldText, newText).lines.map((l) => `${l.kind === 'same' ? ' ' : l.kind === 'add' ? '+' : '-'}${l.text}`);

describe('lineDiff', () => {
  it('equal texts are all unchanged lines', () => {
    const d = lineDiff('a\nb\n', 'a\nb\n');
    expect(d.added + d.removed).toBe(0);
    expect(d.lines.map((l) => l.kind)).toEqual(['same', 'same']);
  });

  it('shows a changed line as removed then added, with line numbers on each side', () => {
    const d = lineDiff('{\n  "timeout": 30,\n  "retries": 3\n}\n', '{\n  "timeout": 45,\n  "retries": 3\n}\n');
    expect(compact('{\n  "timeout": 30,\n  "retries": 3\n}\n', '{\n  "timeout": 45,\n  "retries": 3\n}\n')).toEqual([' {', '-  "timeout": 30,', '+  "timeout": 45,', '   "retries": 3', ' }']);
    expect(d.lines[1]).toEqual({ kind: 'del', text: '  "timeout": 30,', oldLine: 2, newLine: null });
    expect(d.lines[2]).toEqual({ kind: 'add', text: '  "timeout": 45,', oldLine: null, newLine: 2 });
    expect(d.lines[3]).toEqual({ kind: 'same', text: '  "retries": 3', oldLine: 3, newLine: 3 });
    expect([d.added, d.removed]).toEqual([1, 1]);
  });

  it('finds the longest common subsequence across insertions and deletions', () => {
    expect(compact('a\nb\nc\nd\ne', 'a\nc\nd\nx\ne\nf')).toEqual([' a', '-b', ' c', ' d', '+x', ' e', '+f']);
  });

  it('diffs from and to an empty text', () => {
    expect(compact('', 'x\ny')).toEqual(['+x', '+y']);
    expect(compact('x\ny', '')).toEqual(['-x', '-y']);
    expect(splitLines('')).toEqual([]);
    expect(splitLines('a\r\nb\n')).toEqual(['a', 'b']);
  });

  it('falls back to removed-then-added when the changed middle is too large, and says so', () => {
    const n = Math.ceil(Math.sqrt(MAX_LCS_CELLS)) + 10;
    const a = Array.from({ length: n }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: n }, (_, i) => `b${i}`).join('\n');
    const d = lineDiff(`head\n${a}\ntail`, `head\n${b}\ntail`);
    expect(d.approximate).toBe(true);
    expect([d.added, d.removed]).toEqual([n, n]);
    expect(d.lines[0]?.kind).toBe('same');
    expect(d.lines.at(-1)).toMatchObject({ kind: 'same', text: 'tail', oldLine: n + 2, newLine: n + 2 });
  });
});

describe('foldUnchanged', () => {
  it('keeps context around a change and folds the rest', () => {
    const old = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n');
    const next = old.replace('line 10', 'line ten');
    const rows = foldUnchanged(lineDiff(old, next).lines, 2);
    expect(rows.map((r) => (r.kind === 'skip' ? `skip ${r.count}` : r.kind))).toEqual(['skip 7', 'same', 'same', 'del', 'add', 'same', 'same', 'skip 8']);
    expect(rows[0]).toEqual({ kind: 'skip', count: 7, oldLine: 1, newLine: 1 });
  });
});
