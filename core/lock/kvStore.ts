// Pure. The configuration namespace: hierarchical keys with a revision per key and a global
// revision, compare-and-set on revision, and an in-memory history of recent changes from which
// watches resume in order. Applied deterministically from committed entries.

import { assert } from '../util/assert.ts';

/** KvEntry is one key's current value and its revisions (etcd's create/mod revision and version). */
export interface KvEntry {
  readonly key: string;
  readonly value: string;
  /** The global revision of the write that created this key (since its last deletion). */
  readonly createRevision: number;
  /** The global revision of the last write to this key. */
  readonly modRevision: number;
  /** How many times the key was written since it was created. */
  readonly version: number;
  /** The session that owns this key (ephemeral keys vanish with their session), or null. */
  readonly session: string | null;
}

/** KvEvent is one change, as watches deliver it. */
export interface KvEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The new value for puts, null for deletes. */
  readonly value: string | null;
  readonly revision: number;
  /** The value before the change, if there was one. */
  readonly prevValue: string | null;
}

/** KvWriteResult is the outcome of put/delete, returned to the proposer. */
export type KvWriteResult =
  | { readonly ok: true; readonly revision: number; readonly prev: KvEntry | null; readonly deleted?: boolean }
  | { readonly ok: false; readonly code: 'CasConflict'; readonly current: KvEntry | null; readonly revision: number }
  | { readonly ok: false; readonly code: 'NotFound'; readonly revision: number };

/** KvSnapshot is the serializable state. */
export interface KvSnapshot {
  readonly revision: number;
  readonly entries: readonly KvEntry[];
}

const KEY_PATTERN = /^(\/[A-Za-z0-9._@:+=-]+)+$/;

/** KEY_MAX_LENGTH bounds a key's length in characters. */
export const KEY_MAX_LENGTH = 512;

/**
 * validateKey returns null for a valid key, or why it is invalid. Keys are absolute paths of
 * non-empty segments such as `/config/billing/db.url`, so that prefixes mean subtrees.
 */
export function validateKey(key: unknown): string | null {
  if (typeof key !== 'string') return 'key must be a string';
  if (key.length === 0) return 'key must not be empty';
  if (key.length > KEY_MAX_LENGTH) return `key is longer than ${KEY_MAX_LENGTH} characters`;
  if (!KEY_PATTERN.test(key)) return 'key must look like /a/b/c: segments of letters, digits and . _ @ : + = -';
  return null;
}

/** validatePrefix accepts "/" or any key-like prefix, with or without a trailing slash. */
export function validatePrefix(prefix: unknown): string | null {
  if (typeof prefix !== 'string') return 'prefix must be a string';
  if (prefix === '/') return null;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return validateKey(trimmed) === null ? null : 'prefix must be "/" or look like /a/b';
}

/** matchesPrefix says whether a key lies under a prefix ("/a" covers "/a" and "/a/b", not "/ab"). */
export function matchesPrefix(key: string, prefix: string): boolean {
  if (prefix === '/' || prefix === '') return true;
  if (prefix.endsWith('/')) return key.startsWith(prefix);
  return key === prefix || key.startsWith(`${prefix}/`);
}

/** KvStore is the configuration namespace's state. */
export class KvStore {
  private readonly entries = new Map<string, KvEntry>();
  private revisionCounter = 0;
  private readonly history: KvEvent[] = [];
  private readonly historyLimit: number;
  /** The oldest revision a watch can resume from; earlier ones were compacted (or predate a snapshot). */
  private oldestRevision = 1;

  constructor(historyLimit = 10_000) {
    this.historyLimit = historyLimit;
  }

  /** revision is the global revision: it increases by one with every successful write. */
  get revision(): number {
    return this.revisionCounter;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): KvEntry | null {
    return this.entries.get(key) ?? null;
  }

  /** list returns the entries under a prefix in key order, at most `limit`. */
  list(prefix: string, limit = Number.MAX_SAFE_INTEGER): KvEntry[] {
    const out: KvEntry[] = [];
    for (const entry of this.entries.values()) if (matchesPrefix(entry.key, prefix)) out.push(entry);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out.slice(0, limit);
  }

  /**
   * put writes a value. `expectRevision` makes it a compare-and-set on the key's modRevision;
   * 0 means "only if the key does not exist".
   */
  put(key: string, value: string, expectRevision: number | null, session: string | null): KvWriteResult {
    const prev = this.entries.get(key) ?? null;
    if (expectRevision !== null && (prev?.modRevision ?? 0) !== expectRevision) {
      return { ok: false, code: 'CasConflict', current: prev, revision: this.revisionCounter };
    }
    const revision = ++this.revisionCounter;
    const entry: KvEntry = {
      key,
      value,
      createRevision: prev ? prev.createRevision : revision,
      modRevision: revision,
      version: prev ? prev.version + 1 : 1,
      // As with etcd leases: a put without a session detaches the key from its old session.
      session,
    };
    this.entries.set(key, entry);
    this.record({ type: 'put', key, value, revision, prevValue: prev?.value ?? null });
    return { ok: true, revision, prev };
  }

  /** delete removes a key; with `expectRevision` it is a compare-and-delete. */
  delete(key: string, expectRevision: number | null): KvWriteResult {
    const prev = this.entries.get(key) ?? null;
    if (expectRevision !== null && (prev?.modRevision ?? 0) !== expectRevision) {
      return { ok: false, code: 'CasConflict', current: prev, revision: this.revisionCounter };
    }
    if (!prev) return { ok: false, code: 'NotFound', revision: this.revisionCounter };
    const revision = ++this.revisionCounter;
    this.entries.delete(key);
    this.record({ type: 'delete', key, value: null, revision, prevValue: prev.value });
    return { ok: true, revision, prev, deleted: true };
  }

  /** deleteSession removes every ephemeral key of a session (when it closes or expires). */
  deleteSession(session: string): KvEvent[] {
    const events: KvEvent[] = [];
    for (const entry of [...this.entries.values()]) {
      if (entry.session !== session) continue;
      const result = this.delete(entry.key, null);
      assert(result.ok, 'deleting an existing ephemeral key cannot fail');
      events.push(this.history[this.history.length - 1] as KvEvent);
    }
    return events;
  }

  /**
   * eventsSince returns the retained events with revision >= from under a prefix, or null when
   * `from` is older than the retained history (the watcher must re-list, as with etcd's compaction).
   */
  eventsSince(from: number, prefix: string): KvEvent[] | null {
    // Nothing is missing when no event older than the retained history ever existed.
    if (from < this.oldestRevision && this.oldestRevision > 1) return null;
    const out: KvEvent[] = [];
    for (const event of this.history) if (event.revision >= from && matchesPrefix(event.key, prefix)) out.push(event);
    return out;
  }

  /** oldestWatchableRevision is the smallest revision a watch may resume from. */
  get oldestWatchableRevision(): number {
    return this.oldestRevision;
  }

  snapshot(): KvSnapshot {
    return { revision: this.revisionCounter, entries: [...this.entries.values()] };
  }

  restore(snapshot: KvSnapshot): void {
    this.entries.clear();
    for (const entry of snapshot.entries) this.entries.set(entry.key, entry);
    this.revisionCounter = snapshot.revision;
    this.history.length = 0;
    this.oldestRevision = snapshot.revision + 1;
  }

  private record(event: KvEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.shift() as KvEvent;
      this.oldestRevision = dropped.revision + 1;
    }
  }
}
