// Pure. The typed error every storage adapter throws when a data dir cannot be used as it is.
// Each code names a situation an operator can act on; the message names the file and the fix.

/**
 * StorageErrorCode says why a data dir was refused or a write failed, so that callers (the node's
 * start-up, the CLI, the console) can react without parsing messages.
 * - `CorruptDataDir`: not a SQLite database, failed `PRAGMA quick_check`, missing tables, or a log
 *   that breaks its invariants (gaps, commit beyond the last entry, undecodable rows).
 * - `WrongCluster` / `WrongNode`: the data dir belongs to another cluster or another node.
 * - `NewerVersion`: written by a newer Warden whose schema this build does not know.
 * - `Locked`: another process (or another open in this process) is using the data dir.
 * - `Io`: the file system refused (permissions, disk full, not a directory, ...).
 */
export type StorageErrorCode = 'CorruptDataDir' | 'WrongCluster' | 'WrongNode' | 'NewerVersion' | 'Locked' | 'Io';

/**
 * StorageError is thrown instead of ever repairing, resetting or deleting a data dir: a node that
 * silently starts from an empty log could vote twice or forget acknowledged entries (Raft §5.2,
 * §5.4), so every doubtful case stops with an explanation and leaves the files as they were.
 */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  /** The file (or directory) the error is about. */
  readonly file: string;

  constructor(code: StorageErrorCode, file: string, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.file = file;
  }
}
