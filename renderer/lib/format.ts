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

/**
 * formatDuration shows an age or a remaining time the way an operator reads it at a glance:
 * "850 ms", "12.4 s", "4m 05s", "2h 03m", "3d 04h"; null reads "—".
 */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  const v = Math.max(0, ms);
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(1)} s`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const s = Math.floor(v / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** formatDateTime shows a wall-clock time as YYYY-MM-DD HH:MM:SS in local time, for event logs. */
export function formatDateTime(at: number): string {
  const d = new Date(at);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatClock(at)}`;
}

/** ClientInfo is the process behind a session, as the cluster reports it. */
export interface ClientInfo {
  readonly host: string;
  readonly pid: number;
  readonly app: string;
  readonly label: string;
}

/** formatClient shows a session's process as "app (label) on host, pid N", leaving out blanks. */
export function formatClient(info: ClientInfo | null): string {
  if (info === null) return 'unknown client';
  const who = info.app !== '' ? (info.label !== '' ? `${info.app} (${info.label})` : info.app) : info.label !== '' ? info.label : 'client';
  const where = info.host !== '' ? ` on ${info.host}` : '';
  const pid = info.pid > 0 ? `, pid ${info.pid}` : '';
  return `${who}${where}${pid}`;
}
