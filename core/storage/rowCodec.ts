// Pure. How log entries, memberships and snapshots map to SQLite rows and back. Decoding checks
// every field, because a row that does not decode means a damaged data dir, which must stop the
// node with `CorruptDataDir` rather than feed Raft a half-read log.

import { nodeId } from '../raft/types.ts';
import type { ConfChange, Entry, Membership, NodeId } from '../raft/types.ts';
import { StorageError } from './storageError.ts';

/** EntryRow is one row of the `entries` table, as better-sqlite3 hands it out or takes it in. */
export interface EntryRow {
  readonly log_index: number;
  readonly term: number;
  readonly type: string;
  readonly data: Uint8Array | null;
  readonly conf: string | null;
}

/**
 * pushEntryValues appends an entry's column values (log_index, term, type, data, conf) to a
 * statement's positional parameters: commands keep their bytes as a BLOB, conf changes become
 * JSON text.
 */
export function pushEntryValues(entry: Entry, out: unknown[]): void {
  switch (entry.type) {
    case 'noop':
      out.push(entry.index, entry.term, 'noop', null, null);
      return;
    case 'command':
      out.push(entry.index, entry.term, 'command', entry.data, null);
      return;
    case 'conf':
      out.push(entry.index, entry.term, 'conf', null, JSON.stringify(entry.change));
      return;
  }
}

/** rowToEntry decodes a row, or throws `CorruptDataDir` naming the file and the index. */
export function rowToEntry(row: EntryRow, file: string): Entry {
  const where = `entry ${String(row.log_index)}`;
  const index = count(row.log_index, file, `${where} index`);
  const term = count(row.term, file, `${where} term`);
  switch (row.type) {
    case 'noop':
      return { index, term, type: 'noop' };
    case 'command':
      if (!(row.data instanceof Uint8Array)) throw corrupt(file, `${where} is a command without data`);
      return { index, term, type: 'command', data: plainBytes(row.data) };
    case 'conf':
      return { index, term, type: 'conf', change: decodeConfChange(row.conf, file, where) };
    default:
      throw corrupt(file, `${where} has unknown type ${JSON.stringify(row.type)}`);
  }
}

/** encodeMembership is the JSON form stored for the bootstrap members and in snapshots. */
export function encodeMembership(membership: Membership): string {
  return JSON.stringify({ voters: membership.voters, learners: membership.learners });
}

/** decodeMembership parses a stored membership, or throws `CorruptDataDir`. */
export function decodeMembership(text: unknown, file: string, what: string): Membership {
  const value = parseJson(text, file, what);
  if (typeof value !== 'object' || value === null) throw corrupt(file, `${what} is not a membership`);
  const { voters, learners } = value as Record<string, unknown>;
  return { voters: nodeIds(voters, file, `${what} voters`), learners: nodeIds(learners, file, `${what} learners`) };
}

/**
 * plainBytes copies bytes into a plain Uint8Array. better-sqlite3 returns Buffers, a subclass
 * that deep equality tells apart from Uint8Array and that may share a pooled allocation.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** storedNodeId checks a stored node id (votedFor, identity), or throws `CorruptDataDir`. */
export function storedNodeId(value: unknown, file: string, what: string): NodeId {
  if (typeof value !== 'string') throw corrupt(file, `${what} is not a node id`);
  try {
    return nodeId(value);
  } catch (error) {
    throw corrupt(file, `${what} is not a valid node id`, error);
  }
}

/** count checks a stored index or term: a non-negative safe integer. */
export function count(value: unknown, file: string, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw corrupt(file, `${what} is ${String(value)}`);
  return value;
}

/** corrupt builds the `CorruptDataDir` error with the standard advice. */
export function corrupt(file: string, detail: string, cause?: unknown): StorageError {
  return new StorageError(
    'CorruptDataDir',
    file,
    `${file} is damaged: ${detail}. It was not modified. Restore this node's data dir from a backup, ` +
      'or move it aside and re-add the node to the cluster as a new member.',
    cause === undefined ? undefined : { cause },
  );
}

const confTypes: ReadonlySet<string> = new Set<ConfChange['type']>(['addVoter', 'addLearner', 'promoteLearner', 'removeNode']);

function decodeConfChange(text: unknown, file: string, where: string): ConfChange {
  const value = parseJson(text, file, `${where} conf change`);
  if (typeof value !== 'object' || value === null) throw corrupt(file, `${where} conf change is not an object`);
  const { type, node } = value as Record<string, unknown>;
  if (typeof type !== 'string' || !confTypes.has(type)) throw corrupt(file, `${where} conf change has type ${JSON.stringify(type)}`);
  return { type: type as ConfChange['type'], node: storedNodeId(node, file, `${where} conf change node`) };
}

function nodeIds(value: unknown, file: string, what: string): NodeId[] {
  if (!Array.isArray(value)) throw corrupt(file, `${what} is not a list`);
  return value.map((id: unknown, i) => storedNodeId(id, file, `${what}[${i}]`));
}

function parseJson(text: unknown, file: string, what: string): unknown {
  if (typeof text !== 'string') throw corrupt(file, `${what} is missing`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw corrupt(file, `${what} is not valid JSON`, error);
  }
}
