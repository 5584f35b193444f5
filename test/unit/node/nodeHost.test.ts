// Effectful only in memory. NodeHost's Ready loop with saves that complete when the test says:
// followers answer only after their batch is durable, nothing is applied before it is durable
// here, and a leader applies what a quorum stored while it is still saving later entries.

import { describe, expect, it } from 'vitest';
import { NodeHost } from '../../../core/node/nodeHost.ts';
import type { ProposalOutcome, ReadOutcome } from '../../../core/node/nodeHost.ts';
import type { LogStorage, PersistBatch, StateMachine } from '../../../core/node/ports.ts';
import { nodeId } from '../../../core/raft/types.ts';
import type { Message, NodeId, PersistedState, RaftConfig, Snapshot } from '../../../core/raft/types.ts';
import { MemoryLogStorage } from '../../../core/storage/memoryLogStorage.ts';
import { Prng } from '../../../core/util/prng.ts';

const ids = [nodeId('n1'), nodeId('n2'), nodeId('n3')];
const bootstrap = { voters: ids, learners: [] };

/** ManualStorage holds each save until flush(): the test decides when a batch is durable. */
class ManualStorage implements LogStorage {
  readonly disk = new MemoryLogStorage({ bootstrap });
  readonly pending: { batch: PersistBatch; done: () => void }[] = [];
  load(): PersistedState {
    return this.disk.load();
  }
  save(batch: PersistBatch, done: () => void): void {
    this.pending.push({ batch, done });
  }
  saveSnapshot(snapshot: Snapshot): void {
    this.disk.saveSnapshot(snapshot);
  }
  /** flush makes the oldest pending save durable and completes it; false when none is pending. */
  flush(): boolean {
    const next = this.pending.shift();
    if (!next) return false;
    this.disk.save(next.batch, () => undefined);
    next.done();
    return true;
  }
}

class TextMachine implements StateMachine<string> {
  readonly applied: string[] = [];
  apply(entry: { readonly data: Uint8Array }): string {
    const text = new TextDecoder().decode(entry.data);
    this.applied.push(text);
    return text;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.applied));
  }
  restore(): void {}
}

interface Member {
  readonly id: NodeId;
  /** Drains deferred by the host (its `schedule` option), run by deliver() and settle(). */
  readonly scheduled: (() => void)[];
  readonly host: NodeHost<string>;
  readonly storage: ManualStorage;
  readonly machine: TextMachine;
  readonly outbox: Message[];
}

/** Hold is one call of `holdCommitOnly`: the test ends it by calling `release`. */
interface Hold {
  readonly release: () => void;
  cancelled: boolean;
}

/** cluster builds three hosts; with `holds`, they hold commit-only appends and each hold is pushed there. */
function cluster(backgroundSaveProposals?: number, holds?: Hold[]): Member[] {
  return ids.map((id, i) => {
    const storage = new ManualStorage();
    const machine = new TextMachine();
    const outbox: Message[] = [];
    const scheduled: (() => void)[] = [];
    const config: RaftConfig = { id, electionTicks: 10, heartbeatTicks: 1, priority: i === 0 ? 1 : 0, maxPriority: 1, preVote: true, checkQuorum: false, maxEntriesPerMessage: 64, maxInflightMessages: 64 };
    const host = new NodeHost<string>({ config, storage, transport: { send: (messages) => outbox.push(...messages) }, stateMachine: machine, random: new Prng(i + 1), snapshotEvery: 0, schedule: (run) => scheduled.push(run), ...(backgroundSaveProposals === undefined ? {} : { backgroundSaveProposals }), ...(holds ? { holdCommitOnly: (release: () => void) => hold(holds, release) } : {}) });
    return { id, host, storage, machine, outbox, scheduled };
  });
}

function hold(holds: Hold[], release: () => void): () => void {
  const h: Hold = { release, cancelled: false };
  holds.push(h);
  return () => {
    h.cancelled = true;
  };
}

/** endHolds ends every hold still pending, as its timer would. */
function endHolds(holds: Hold[]): void {
  for (const h of holds.splice(0)) if (!h.cancelled) h.release();
}

/** run performs the drains the hosts deferred; messages that arrived together share one Ready. */
function run(members: Member[]): void {
  for (const m of members) for (const drain of m.scheduled.splice(0)) drain();
}

/** deliver hands every queued message (of `from`, or of everyone) to its recipient, then drains. */
function deliver(members: Member[], from?: Member, only?: (m: Message) => boolean): void {
  for (const sender of from ? [from] : members) {
    const batch = sender.outbox.splice(0);
    for (const m of batch) {
      if (only && !only(m)) {
        sender.outbox.push(m);
        continue;
      }
      members.find((x) => x.id === m.to)?.host.receive(m);
    }
  }
  run(members);
}

/** settle flushes and delivers until nothing moves. */
function settle(members: Member[]): void {
  for (let round = 0; round < 100; round++) {
    run(members);
    let moved = false;
    for (const m of members) while (m.storage.flush()) moved = true;
    if (members.some((m) => m.outbox.length > 0)) moved = true;
    deliver(members);
    if (!moved) return;
  }
  throw new Error('cluster did not settle');
}

function electFirst(members: Member[]): Member {
  const leader = members[0] as Member;
  for (let i = 0; i < 40 && leader.host.status().role !== 'leader'; i++) {
    leader.host.tick();
    run(members);
    settle(members);
  }
  expect(leader.host.status().role).toBe('leader');
  settle(members);
  return leader;
}

function propose(member: Member, text: string): ProposalOutcome<string>[] {
  const outcomes: ProposalOutcome<string>[] = [];
  member.host.propose(new TextEncoder().encode(text), (outcome) => outcomes.push(outcome));
  for (const drain of member.scheduled.splice(0)) drain();
  return outcomes;
}

describe('NodeHost', () => {
  it('a follower answers an append only once its batch is durable', () => {
    const members = cluster();
    const leader = electFirst(members);
    const follower = members[1] as Member;
    propose(leader, 'a');
    deliver(members, leader);
    expect(follower.storage.pending).toHaveLength(1);
    expect(follower.outbox.filter((m) => m.type === 'AppendEntriesResponse')).toEqual([]);
    follower.storage.flush();
    expect(follower.outbox.filter((m) => m.type === 'AppendEntriesResponse')).toHaveLength(1);
  });

  describe('a leader holding commit-only appends back', () => {
    /** committedWithOneInFlight commits 'a' through the leader and n2 while n3 has not answered yet. */
    function committedWithOneInFlight(): { members: Member[]; leader: Member; holds: Hold[]; index: number } {
      const holds: Hold[] = [];
      const members = cluster(undefined, holds);
      const leader = electFirst(members);
      for (let i = 0; i < 5 && holds.length > 0; i++) {
        endHolds(holds);
        settle(members);
      }
      const [, n2, n3] = members as [Member, Member, Member];
      propose(leader, 'a');
      const index = leader.host.status().lastIndex;
      deliver(members, leader);
      leader.storage.flush();
      n2.storage.flush();
      deliver(members, n2);
      while (leader.storage.flush());
      expect(leader.host.status().commitIndex).toBe(index);
      expect(n3.storage.pending).toHaveLength(1);
      return { members, leader, holds, index };
    }
    const emptyAppends = (leader: Member): Message[] => leader.outbox.filter((m) => m.type === 'AppendEntries' && m.entries.length === 0);

    it('sends nothing at once, and nothing at all when the next AppendEntries carries the commit', () => {
      const { members, leader, holds, index } = committedWithOneInFlight();
      expect(emptyAppends(leader)).toEqual([]);
      expect(holds.filter((h) => !h.cancelled)).toHaveLength(1);
      propose(leader, 'b');
      for (const to of ['n2', 'n3']) {
        const next = leader.outbox.filter((m) => m.to === to && m.type === 'AppendEntries');
        expect(next, to).toHaveLength(1);
        expect(next[0], to).toMatchObject({ leaderCommit: index, prevLogIndex: index });
      }
      expect(holds.every((h) => h.cancelled)).toBe(true);
      expect(emptyAppends(leader)).toEqual([]);
      // 'b' commits in turn; its commit is held until the hold ends (no later proposal carries it).
      settle(members);
      expect((members[1] as Member).machine.applied).toEqual(['a']);
      endHolds(holds);
      settle(members);
      for (const m of members) expect(m.machine.applied, m.id).toEqual(['a', 'b']);
    });

    it('sends the held appends when the hold ends, so idle followers still learn the commit', () => {
      const { members, leader, holds, index } = committedWithOneInFlight();
      const [, n2, n3] = members as [Member, Member, Member];
      endHolds(holds);
      expect(emptyAppends(leader).map((m) => m.to).sort()).toEqual(['n2', 'n3']);
      expect(emptyAppends(leader)).toMatchObject([{ leaderCommit: index }, { leaderCommit: index }]);
      n3.storage.flush();
      deliver(members, leader);
      for (const m of [n2, n3]) while (m.storage.flush());
      run(members);
      for (const m of [n2, n3]) {
        expect(m.host.status().commitIndex, m.id).toBe(index);
        expect(m.machine.applied, m.id).toEqual(['a']);
      }
    });

    it('sends a held append before any other message to its follower, keeping their order', () => {
      const { leader, holds } = committedWithOneInFlight();
      leader.host.tick();
      run([leader]);
      expect(leader.outbox.filter((m) => m.to === 'n3').map((m) => m.type)).toEqual(['AppendEntries', 'Heartbeat']);
      endHolds(holds);
      expect(leader.outbox.filter((m) => m.to === 'n3')).toHaveLength(2);
    });

    it('drops what it held once it no longer leads', () => {
      const { leader, holds } = committedWithOneInFlight();
      const term = leader.host.status().term;
      leader.host.receive({ type: 'RequestVote', from: nodeId('n2'), to: leader.id, term: term + 1, lastLogIndex: 1000, lastLogTerm: term, transfer: false });
      run([leader]);
      expect(leader.host.status().role).toBe('follower');
      leader.outbox.length = 0;
      endHolds(holds);
      expect(leader.outbox).toEqual([]);
    });
  });

  it('sends one AppendEntries per follower for the proposals of one batch', () => {
    const members = cluster();
    const leader = electFirst(members);
    leader.storage.pending.length = 0;
    const follower = members[1] as Member;
    // Hold the leader's first save, so that the next proposals share one batch.
    propose(leader, 'a');
    leader.outbox.length = 0;
    for (const text of ['b', 'c', 'd']) propose(leader, text);
    expect(leader.storage.pending).toHaveLength(1);
    leader.storage.flush();
    const appends = leader.outbox.filter((m) => m.type === 'AppendEntries' && m.to === follower.id);
    expect(appends).toHaveLength(1);
    expect(appends[0]?.type === 'AppendEntries' && appends[0].entries.map((e) => e.index)).toHaveLength(3);
  });

  it('applies a committed entry while a later batch is still being saved', () => {
    const members = cluster();
    const leader = electFirst(members);
    const a = propose(leader, 'a');
    expect(leader.storage.flush()).toBe(true);
    const b = propose(leader, 'b');
    expect(leader.storage.pending).toHaveLength(1);
    // The followers store `a` (and `b`); their answers reach the leader while `b` is unsaved.
    deliver(members, leader);
    for (const f of members.slice(1)) f.storage.flush();
    deliver(members, members[1]);
    expect(a).toEqual([expect.objectContaining({ ok: true, result: 'a' })]);
    expect(leader.machine.applied).toEqual(['a']);
    expect(b).toEqual([]);
    leader.storage.flush();
    settle(members);
    expect(b).toEqual([expect.objectContaining({ ok: true, result: 'b' })]);
    expect(leader.machine.applied).toEqual(['a', 'b']);
  });

  it('never applies an entry before it is durable here, even when it arrives already committed', () => {
    const members = cluster();
    const leader = electFirst(members);
    const lagging = members[2] as Member;
    propose(leader, 'a');
    // Only n2 hears about `a` at first; the leader commits it with n2.
    for (let i = 0; i < 5; i++) {
      for (const m of members.slice(0, 2)) while (m.storage.flush());
      deliver(members, undefined, (m) => m.to !== lagging.id && m.from !== lagging.id);
    }
    expect(leader.machine.applied).toEqual(['a']);
    // Now the lagging follower receives `a` and a commit index covering it, in one Ready.
    deliver(members, leader);
    expect(lagging.host.status().commitIndex).toBeGreaterThanOrEqual(leader.host.applied);
    expect(lagging.storage.pending).toHaveLength(1);
    expect(lagging.storage.pending[0]?.batch.entries.length).toBeGreaterThan(0);
    expect(lagging.machine.applied).toEqual([]);
    while (lagging.storage.flush());
    expect(lagging.machine.applied).toEqual(['a']);
  });

  it('asks storage to flush off the event loop only for a leader with many proposals in flight', () => {
    const members = cluster(3);
    const leader = electFirst(members);
    const follower = members[1] as Member;
    propose(leader, 'a');
    expect(leader.storage.pending.at(-1)?.batch.background).toBe(false);
    settle(members);
    // Hold the leader's save, so that proposals pile up in flight.
    propose(leader, 'b');
    for (const text of ['c', 'd', 'e']) propose(leader, text);
    leader.storage.flush();
    expect(leader.storage.pending.at(-1)?.batch.background).toBe(true);
    deliver(members, leader);
    expect(follower.storage.pending.at(-1)?.batch.background).toBe(false);
  });

  it('reads of one turn share one ReadIndex request: one heartbeat per follower for all of them', () => {
    const members = cluster();
    const leader = electFirst(members);
    propose(leader, 'a');
    settle(members);
    const outcomes: ReadOutcome[] = [];
    for (let i = 0; i < 3; i++) leader.host.read((outcome) => outcomes.push(outcome));
    run(members);
    expect(leader.outbox.filter((m) => m.type === 'Heartbeat')).toHaveLength(2);
    settle(members);
    expect(outcomes).toHaveLength(3);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(new Set(outcomes.map((o) => (o.ok ? o.index : -1))).size).toBe(1);
  });

  it('a read made after an entry committed does not share an earlier read point', () => {
    const members = cluster();
    const leader = electFirst(members);
    // 'x' is stored by the followers; their answers (which commit it) are held back.
    const written = propose(leader, 'x');
    leader.storage.flush();
    deliver(members, leader);
    for (const m of members.slice(1)) m.storage.flush();
    const before: ReadOutcome[] = [];
    leader.host.read((outcome) => before.push(outcome));
    // The answers arrive in the same turn (no drain yet): 'x' commits.
    for (const m of members.slice(1)) for (const message of m.outbox.splice(0)) leader.host.receive(message);
    const after: ReadOutcome[] = [];
    leader.host.read((outcome) => after.push(outcome));
    settle(members);
    expect(written).toEqual([expect.objectContaining({ ok: true })]);
    const xIndex = (written[0] as Extract<ProposalOutcome<string>, { ok: true }>).index;
    expect(before).toEqual([expect.objectContaining({ ok: true })]);
    expect(after).toEqual([expect.objectContaining({ ok: true })]);
    // The later read must see 'x' (its write may have been acknowledged before this read began).
    expect((after[0] as Extract<ReadOutcome, { ok: true }>).index).toBeGreaterThanOrEqual(xIndex);
    expect((before[0] as Extract<ReadOutcome, { ok: true }>).index).toBeLessThan(xIndex);
  });
});
