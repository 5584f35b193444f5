// Test helper, deterministic. A synchronous in-process network of RaftNodes in the spirit of
// etcd's raft_test.go `network`: every Ready is "persisted" into an in-memory record at once,
// messages are pumped until the cluster is quiescent, and links can be cut or filtered.

import { Prng } from '../../../core/util/prng.ts';
import { RaftNode } from '../../../core/raft/raftNode.ts';
import type { Entry, HardState, Membership, Message, NodeId, PersistedState, RaftConfig, Snapshot } from '../../../core/raft/types.ts';
import { nodeId } from '../../../core/raft/types.ts';

/** Disk is what one node has made durable. */
export interface Disk {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
  applied: Entry[];
}

/** ids returns branded node ids n1..nN. */
export function ids(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => nodeId(`n${i + 1}`));
}

/** TestNetwork wires RaftNodes together synchronously. */
export class TestNetwork {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly disks = new Map<NodeId, Disk>();
  /** Cut directed links: `${from}->${to}`. */
  readonly cut = new Set<string>();
  /** Drop messages for which this returns true. */
  dropIf: ((m: Message) => boolean) | null = null;
  /** Every message that was delivered, for assertions. */
  readonly delivered: Message[] = [];
  private queue: Message[] = [];
  private readonly configs = new Map<NodeId, RaftConfig>();
  private readonly bootstrap: Membership;
  private readonly prng: Prng;

  constructor(members: NodeId[] | Membership, overrides: Partial<RaftConfig> = {}, seed = 1) {
    this.bootstrap = Array.isArray(members) ? { voters: members, learners: [] } : members;
    this.prng = new Prng(seed);
    for (const id of [...this.bootstrap.voters, ...this.bootstrap.learners]) this.add(id, overrides);
  }

  /** add creates a node with an empty disk (or restarts it from its disk if it has one). */
  add(id: NodeId, overrides: Partial<RaftConfig> = {}, bootstrap: Membership = this.bootstrap): RaftNode {
    const config: RaftConfig = {
      id,
      electionTicks: 10,
      heartbeatTicks: 1,
      priority: 0,
      maxPriority: 0,
      preVote: false,
      checkQuorum: false,
      maxEntriesPerMessage: 64,
      maxInflightMessages: 8,
      ...this.configs.get(id),
      ...overrides,
    };
    this.configs.set(id, config);
    const disk = this.disks.get(id) ?? { hardState: { term: 0, votedFor: null, commit: 0 }, snapshot: null, entries: [], applied: [] };
    this.disks.set(id, disk);
    const persisted: PersistedState = { hardState: disk.hardState, snapshot: disk.snapshot, entries: disk.entries, bootstrap, applied: disk.snapshot?.meta.index ?? 0 };
    const node = new RaftNode(config, persisted, this.prng.fork(id));
    this.nodes.set(id, node);
    return node;
  }

  /** restart simulates a crash and restart: memory is lost, the disk stays. */
  restart(id: NodeId): RaftNode {
    const disk = this.disks.get(id);
    if (disk) disk.applied = disk.applied.filter((e) => e.index <= (disk.snapshot?.meta.index ?? 0));
    return this.add(id);
  }

  node(id: NodeId): RaftNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** flush processes every node's Ready (persist, queue messages, apply, advance). */
  flush(): void {
    for (const [id, node] of this.nodes) {
      for (let rd = node.ready(); rd; rd = node.ready()) {
        const disk = this.disks.get(id) as Disk;
        if (rd.snapshot) {
          disk.snapshot = rd.snapshot;
          disk.entries = [];
          disk.applied = disk.applied.filter((e) => e.index <= rd.snapshot!.meta.index);
        }
        if (rd.hardState) disk.hardState = rd.hardState;
        const first = rd.entries[0];
        if (first) {
          disk.entries = disk.entries.filter((e) => e.index < first.index).concat(rd.entries);
        }
        this.queue.push(...rd.messages);
        disk.applied.push(...rd.committed);
        node.advance(rd);
      }
    }
  }

  /** deliver pumps messages until none are left (bounded). */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.flush();
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (this.cut.has(`${m.from}->${m.to}`) || this.dropIf?.(m)) continue;
        const target = this.nodes.get(m.to);
        if (!target) continue;
        this.delivered.push(m);
        target.step(m);
      }
    }
    throw new Error('network did not stabilize');
  }

  /** tickAll ticks every node `n` times, stabilizing after each tick. */
  tickAll(n: number): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.tick();
      this.stabilize();
    }
  }

  /** isolate cuts every link to and from `id`. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
    this.dropIf = null;
  }

  /** leader returns the unique node that believes it leads in the highest term, if any. */
  leader(): RaftNode | undefined {
    let best: RaftNode | undefined;
    for (const node of this.nodes.values()) {
      const s = node.status();
      if (s.role === 'leader' && (!best || s.term > best.status().term)) best = node;
    }
    return best;
  }

  /** applied returns the commands a node has applied, decoded as strings. */
  appliedData(id: NodeId): string[] {
    const disk = this.disks.get(id) as Disk;
    return disk.applied.filter((e) => e.type === 'command').map((e) => new TextDecoder().decode((e as { data: Uint8Array }).data));
  }
}

/** bytes encodes a string command. */
export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
