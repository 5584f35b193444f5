// Test helper, deterministic. A synchronous in-process network of RaftNodes in the spirit of
// etcd's raft_test.go `network`: every Ready is "persisted" into an in-memory record at once,
// messages are pumped until the cluster is quiescent, and links can be cut or filtered. Also
// builds standalone nodes and hand-made messages for message-level tests.

import { Prng } from '../../../core/util/prng.ts';
import { RaftNode } from '../../../core/raft/raftNode.ts';
import type { Entry, HardState, Membership, Message, NodeId, PersistedState, RaftConfig, Ready, ReadState, Snapshot, Term } from '../../../core/raft/types.ts';
import { nodeId } from '../../../core/raft/types.ts';

/** Disk is what one node has made durable. */
export interface Disk {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
  applied: Entry[];
}

/** testConfig is the configuration every test node starts from (election 10 ticks, heartbeat 1). */
export function testConfig(id: NodeId, overrides: Partial<RaftConfig> = {}): RaftConfig {
  return {
    id,
    electionTicks: 10,
    heartbeatTicks: 1,
    priority: 0,
    maxPriority: 0,
    preVote: false,
    checkQuorum: false,
    maxEntriesPerMessage: 64,
    maxInflightMessages: 8,
    ...overrides,
  };
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
  /** Every ReadState each node's Readies returned, in order. */
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Called for every Ready after it was persisted to `disk` and before advance(), for contract checks. */
  onReady: ((id: NodeId, ready: Ready, disk: Disk) => void) | null = null;
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
    const config: RaftConfig = testConfig(id, { ...this.configs.get(id), ...overrides });
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
        this.onReady?.(id, rd, disk);
        this.queue.push(...rd.messages);
        disk.applied.push(...rd.committed);
        if (rd.readStates.length > 0) this.readStates.set(id, [...(this.readStates.get(id) ?? []), ...rd.readStates]);
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

  /** tick ticks one node `n` times, stabilizing after each tick. */
  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.node(id).tick();
      this.stabilize();
    }
  }

  /**
   * load replaces a node's disk with the given durable state and restarts it from there, so a
   * test can start from a hand-built log (for example the logs of Figure 7 or Figure 8).
   */
  load(id: NodeId, hardState: HardState, entries: Entry[], snapshot: Snapshot | null = null): RaftNode {
    this.disks.set(id, { hardState, snapshot, entries, applied: [] });
    return this.restart(id);
  }

  /** compact snapshots a node at its applied index and persists the compaction to its disk. */
  compact(id: NodeId, data: Uint8Array = bytes('snapshot')): Snapshot {
    const node = this.node(id);
    const snapshot = node.compact(node.status().appliedIndex, data);
    const disk = this.disks.get(id) as Disk;
    disk.snapshot = snapshot;
    disk.entries = disk.entries.filter((e) => e.index > snapshot.meta.index);
    return snapshot;
  }

  /** logTerms lists the term of every entry a node holds in memory, from firstIndex to lastIndex. */
  logTerms(id: NodeId): Term[] {
    const node = this.node(id);
    const terms: Term[] = [];
    for (let i = node.firstIndex(); i <= node.lastIndex(); i++) terms.push(node.termAt(i) as Term);
    return terms;
  }

  /** reconnect restores every link to and from `id`, leaving other cut links as they are. */
  reconnect(id: NodeId): void {
    for (const link of [...this.cut]) {
      const [from, to] = link.split('->');
      if (from === id || to === id) this.cut.delete(link);
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

/** commandEntries builds command entries from `startIndex` on, one per term in `terms`. */
export function commandEntries(startIndex: number, terms: readonly Term[]): Entry[] {
  return terms.map((term, i) => ({ term, index: startIndex + i, type: 'command', data: bytes(`t${term}i${startIndex + i}`) }));
}

/** NodeState is a standalone node's durable starting point; everything is optional. */
export interface NodeState {
  readonly hardState?: HardState;
  readonly entries?: Entry[];
  readonly snapshot?: Snapshot | null;
  readonly learners?: NodeId[];
}

/**
 * newNode builds one RaftNode outside any network, for tests that hand it messages and inspect
 * what comes out. `voters` is the bootstrap configuration.
 */
export function newNode(id: NodeId, voters: NodeId[], state: NodeState = {}, overrides: Partial<RaftConfig> = {}, seed = 1): RaftNode {
  const persisted: PersistedState = {
    hardState: state.hardState ?? { term: 0, votedFor: null, commit: 0 },
    snapshot: state.snapshot ?? null,
    entries: state.entries ?? [],
    bootstrap: { voters, learners: state.learners ?? [] },
    applied: state.snapshot?.meta.index ?? 0,
  };
  return new RaftNode(testConfig(id, overrides), persisted, new Prng(seed).fork(id));
}

/** Drained is everything a standalone node produced across the Readies drain() processed. */
export interface Drained {
  readonly readies: Ready[];
  readonly messages: Message[];
  readonly entries: Entry[];
  readonly committed: Entry[];
  readonly readStates: ReadState[];
  /** The last hard state any Ready asked to persist, or null. */
  readonly hardState: HardState | null;
}

/** drain takes every Ready a standalone node has (advancing each) and returns what they held. */
export function drain(node: RaftNode): Drained {
  const readies: Ready[] = [];
  for (let rd = node.ready(); rd; rd = node.ready()) {
    readies.push(rd);
    node.advance(rd);
  }
  return {
    readies,
    messages: readies.flatMap((rd) => rd.messages),
    entries: readies.flatMap((rd) => rd.entries),
    committed: readies.flatMap((rd) => rd.committed),
    readStates: readies.flatMap((rd) => rd.readStates),
    hardState: readies.reduce<HardState | null>((hs, rd) => rd.hardState ?? hs, null),
  };
}

/** voteRequest builds the RequestVote a candidate sends (Raft §5.2). */
export function voteRequest(from: NodeId, to: NodeId, term: Term, lastLogIndex: number, lastLogTerm: Term, transfer = false): Message {
  return { type: 'RequestVote', from, to, term, lastLogIndex, lastLogTerm, transfer };
}

/** appendEntries builds an AppendEntries a leader sends (Raft §5.3). */
export function appendEntries(from: NodeId, to: NodeId, term: Term, prevLogIndex: number, prevLogTerm: Term, entries: Entry[], leaderCommit = 0): Message {
  return { type: 'AppendEntries', from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit };
}

/** heartbeat builds the empty heartbeat a leader sends every heartbeatTicks. */
export function heartbeat(from: NodeId, to: NodeId, term: Term, commit = 0, context: string | null = null): Message {
  return { type: 'Heartbeat', from, to, term, commit, context };
}

/**
 * makeLeader turns a standalone voter into the leader by answering its (pre-)vote requests with
 * grants from every other voter, then drains its Readies. Returns what the last drain produced.
 */
export function makeLeader(node: RaftNode): Drained {
  node.campaign();
  for (let round = 0; round < 3 && node.status().role !== 'leader'; round++) {
    const { role, term, membership } = node.status();
    drain(node);
    for (const from of membership.voters) {
      if (from === node.id) continue;
      if (role === 'preCandidate') node.step({ type: 'PreVoteResponse', from, to: node.id, term: term + 1, granted: true });
      else node.step({ type: 'RequestVoteResponse', from, to: node.id, term, granted: true });
    }
  }
  if (node.status().role !== 'leader') throw new Error(`${node.id} did not become leader`);
  return drain(node);
}
