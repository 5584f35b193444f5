// Pure. Per-key history of configuration changes as the console's watch delivers them, bounded
// in keys and in changes per key, so a busy namespace cannot grow the backend without limit.

import type { WatchEvent } from '../api/clientProtocol.ts';

/** KvHistoryLimits bound what one connection keeps. */
export interface KvHistoryLimits {
  /** Changes kept per key (the oldest go first). */
  readonly perKey: number;
  /** Keys tracked; the key changed least recently is forgotten first. */
  readonly keys: number;
}

/** DEFAULT_KV_HISTORY_LIMITS suit an editor's "history of this key" panel. */
export const DEFAULT_KV_HISTORY_LIMITS: KvHistoryLimits = { perKey: 100, keys: 10_000 };

/**
 * KvHistory records changes per key in revision order. `since` is the revision the watch started
 * after: changes before it were never seen, and the UI says so.
 */
export class KvHistory {
  private readonly limits: KvHistoryLimits;
  /** Map order is recency of change: a key is re-inserted on every change. */
  private readonly byKey = new Map<string, WatchEvent[]>();
  private sinceRevision: number;
  private lastRevision: number;

  constructor(since: number, limits: KvHistoryLimits = DEFAULT_KV_HISTORY_LIMITS) {
    this.limits = limits;
    this.sinceRevision = since;
    this.lastRevision = since;
  }

  /** since is the revision after which changes were recorded. */
  get since(): number {
    return this.sinceRevision;
  }

  /** last is the newest revision recorded (or `since`), where a resumed watch continues. */
  get last(): number {
    return this.lastRevision;
  }

  /**
   * record keeps the events it has not seen (a resumed watch may repeat some) and returns those,
   * in order.
   */
  record(events: readonly WatchEvent[]): WatchEvent[] {
    const fresh: WatchEvent[] = [];
    for (const event of events) {
      if (event.revision <= this.lastRevision) continue;
      this.lastRevision = event.revision;
      fresh.push(event);
      const list = this.byKey.get(event.key) ?? [];
      this.byKey.delete(event.key);
      list.push(event);
      if (list.length > this.limits.perKey) list.splice(0, list.length - this.limits.perKey);
      this.byKey.set(event.key, list);
      if (this.byKey.size > this.limits.keys) {
        const oldest = this.byKey.keys().next().value as string;
        this.byKey.delete(oldest);
      }
    }
    return fresh;
  }

  /**
   * restart begins again after a gap the watch could not bridge (history compacted): what was
   * kept stays, and `since` moves to the revision recording resumes from.
   */
  restart(since: number): void {
    this.sinceRevision = since;
    this.lastRevision = Math.max(this.lastRevision, since);
  }

  /** history lists one key's recorded changes, oldest first. */
  history(key: string): WatchEvent[] {
    return [...(this.byKey.get(key) ?? [])];
  }
}
