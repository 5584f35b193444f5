// Effectful (file system, process table). The advisory lock that keeps a second process from
// opening a data dir in use: a lock file holding the owner's pid and host, taken over only when
// that pid is dead on this host. SQLite's exclusive locking mode is the second, kernel-held guard.

import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { StorageError } from './storageError.ts';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
}

/**
 * DataDirLock is held from the moment a storage opens until it closes. The lock file tells the
 * operator who holds the dir; a crashed (kill -9) owner leaves a stale file that the next open
 * recognises by its dead pid, so a crash never needs manual clean-up.
 * NB: two processes taking over the same stale file at once could both succeed here; the SQLite
 * connection's exclusive lock, which the kernel drops when its process dies, refuses the loser.
 */
export class DataDirLock {
  readonly file: string;
  private readonly content: string;
  private held = true;

  private constructor(file: string, content: string) {
    this.file = file;
    this.content = content;
  }

  /** acquire takes the lock or throws StorageError `Locked` (live owner) or `Io`. */
  static acquire(file: string): DataDirLock {
    const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomUUID() };
    const content = `${JSON.stringify(owner)}\n`;
    const temp = `${file}.${process.pid}.${owner.token}.tmp`;
    try {
      writeFileSync(temp, content, { flag: 'wx' });
    } catch (error) {
      throw new StorageError('Io', temp, `cannot write ${temp}: ${describe(error)}. Check that the data dir is writable.`, { cause: error });
    }
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          // NB: link() fails when the lock file exists, and the file appears complete or not at all.
          linkSync(temp, file);
          return new DataDirLock(file, content);
        } catch (error) {
          if (errorCode(error) !== 'EEXIST') {
            throw new StorageError('Io', file, `cannot create the lock file ${file}: ${describe(error)}. Check that the data dir is writable.`, { cause: error });
          }
        }
        const holder = readOwner(file);
        if (holder === undefined) continue; // Released between our link() and our read: try again.
        if (holder === 'unreadable') {
          throw new StorageError('Locked', file, `the lock file ${file} is damaged. If no Warden process is using this data dir, delete ${file} and start again.`);
        }
        if (holder.host === hostname() && holder.pid === process.pid) {
          throw new StorageError('Locked', file, `the data dir is already open in this process (lock file ${file}); close the other storage first.`);
        }
        if (holder.host !== hostname() || isAlive(holder.pid)) {
          throw new StorageError(
            'Locked',
            file,
            `the data dir is in use by process ${holder.pid} on ${holder.host} (lock file ${file}). ` +
              `Stop that process first; if it is not a Warden node, delete ${file}.`,
          );
        }
        removeStale(file);
      }
      throw new StorageError('Locked', file, `another process keeps taking the lock file ${file}; stop the other Warden process using this data dir.`);
    } finally {
      tryUnlink(temp);
    }
  }

  /** release removes the lock file if it is still ours; it is idempotent. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    let current: string;
    try {
      current = readFileSync(this.file, 'utf8');
    } catch {
      return;
    }
    if (current === this.content) tryUnlink(this.file);
  }
}

function readOwner(file: string): LockOwner | 'unreadable' | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    return 'unreadable';
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return 'unreadable';
    const { pid, host, token } = parsed as Record<string, unknown>;
    if (!Number.isSafeInteger(pid) || (pid as number) <= 0 || typeof host !== 'string' || typeof token !== 'string') return 'unreadable';
    return { pid: pid as number, host, token };
  } catch {
    return 'unreadable';
  }
}

/** isAlive says whether a process exists; EPERM means it exists but belongs to another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

function removeStale(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') {
      throw new StorageError('Io', file, `cannot remove the stale lock file ${file}: ${describe(error)}. Delete it by hand.`, { cause: error });
    }
  }
}

function tryUnlink(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone; nothing else to do.
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
