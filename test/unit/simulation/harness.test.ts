// Unit tests for the simulator's harness pieces on their own: the virtual clock's ordering, the
// packet network's cuts, loss and duplication, the simulated disk's durability and truncation,
// the KV test machine, the trace hash, and the safety checker fed synthetic node states.

import { describe, expect, it } from 'vitest';
import { Prng } from '../../../core/util/prng.ts';
import { nodeId } from '../../../core/raft/types.ts';
import type { Entry, HardState, Message, NodeId, RaftStatus, Role, Snapshot } from '../../../core/raft/types.ts';
import { EventKind, SimClock } from '../../simulation/harness/simClock.ts';
import { SimNetwork, type NetworkFaults } from '../../simulation/harness/simNetwork.ts';
import { SimStorage, type DurableImage } from '../../simulation/harness/simStorage.ts';
import { KvMachine, encodeCommand, decodeCommand } from '../../simulation/harness/kvMachine.ts';
import { TraceHash } from '../../simulation/harness/trace.ts';
import { SafetyChecker, type NodeView } from '../../simulation/checkers/safety.ts';

const ids = [nodeId('n1'), nodeId('n2'), nodeId('n3')];
const calm: NetworkFaults = { baseDelayMs: 5, jitterMs: 0, dropRate: 0, duplicateRate: 0, spikeRate: 0, spikeMs: 0 };
const heartbeat = (from: NodeId, to: NodeId, term = 1): Message => ({ type: 'Heartbeat', from, to, term, commit: 0, context: null });
const noop = (index: number, term: number): Entry => ({ index, term, type: 'noop' });
const command = (index: number, term: number, text: string): Entry => ({ index, term, type: 'command', data: new TextEncoder().encode(text) });

function drain(clock: SimClock): void {
  while (clock.step()) {
    /* run everything */
  }
}

describe('SimClock', () => {
  it('runs events in time order, and equal times in scheduling order', () => {
    const clock = new SimClock();
    const seen: string[] = [];
    clock.schedule(10, EventKind.test, -1, () => seen.push('b@10'));
    clock.schedule(5, EventKind.test, -1, () => seen.push('a@5'));
    clock.schedule(10, EventKind.test, -1, () => seen.push('c@10'));
    clock.schedule(0, EventKind.test, -1, () => {
      seen.push('first@0');
      clock.schedule(10, EventKind.test, -1, () => seen.push('d@10 (scheduled last)'));
    });
    drain(clock);
    expect(seen).toEqual(['first@0', 'a@5', 'b@10', 'c@10', 'd@10 (scheduled last)']);
    expect(clock.now).toBe(10);
    expect(clock.executed).toBe(5);
  });

  it('never runs a cancelled event and counts only live ones as pending', () => {
    const clock = new SimClock();
    let ran = false;
    const event = clock.schedule(1, EventKind.test, -1, () => (ran = true));
    clock.schedule(2, EventKind.test, -1, () => {});
    expect(clock.pending).toBe(2);
    clock.cancel(event);
    clock.cancel(event);
    expect(clock.pending).toBe(1);
    drain(clock);
    expect(ran).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('stops at a horizon and can jump time forward over an empty stretch', () => {
    const clock = new SimClock();
    clock.schedule(100, EventKind.test, -1, () => {});
    expect(clock.step(50)).toBeUndefined();
    clock.advanceTo(50);
    expect(clock.now).toBe(50);
    expect(() => clock.advanceTo(150)).toThrow(/past a due event/);
    expect(clock.step(100)?.time).toBe(100);
  });

  it('keeps heap order over many random events', () => {
    const clock = new SimClock();
    const prng = new Prng(3);
    const times: number[] = [];
    for (let i = 0; i < 500; i++) clock.schedule(prng.int(50), EventKind.test, -1, () => times.push(clock.now));
    drain(clock);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.length).toBe(500);
  });
});

describe('SimNetwork', () => {
  function setup(faults: Partial<NetworkFaults> = {}, seed = 1) {
    const clock = new SimClock();
    const delivered: { to: number; message: Message; at: number }[] = [];
    const network = new SimNetwork(clock, new Prng(seed), ids, { ...calm, ...faults }, (to, message) => delivered.push({ to, message, at: clock.now }));
    return { clock, network, delivered };
  }

  it('delivers after the delay to the addressee', () => {
    const { clock, network, delivered } = setup();
    network.send(0, [heartbeat(ids[0]!, ids[1]!)]);
    drain(clock);
    expect(delivered).toEqual([{ to: 1, message: heartbeat(ids[0]!, ids[1]!), at: 5 }]);
    expect(network.stats).toMatchObject({ sent: 1, delivered: 1, dropped: 0 });
  });

  it('cuts links both ways in a partition, one way in an asymmetric cut, and heals', () => {
    const { clock, network, delivered } = setup();
    network.partition([[0], [1, 2]]);
    network.send(0, [heartbeat(ids[0]!, ids[1]!)]);
    network.send(1, [heartbeat(ids[1]!, ids[0]!), heartbeat(ids[1]!, ids[2]!)]);
    drain(clock);
    expect(delivered.map((d) => d.to)).toEqual([2]);
    network.heal();
    network.isolate(0, 'in');
    network.send(0, [heartbeat(ids[0]!, ids[1]!)]);
    network.send(1, [heartbeat(ids[1]!, ids[0]!)]);
    drain(clock);
    expect(delivered.map((d) => d.to)).toEqual([2, 1]);
    expect(network.cutCount()).toBe(2);
  });

  it('slows one direction of a link for messages sent after, and heal restores it', () => {
    const { clock, network, delivered } = setup();
    network.send(0, [heartbeat(ids[0]!, ids[1]!, 1)]);
    network.slow(0, 1, 900);
    network.send(0, [heartbeat(ids[0]!, ids[1]!, 2)]);
    network.send(1, [heartbeat(ids[1]!, ids[0]!, 3)]);
    network.heal();
    network.send(0, [heartbeat(ids[0]!, ids[1]!, 4)]);
    drain(clock);
    // Base delay 5 ms; the slowed message alone takes 900 ms more, and arrives: a clog, not a cut.
    expect(delivered.map((d) => [d.message.term, d.at])).toEqual([
      [1, 5],
      [3, 5],
      [4, 5],
      [2, 905],
    ]);
  });

  it('drops a message in flight when the link is cut before it arrives', () => {
    const { clock, network, delivered } = setup();
    network.send(0, [heartbeat(ids[0]!, ids[1]!)]);
    network.cut(0, 1);
    drain(clock);
    expect(delivered).toEqual([]);
    expect(network.stats.cutDropped).toBe(1);
  });

  it('loses and duplicates messages at about the configured rates, deterministically', () => {
    const run = () => {
      const { clock, network, delivered } = setup({ dropRate: 0.2, duplicateRate: 0.1, jitterMs: 10 }, 42);
      for (let i = 0; i < 2000; i++) network.send(0, [heartbeat(ids[0]!, ids[1]!, i)]);
      drain(clock);
      return { stats: { ...network.stats }, order: delivered.map((d) => d.message.term) };
    };
    const a = run();
    expect(a.stats.dropped).toBeGreaterThan(300);
    expect(a.stats.dropped).toBeLessThan(500);
    expect(a.stats.duplicated).toBeGreaterThan(100);
    expect(a.stats.delivered).toBe(2000 - a.stats.dropped + a.stats.duplicated);
    // Jitter reorders.
    expect(a.order).not.toEqual([...a.order].sort((x, y) => x - y));
    expect(run()).toEqual(a);
  });

  it('refuses a message that claims another sender', () => {
    const { network } = setup();
    expect(() => network.send(0, [heartbeat(ids[1]!, ids[2]!)])).toThrow(/sent a message as/);
  });
});

describe('SimStorage', () => {
  const bootstrap = { voters: ids, learners: [] };
  function setup() {
    const clock = new SimClock();
    const storage = new SimStorage(clock, new Prng(1), 0, bootstrap, { latencyMs: 2, jitterMs: 0 });
    return { clock, storage };
  }
  const hs = (term: number, commit = 0): HardState => ({ term, votedFor: null, commit });

  it('makes a save durable only after the disk latency, then calls done', () => {
    const { clock, storage } = setup();
    let done = false;
    storage.save({ hardState: hs(3), entries: [noop(1, 3)], snapshot: null }, () => (done = true));
    expect(done).toBe(false);
    expect(storage.durable.hardState.term).toBe(0);
    drain(clock);
    expect(done).toBe(true);
    expect(clock.now).toBe(2);
    expect(storage.load().hardState.term).toBe(3);
    expect(storage.load().entries).toEqual([noop(1, 3)]);
  });

  it('loses saves that are not yet durable on a crash and never calls their done', () => {
    const { clock, storage } = setup();
    const done: number[] = [];
    storage.save({ hardState: hs(1), entries: [noop(1, 1)], snapshot: null }, () => done.push(1));
    drain(clock);
    storage.save({ hardState: hs(2), entries: [noop(2, 2)], snapshot: null }, () => done.push(2));
    expect(storage.crash()).toBe(1);
    drain(clock);
    expect(done).toEqual([1]);
    const loaded = storage.load();
    expect(loaded.hardState.term).toBe(1);
    expect(loaded.entries).toEqual([noop(1, 1)]);
  });

  it('completes saves in order and an empty save inline when nothing is queued', () => {
    const { clock, storage } = setup();
    const done: string[] = [];
    storage.save({ hardState: null, entries: [], snapshot: null }, () => done.push('empty'));
    expect(done).toEqual(['empty']);
    storage.save({ hardState: hs(1), entries: [], snapshot: null }, () => done.push('a'));
    storage.save({ hardState: null, entries: [], snapshot: null }, () => done.push('empty behind a'));
    drain(clock);
    expect(done).toEqual(['empty', 'a', 'empty behind a']);
  });

  it('completes an unsynced commit-index save at once; a crash may lose it, a later sync keeps it', () => {
    const outcomes = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const clock = new SimClock();
      const storage = new SimStorage(clock, new Prng(seed), 0, bootstrap, { latencyMs: 2, jitterMs: 0 });
      storage.save({ hardState: hs(1, 0), entries: [noop(1, 1)], snapshot: null }, () => {});
      drain(clock);
      let done = false;
      storage.save({ hardState: hs(1, 1), entries: [], snapshot: null, sync: false }, () => (done = true));
      expect(done).toBe(true);
      expect(storage.durable.hardState.commit).toBe(0);
      storage.crash();
      outcomes.add(storage.load().hardState.commit);
    }
    expect([...outcomes].sort()).toEqual([0, 1]);
    const { clock, storage } = setup();
    storage.save({ hardState: hs(1, 0), entries: [noop(1, 1)], snapshot: null }, () => {});
    drain(clock);
    storage.save({ hardState: hs(1, 1), entries: [], snapshot: null, sync: false }, () => {});
    storage.save({ hardState: null, entries: [noop(2, 1)], snapshot: null }, () => {});
    drain(clock);
    storage.crash();
    expect(storage.load().hardState.commit).toBe(1);
  });

  it("replaces everything from a batch's first index on (truncation)", () => {
    const { clock, storage } = setup();
    storage.save({ hardState: hs(1), entries: [noop(1, 1), command(2, 1, 'a'), command(3, 1, 'b')], snapshot: null }, () => {});
    storage.save({ hardState: hs(2), entries: [command(2, 2, 'x')], snapshot: null }, () => {});
    drain(clock);
    expect(storage.load().entries.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    storage.save({ hardState: null, entries: [command(4, 2, 'gap')], snapshot: null }, () => {});
    expect(() => drain(clock)).toThrow(/gap/);
  });

  it('compacts with an application snapshot and installs a leader snapshot', () => {
    const { clock, storage } = setup();
    const snapshotAt = (index: number, term: number): Snapshot => ({ meta: { index, term, membership: bootstrap }, data: new Uint8Array() });
    storage.save({ hardState: hs(1, 3), entries: [noop(1, 1), noop(2, 1), noop(3, 1), noop(4, 1)], snapshot: null }, () => {});
    drain(clock);
    storage.saveSnapshot(snapshotAt(2, 1));
    let loaded = storage.load();
    expect(loaded.snapshot?.meta.index).toBe(2);
    expect(loaded.applied).toBe(2);
    expect(loaded.entries.map((e) => e.index)).toEqual([3, 4]);
    // A snapshot that disagrees with the log at its index replaces the whole log (Raft §7).
    storage.save({ hardState: hs(3, 10), entries: [], snapshot: snapshotAt(10, 3) }, () => {});
    drain(clock);
    loaded = storage.load();
    expect(loaded.snapshot?.meta.index).toBe(10);
    expect(loaded.entries).toEqual([]);
    expect(storage.lastIndex()).toBe(10);
  });
});

describe('KvMachine', () => {
  const entry = (index: number, cmd: Parameters<typeof encodeCommand>[0]) => ({ index, term: 1, type: 'command' as const, data: encodeCommand(cmd) });

  it('applies put and compare-and-set', () => {
    const kv = new KvMachine();
    expect(kv.apply(entry(1, { op: 'put', key: 'a', value: '1', clientId: 0, seq: 1 }))).toEqual({ ok: true, value: '1' });
    expect(kv.apply(entry(2, { op: 'cas', key: 'a', expected: '0', value: '2', clientId: 0, seq: 2 }))).toEqual({ ok: false, value: '1' });
    expect(kv.apply(entry(3, { op: 'cas', key: 'a', expected: '1', value: '2', clientId: 0, seq: 3 }))).toEqual({ ok: true, value: '2' });
    expect(kv.apply(entry(4, { op: 'cas', key: 'b', expected: null, value: 'x', clientId: 0, seq: 4 }))).toEqual({ ok: true, value: 'x' });
    expect(kv.get('a')).toBe('2');
    expect(decodeCommand(encodeCommand({ op: 'put', key: 'k', value: 'v', clientId: 1, seq: 2 }))).toEqual({ op: 'put', key: 'k', value: 'v', clientId: 1, seq: 2 });
  });

  it('round-trips through snapshot and restore', () => {
    const kv = new KvMachine();
    kv.apply(entry(1, { op: 'put', key: 'b', value: '2', clientId: 0, seq: 1 }));
    kv.apply(entry(2, { op: 'put', key: 'a', value: '1', clientId: 0, seq: 2 }));
    const copy = new KvMachine();
    copy.restore(kv.snapshot(), { index: 2, term: 1, membership: { voters: ids, learners: [] } });
    expect(copy.digest()).toBe(kv.digest());
    expect(copy.lastIndex).toBe(2);
    expect(() => copy.apply(entry(2, { op: 'put', key: 'a', value: 'again', clientId: 0, seq: 3 }))).toThrow(/backwards/);
  });
});

describe('TraceHash', () => {
  it('is stable for equal inputs and sensitive to any field', () => {
    const hash = (term: number, time: number): string => {
      const h = new TraceHash();
      h.event(time, 1, 0, { role: 'leader', term, commitIndex: 3, lastIndex: 4 } as RaftStatus);
      return h.value;
    };
    expect(hash(1, 10.5)).toBe(hash(1, 10.5));
    expect(hash(2, 10.5)).not.toBe(hash(1, 10.5));
    expect(hash(1, 10.501)).not.toBe(hash(1, 10.5));
  });
});

/** A hand-made node for the safety checker: a log, a role and a term, no Raft at all. */
class FakeNode implements NodeView {
  role: Role = 'follower';
  term = 1;
  votedFor: NodeId | null = null;
  commit = 0;
  snapshotIndex = 0;
  snapshotTerm = 0;
  constructor(
    readonly id: NodeId,
    public log: Entry[] = [],
  ) {}
  status(): RaftStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      votedFor: this.votedFor,
      leaderId: null,
      commitIndex: this.commit,
      appliedIndex: this.commit,
      lastIndex: this.lastIndex(),
      firstIndex: this.firstIndex(),
      membership: { voters: ids, learners: [] },
      progress: new Map(),
      transferee: null,
    };
  }
  firstIndex(): number {
    return this.snapshotIndex + 1;
  }
  lastIndex(): number {
    return this.snapshotIndex + this.log.length;
  }
  entryAt(index: number): Entry | undefined {
    return this.log[index - this.snapshotIndex - 1];
  }
  termAt(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    return this.entryAt(index)?.term;
  }
}

function checkerWith(nodes: FakeNode[], disks?: DurableImage[]) {
  const checker = new SafetyChecker({
    nodeCount: nodes.length,
    view: (i) => nodes[i] ?? null,
    durable: (i) => disks?.[i] ?? { hardState: { term: 99, votedFor: null, commit: 0 }, snapshot: null, entries: [] },
    name: (i) => nodes[i]!.id,
    now: () => 0,
  });
  const touch = (i: number) => checker.afterEvent(i, nodes[i]!.status());
  return { checker, touch };
}

describe('SafetyChecker on synthetic states', () => {
  it('accepts a healthy history', () => {
    const a = new FakeNode(ids[0]!, [noop(1, 1), command(2, 1, 'x')]);
    const b = new FakeNode(ids[1]!, [noop(1, 1), command(2, 1, 'x')]);
    const { checker, touch } = checkerWith([a, b]);
    a.role = 'leader';
    a.commit = 2;
    touch(0);
    b.commit = 2;
    touch(1);
    checker.onApplied(1, b.log[1]!);
    checker.fullCheck();
    expect(checker.violations).toEqual([]);
  });

  it('flags two leaders in one term, whether seen in state or on the wire', () => {
    const a = new FakeNode(ids[0]!);
    const b = new FakeNode(ids[1]!);
    const { checker, touch } = checkerWith([a, b]);
    a.role = 'leader';
    touch(0);
    checker.onSend(1, heartbeat(ids[1]!, ids[0]!, 1));
    expect(checker.violations.join()).toMatch(/two leaders in term 1: n1 and n2/);
  });

  it('flags a committed entry applied differently (state machine safety)', () => {
    const a = new FakeNode(ids[0]!, [command(1, 1, 'x')]);
    const { checker, touch } = checkerWith([a, new FakeNode(ids[1]!)]);
    a.commit = 1;
    touch(0);
    checker.onApplied(1, command(1, 2, 'y'));
    expect(checker.violations.join()).toMatch(/state machine safety: n2 applied \(1, term 2\)/);
  });

  it('flags logs that agree at an index but differ below it (log matching)', () => {
    const a = new FakeNode(ids[0]!, [noop(1, 1), noop(2, 2)]);
    const b = new FakeNode(ids[1]!, [noop(1, 3), noop(2, 2)]);
    const { checker } = checkerWith([a, b]);
    checker.fullCheck();
    expect(checker.violations.join()).toMatch(/log matching: n1 and n2 agree at \(2, term 2\) but differ at 1/);
  });

  it('flags a new leader that lacks an entry committed in an earlier term (leader completeness)', () => {
    const a = new FakeNode(ids[0]!, [noop(1, 1), command(2, 1, 'x')]);
    const b = new FakeNode(ids[1]!, [noop(1, 1)]);
    const { checker, touch } = checkerWith([a, b]);
    a.commit = 2;
    touch(0);
    b.term = 2;
    b.role = 'leader';
    touch(1);
    expect(checker.violations.join()).toMatch(/leader completeness: n2 became leader of term 2 with no entry at 2/);
  });

  it('does not blame a leader of an old term for entries committed later', () => {
    const a = new FakeNode(ids[0]!, [noop(1, 5)]);
    const b = new FakeNode(ids[1]!, []);
    const { checker, touch } = checkerWith([a, b]);
    a.term = 5;
    a.commit = 1;
    touch(0);
    b.term = 3;
    b.role = 'leader';
    touch(1);
    expect(checker.violations).toEqual([]);
  });

  it('flags a committed entry that disappears below the commit index', () => {
    const a = new FakeNode(ids[0]!, [noop(1, 1), noop(2, 1)]);
    const { checker, touch } = checkerWith([a]);
    a.commit = 2;
    touch(0);
    a.log = [noop(1, 1), noop(2, 4)];
    touch(0);
    expect(checker.violations.join()).toMatch(/committed entries lost: n1 holds term 4 at its commit index 2/);
  });

  it('flags a vote granted twice in a term, and a vote or an ack sent before it is durable', () => {
    const disk = (term: number, votedFor: NodeId | null, entries: Entry[] = []): DurableImage => ({ hardState: { term, votedFor, commit: 0 }, snapshot: null, entries });
    const disks = [disk(2, ids[1]!), disk(1, null), disk(5, null, [noop(1, 1)])];
    const { checker } = checkerWith([new FakeNode(ids[0]!), new FakeNode(ids[1]!), new FakeNode(ids[2]!)], disks);
    const grant = (from: NodeId, to: NodeId, term: number): Message => ({ type: 'RequestVoteResponse', from, to, term, granted: true });
    checker.onSend(0, grant(ids[0]!, ids[1]!, 2));
    expect(checker.violations).toEqual([]);
    checker.onSend(0, grant(ids[0]!, ids[2]!, 2));
    expect(checker.violations.join()).toMatch(/n1 granted votes in term 2 to both n2 and n3/);
    checker.onSend(1, grant(ids[1]!, ids[0]!, 2));
    expect(checker.violations.join()).toMatch(/durability: n2 sent RequestVoteResponse in term 2 while its durable term is 1/);
    checker.onSend(2, { type: 'AppendEntriesResponse', from: ids[2]!, to: ids[0]!, term: 5, success: true, matchIndex: 3, rejectHint: 0, rejectedIndex: 0 });
    expect(checker.violations.join()).toMatch(/durability: n3 acknowledged index 3 in term 5 but only 1 is durable/);
  });

  it('flags a node whose vote changes within a term', () => {
    const a = new FakeNode(ids[0]!);
    const { checker, touch } = checkerWith([a]);
    a.votedFor = ids[1]!;
    touch(0);
    a.votedFor = ids[2]!;
    touch(0);
    expect(checker.violations.join()).toMatch(/n1 changed its term-1 vote from n2 to n3/);
  });
});
