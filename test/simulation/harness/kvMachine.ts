// Pure. KvMachine is the simulator's replicated test application: a map of string registers with
// put and compare-and-set, JSON-encoded commands, and snapshot/restore. It is deliberately tiny
// so that any divergence the checkers see comes from Raft or the host, not from the application.

import { assert } from '../../../core/util/assert.ts';
import type { StateMachine } from '../../../core/node/ports.ts';
import type { Entry, LogIndex, SnapshotMeta } from '../../../core/raft/types.ts';

/** KvCommand is what clients propose. `clientId` and `seq` only make entries unique and traceable. */
export type KvCommand =
  | { readonly op: 'put'; readonly key: string; readonly value: string; readonly clientId: number; readonly seq: number }
  | {
      readonly op: 'cas';
      readonly key: string;
      readonly expected: string | null;
      readonly value: string;
      readonly clientId: number;
      readonly seq: number;
    };

/** KvResult is what applying a command answers: put always succeeds, cas says whether it swapped. */
export interface KvResult {
  readonly ok: boolean;
  /** The value after the command. */
  readonly value: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** encodeCommand serializes a command into an entry payload. */
export function encodeCommand(command: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/** decodeCommand parses an entry payload; a payload that is not a KvCommand is a harness bug. */
export function decodeCommand(data: Uint8Array): KvCommand {
  const parsed = JSON.parse(decoder.decode(data)) as KvCommand;
  assert(parsed.op === 'put' || parsed.op === 'cas', `not a kv command: ${decoder.decode(data)}`);
  return parsed;
}

/**
 * KvMachine applies committed commands to an in-memory map. It also counts what it applied so
 * that the liveness phase can compare replicas that reached the same index.
 */
export class KvMachine implements StateMachine<KvResult> {
  private values = new Map<string, string>();
  /** lastIndex is the index of the last entry applied or restored. */
  lastIndex: LogIndex = 0;

  /** get reads a key locally; linearizable only after a successful ReadIndex on this node. */
  get(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  apply(entry: Extract<Entry, { type: 'command' }>): KvResult {
    assert(entry.index > this.lastIndex, `kv apply went backwards: ${entry.index} after ${this.lastIndex}`);
    this.lastIndex = entry.index;
    const command = decodeCommand(entry.data);
    const current = this.values.get(command.key) ?? null;
    if (command.op === 'cas' && current !== command.expected) return { ok: false, value: current };
    this.values.set(command.key, command.value);
    return { ok: true, value: command.value };
  }

  observe(entry: Entry): void {
    assert(entry.index > this.lastIndex, `kv observe went backwards: ${entry.index} after ${this.lastIndex}`);
    this.lastIndex = entry.index;
  }

  snapshot(): Uint8Array {
    return encoder.encode(this.digest());
  }

  restore(data: Uint8Array, meta: SnapshotMeta): void {
    const pairs = JSON.parse(decoder.decode(data)) as [string, string][];
    assert(Array.isArray(pairs), 'kv snapshot is not a list of pairs');
    this.values = new Map(pairs);
    this.lastIndex = meta.index;
  }

  /** digest is a canonical serialization of the state (sorted by key), for snapshots and comparisons. */
  digest(): string {
    return JSON.stringify([...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
