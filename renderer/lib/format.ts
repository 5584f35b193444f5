// Pure. Small formatters shared by the views, so numbers read the same everywhere.

/** formatMs shows a duration in ms with one decimal under 10 ms, whole numbers above. */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** formatCount shows large counters with thin grouping so commit indexes stay legible. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** formatClock shows a wall-clock time as HH:MM:SS, for "updated at" and action results. */
export function formatClock(at: number): string {
  const d = new Date(at);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
