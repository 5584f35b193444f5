// Pure declarations. The ports through which a node reaches the outside world: durable storage,
// the network, the application's state machine and the clock. The same NodeHost runs with
// SQLite and WebSockets in production and with simulated versions in the seeded simulator.

import type { Entry, HardState, Message, PersistedState, Snapshot, SnapshotMeta } from '../raft/types.ts';

/** PersistBatch is the durable part of one Ready. */
export interface PersistBatch {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  /**
   * Whether the batch must be synced to disk before `done`. False when only the commit index
   * moved (like etcd's MustSync): the commit index can be re-learned, so it may reach the disk
   * with the next synced batch. Missing means true.
   */
  readonly sync?: boolean;
  /**
   * Whether the caller keeps serving while the batch is flushed: a leader, whose clients and
   * followers wait on its event loop. A storage that can flush off the loop then calls `done`
   * later. Otherwise (a follower or candidate, whose next step waits for this batch anyway) it
   * may block until the batch is durable, which answers sooner. Missing means false.
   */
  readonly background?: boolean;
}

/**
 * LogStorage keeps Raft's durable state. `save` must make the whole batch durable atomically and
 * only then call `done` (synchronously or later); the host sends no message of that Ready before.
 */
export interface LogStorage {
  /** load returns what a restarting node resumes from. */
  load(): PersistedState;
  /** save truncates the log from the batch's first entry index, appends, and records hard state and snapshot. */
  save(batch: PersistBatch, done: () => void): void;
  /** saveSnapshot durably records a snapshot the application made and forgets entries up to its index. */
  saveSnapshot(snapshot: Snapshot): void;
}

/** Transport delivers messages to peers, best effort: Raft tolerates loss, delay and duplication. */
export interface Transport {
  send(messages: readonly Message[]): void;
}

/** StateMachine is the application replicated by Raft. `apply` must be deterministic. */
export interface StateMachine<Result = unknown> {
  /** apply executes a committed command; its result goes back to the proposer on this node. */
  apply(entry: Extract<Entry, { type: 'command' }>): Result;
  /** observe sees every other committed entry (noop and membership), for bookkeeping. */
  observe?(entry: Entry): void;
  /** snapshot serializes the state as of the last applied entry. */
  snapshot(): Uint8Array;
  /** restore replaces the state with a snapshot's. */
  restore(data: Uint8Array, meta: SnapshotMeta): void;
}

/** Clock gives wall-clock milliseconds; the lock state machine sees time only through entries stamped by the leader. */
export interface Clock {
  now(): number;
}
