// Effectful (temp dirs). One table of storage scripts run against both LogStorage adapters:
// MemoryLogStorage and SqliteLogStorage must end in the same PersistedState, and the SQLite one
// must return it again after a reopen. Failing steps must change nothing (one atomic batch).

import { afterAll, describe, expect, it } from 'vitest';
import type { LogStorage, PersistBatch } from '../../../core/node/ports.ts';
import type { Entry, HardState, PersistedState, Snapshot } from '../../../core/raft/types.ts';
import { AssertionError } from '../../../core/util/assert.ts';
import { MemoryLogStorage } from '../../../core/storage/memoryLogStorage.ts';
import { SqliteLogStorage } from '../../../core/storage/sqliteLogStorage.ts';
import { TempDirs, batch, bootstrap, clusterId, command, commands, conf, hardState, nodeA, nodeB, noop, snapshot } from './helpers.ts';

/** Backend is one adapter under test; `reopen` simulates a restart (a no-op in memory). */
interface Backend {
  readonly storage: LogStorage & { getLocal(key: string): string | undefined; setLocal(key: string, value: string): void; close(): void };
  reopen(): void;
}

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

const backends: readonly { readonly name: string; readonly create: () => Backend }[] = [
  {
    name: 'MemoryLogStorage',
    create: () => {
      const storage = new MemoryLogStorage({ bootstrap });
      return { storage, reopen: () => {} };
    },
  },
  {
    name: 'SqliteLogStorage',
    create: () => {
      const dataDir = dirs.make();
      const open = (): SqliteLogStorage => SqliteLogStorage.open({ dataDir, clusterId, nodeId: nodeA, bootstrap });
      const backend = {
        storage: open(),
        reopen(): void {
          backend.storage.close();
          backend.storage = open();
        },
      };
      return backend;
    },
  },
];

type Step = { readonly save: PersistBatch } | { readonly saveSnapshot: Snapshot } | { readonly reopen: true } | { readonly refused: PersistBatch | Snapshot };

interface Case {
  readonly name: string;
  readonly steps: readonly Step[];
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
}

const initial = hardState(0, 0, null);

const cases: readonly Case[] = [
  { name: 'a fresh storage loads the empty bootstrap state', steps: [], hardState: initial, snapshot: null, entries: [] },
  {
    name: 'hard state and entries of all three types round-trip',
    steps: [
      {
        save: batch({
          hardState: hardState(2, 3, nodeB),
          entries: [noop(1, 1), command(2, 1, new Uint8Array([0, 1, 127, 128, 255])), conf(3, 2, { type: 'addVoter', node: nodeB }), command(4, 2, new Uint8Array(0))],
        }),
      },
    ],
    hardState: hardState(2, 3, nodeB),
    snapshot: null,
    entries: [noop(1, 1), command(2, 1, new Uint8Array([0, 1, 127, 128, 255])), conf(3, 2, { type: 'addVoter', node: nodeB }), command(4, 2, new Uint8Array(0))],
  },
  {
    name: 'every kind of conf change round-trips',
    steps: [
      {
        save: batch({
          entries: [
            conf(1, 1, { type: 'addVoter', node: nodeB }),
            conf(2, 1, { type: 'addLearner', node: nodeB }),
            conf(3, 1, { type: 'promoteLearner', node: nodeB }),
            conf(4, 1, { type: 'removeNode', node: nodeB }),
          ],
        }),
      },
    ],
    hardState: initial,
    snapshot: null,
    entries: [
      conf(1, 1, { type: 'addVoter', node: nodeB }),
      conf(2, 1, { type: 'addLearner', node: nodeB }),
      conf(3, 1, { type: 'promoteLearner', node: nodeB }),
      conf(4, 1, { type: 'removeNode', node: nodeB }),
    ],
  },
  {
    name: 'a hard-state-only batch keeps the log',
    steps: [{ save: batch({ hardState: hardState(1, 0), entries: commands(1, 3, 1) }) }, { save: batch({ hardState: hardState(3, 2, null) }) }],
    hardState: hardState(3, 2, null),
    snapshot: null,
    entries: commands(1, 3, 1),
  },
  {
    name: 'a commit-only batch marked sync: false is kept like any other (and across a clean restart)',
    steps: [{ save: batch({ hardState: hardState(1, 0), entries: commands(1, 3, 1) }) }, { save: { ...batch({ hardState: hardState(1, 2) }), sync: false } }, { reopen: true }],
    hardState: hardState(1, 2),
    snapshot: null,
    entries: commands(1, 3, 1),
  },
  {
    name: 'a later batch truncates the log from its first index',
    steps: [{ save: batch({ entries: commands(1, 5, 1) }) }, { save: batch({ hardState: hardState(2, 2), entries: commands(3, 4, 2) }) }],
    hardState: hardState(2, 2),
    snapshot: null,
    entries: [...commands(1, 2, 1), ...commands(3, 4, 2)],
  },
  {
    name: 'a one-entry batch in the middle drops everything after it',
    steps: [{ save: batch({ entries: commands(1, 5, 1) }) }, { save: batch({ entries: [noop(2, 3)] }) }],
    hardState: initial,
    snapshot: null,
    entries: [command(1, 1), noop(2, 3)],
  },
  {
    name: 'a batch at index 1 replaces the whole log',
    steps: [{ save: batch({ entries: commands(1, 5, 1) }) }, { save: batch({ entries: commands(1, 2, 2) }) }],
    hardState: initial,
    snapshot: null,
    entries: commands(1, 2, 2),
  },
  {
    name: 'a batch right after the last entry appends',
    steps: [{ save: batch({ entries: commands(1, 3, 1) }) }, { reopen: true }, { save: batch({ hardState: hardState(1, 4), entries: commands(4, 5, 1) }) }],
    hardState: hardState(1, 4),
    snapshot: null,
    entries: commands(1, 5, 1),
  },
  {
    name: 'saveSnapshot compacts the entries it covers',
    steps: [{ save: batch({ hardState: hardState(1, 8), entries: commands(1, 10, 1) }) }, { saveSnapshot: snapshot(6, 1) }],
    hardState: hardState(1, 8),
    snapshot: snapshot(6, 1),
    entries: commands(7, 10, 1),
  },
  {
    name: 'an older or equal snapshot is ignored',
    steps: [
      { save: batch({ hardState: hardState(1, 8), entries: commands(1, 10, 1) }) },
      { saveSnapshot: snapshot(6, 1) },
      { saveSnapshot: snapshot(4, 1) },
      { saveSnapshot: { meta: snapshot(6, 1).meta, data: new Uint8Array([9]) } },
      { save: batch({ snapshot: snapshot(5, 1) }) },
    ],
    hardState: hardState(1, 8),
    snapshot: snapshot(6, 1),
    entries: commands(7, 10, 1),
  },
  {
    name: 'successive snapshots keep only the newest',
    steps: [{ save: batch({ hardState: hardState(1, 10), entries: commands(1, 10, 1) }) }, { saveSnapshot: snapshot(3, 1) }, { reopen: true }, { saveSnapshot: snapshot(9, 1) }],
    hardState: hardState(1, 10),
    snapshot: snapshot(9, 1),
    entries: commands(10, 10, 1),
  },
  {
    name: 'a snapshot can cover the whole log',
    steps: [{ save: batch({ hardState: hardState(1, 4), entries: commands(1, 4, 1) }) }, { saveSnapshot: snapshot(4, 1) }],
    hardState: hardState(1, 4),
    snapshot: snapshot(4, 1),
    entries: [],
  },
  {
    name: 'an installed snapshot keeps the suffix when the log holds its last entry (Raft §7)',
    steps: [{ save: batch({ entries: commands(1, 10, 1) }) }, { save: batch({ hardState: hardState(1, 7), snapshot: snapshot(7, 1) }) }],
    hardState: hardState(1, 7),
    snapshot: snapshot(7, 1),
    entries: commands(8, 10, 1),
  },
  {
    name: 'an installed snapshot discards a log that disagrees at its index (Raft §7)',
    steps: [{ save: batch({ entries: commands(1, 10, 1) }) }, { save: batch({ hardState: hardState(2, 7), snapshot: snapshot(7, 2) }) }],
    hardState: hardState(2, 7),
    snapshot: snapshot(7, 2),
    entries: [],
  },
  {
    name: 'an installed snapshot beyond the log replaces it',
    steps: [{ save: batch({ entries: commands(1, 3, 1) }) }, { save: batch({ hardState: hardState(3, 20), snapshot: snapshot(20, 3) }) }],
    hardState: hardState(3, 20),
    snapshot: snapshot(20, 3),
    entries: [],
  },
  {
    name: 'a snapshot and the entries after it in one batch',
    steps: [{ save: batch({ hardState: hardState(2, 10), snapshot: snapshot(10, 2), entries: commands(11, 12, 2) }) }],
    hardState: hardState(2, 10),
    snapshot: snapshot(10, 2),
    entries: commands(11, 12, 2),
  },
  {
    name: 'entries re-sent under the snapshot are skipped',
    steps: [
      { save: batch({ hardState: hardState(1, 6), entries: commands(1, 8, 1) }) },
      { saveSnapshot: snapshot(6, 1) },
      { save: batch({ entries: [...commands(4, 6, 1), ...commands(7, 9, 2)] }) },
      { save: batch({ entries: commands(2, 5, 1) }) },
    ],
    hardState: hardState(1, 6),
    snapshot: snapshot(6, 1),
    entries: commands(7, 9, 2),
  },
  {
    name: 'after compaction a batch can truncate back to the snapshot boundary',
    steps: [
      { save: batch({ hardState: hardState(1, 6), entries: commands(1, 10, 1) }) },
      { saveSnapshot: snapshot(6, 1) },
      { save: batch({ hardState: hardState(2, 6), entries: [noop(7, 2)] }) },
    ],
    hardState: hardState(2, 6),
    snapshot: snapshot(6, 1),
    entries: [noop(7, 2)],
  },
  {
    name: 'a batch with a gap is refused and changes nothing',
    steps: [{ save: batch({ hardState: hardState(1, 1), entries: commands(1, 3, 1) }) }, { refused: batch({ hardState: hardState(9, 1), entries: commands(5, 6, 1) }) }],
    hardState: hardState(1, 1),
    snapshot: null,
    entries: commands(1, 3, 1),
  },
  {
    name: 'a non-contiguous batch is refused and changes nothing',
    steps: [{ save: batch({ entries: commands(1, 3, 1) }) }, { refused: batch({ hardState: hardState(9, 0), entries: [command(2, 2), command(4, 2)] }) }],
    hardState: initial,
    snapshot: null,
    entries: commands(1, 3, 1),
  },
  {
    name: 'a commit beyond the last entry is refused and changes nothing',
    steps: [{ save: batch({ entries: commands(1, 3, 1) }) }, { refused: batch({ hardState: hardState(1, 5), entries: [command(3, 2)] }) }],
    hardState: initial,
    snapshot: null,
    entries: commands(1, 3, 1),
  },
  {
    name: 'a batch that rewrites the entry under the snapshot is refused',
    steps: [{ save: batch({ hardState: hardState(1, 4), entries: commands(1, 5, 1) }) }, { saveSnapshot: snapshot(4, 1) }, { refused: batch({ entries: commands(3, 6, 2) }) }],
    hardState: hardState(1, 4),
    snapshot: snapshot(4, 1),
    entries: commands(5, 5, 1),
  },
  {
    name: 'saveSnapshot beyond the durable log is refused',
    steps: [{ save: batch({ hardState: hardState(1, 3), entries: commands(1, 3, 1) }) }, { refused: snapshot(4, 1) }],
    hardState: hardState(1, 3),
    snapshot: null,
    entries: commands(1, 3, 1),
  },
  {
    name: 'saveSnapshot whose term differs from the log is refused',
    steps: [{ save: batch({ hardState: hardState(1, 3), entries: commands(1, 3, 1) }) }, { refused: snapshot(2, 2) }],
    hardState: hardState(1, 3),
    snapshot: null,
    entries: commands(1, 3, 1),
  },
  {
    // NB: the refused batch appended before its check failed; the next one is judged by the log as it is.
    name: 'after a refused batch that had appended, the next batch meets the durable log',
    steps: [
      { save: batch({ hardState: hardState(1, 1), entries: commands(1, 3, 1) }) },
      { refused: batch({ hardState: hardState(1, 9), entries: commands(4, 5, 1) }) },
      { refused: batch({ entries: [command(6, 1)] }) },
      { save: batch({ entries: [command(4, 1)] }) },
    ],
    hardState: hardState(1, 1),
    snapshot: null,
    entries: commands(1, 4, 1),
  },
  {
    name: 'after a refused batch that had installed a snapshot, the log and its start are as they were',
    steps: [
      { save: batch({ hardState: hardState(1, 1), entries: commands(1, 3, 1) }) },
      { refused: batch({ snapshot: snapshot(10, 2), hardState: hardState(2, 12), entries: [command(11, 2)] }) },
      { refused: batch({ entries: [command(11, 2)] }) },
      { saveSnapshot: snapshot(2, 1) },
      { save: batch({ entries: [command(4, 1)] }) },
    ],
    hardState: hardState(1, 1),
    snapshot: snapshot(2, 1),
    entries: commands(3, 4, 1),
  },
];

function run(backend: Backend, step: Step): void {
  if ('save' in step) {
    let calls = 0;
    backend.storage.save(step.save, () => calls++);
    expect(calls).toBe(1);
  } else if ('saveSnapshot' in step) {
    backend.storage.saveSnapshot(step.saveSnapshot);
  } else if ('reopen' in step) {
    backend.reopen();
  } else {
    const before = backend.storage.load();
    let calls = 0;
    const target = step.refused;
    const attempt = (): void => ('meta' in target ? backend.storage.saveSnapshot(target) : backend.storage.save(target, () => calls++));
    expect(attempt).toThrow(AssertionError);
    expect(calls).toBe(0);
    expect(backend.storage.load()).toEqual(before);
  }
}

function expected(c: Case): PersistedState {
  return { hardState: c.hardState, snapshot: c.snapshot, entries: c.entries, bootstrap, applied: c.snapshot?.meta.index ?? 0 };
}

describe.each(backends)('$name', ({ name, create }) => {
  it.each(cases)('$name', (c) => {
    const backend = create();
    try {
      for (const step of c.steps) run(backend, step);
      expect(backend.storage.load()).toEqual(expected(c));
      backend.reopen();
      expect(backend.storage.load()).toEqual(expected(c));
    } finally {
      backend.storage.close();
    }
  });

  it('calls done synchronously, once, with the batch already visible to load()', () => {
    const backend = create();
    const seen: number[] = [];
    backend.storage.save(batch({ hardState: hardState(1, 0), entries: commands(1, 2, 1) }), () => seen.push(backend.storage.load().entries.length));
    seen.push(-1);
    expect(seen).toEqual([2, -1]);
    backend.storage.close();
  });

  it('calls done for an empty batch', () => {
    const backend = create();
    let calls = 0;
    backend.storage.save(batch({}), () => calls++);
    expect(calls).toBe(1);
    expect(backend.storage.load()).toEqual(expected(cases[0] as Case));
    backend.storage.close();
  });

  it('hands back command and snapshot data as plain Uint8Arrays, isolated from the caller', () => {
    const backend = create();
    const data = new Uint8Array([1, 2, 3]);
    const snap = snapshot(1, 1);
    backend.storage.save(batch({ hardState: hardState(1, 1), entries: [command(1, 1, data), command(2, 1, new Uint8Array([4]))] }), () => {});
    backend.storage.saveSnapshot(snap);
    data[0] = 99;
    const state = backend.storage.load();
    const first = state.entries[0];
    expect(first?.type === 'command' && Object.getPrototypeOf(first.data)).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(state.snapshot?.data)).toBe(Uint8Array.prototype);
    expect(state.entries).toEqual([command(2, 1, new Uint8Array([4]))]);
    backend.storage.save(batch({ hardState: hardState(1, 2), entries: [command(2, 1, data)] }), () => {});
    expect(backend.storage.load().entries).toEqual([command(2, 1, new Uint8Array([99, 2, 3]))]);
    backend.storage.close();
  });

  it('keeps node-local values', () => {
    const backend = create();
    expect(backend.storage.getLocal('applied')).toBeUndefined();
    backend.storage.setLocal('applied', '12');
    backend.storage.setLocal('applied', '13');
    backend.storage.setLocal('other', '');
    expect(backend.storage.getLocal('applied')).toBe('13');
    expect(backend.storage.getLocal('other')).toBe('');
    if (name === 'SqliteLogStorage') {
      backend.reopen();
      expect(backend.storage.getLocal('applied')).toBe('13');
    }
    backend.storage.close();
  });
});

describe('both adapters', () => {
  it('end every script in identical states (differential check)', () => {
    for (const c of cases) {
      const pair = backends.map((b) => b.create());
      try {
        for (const step of c.steps) for (const backend of pair) run(backend, step);
        expect(pair[1]?.storage.load(), c.name).toEqual(pair[0]?.storage.load());
      } finally {
        for (const backend of pair) backend.storage.close();
      }
    }
  });
});
