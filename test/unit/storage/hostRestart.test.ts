// Effectful (temp dirs, SQLite). SqliteLogStorage driven by the real NodeHost, as in production:
// a single-voter node elects itself, commits and compacts, then restarts from the data dir
// several times and must come back with every acknowledged command applied exactly once.

import { afterAll, describe, expect, it } from 'vitest';
import { NodeHost } from '../../../core/node/nodeHost.ts';
import type { StateMachine } from '../../../core/node/ports.ts';
import type { RaftConfig } from '../../../core/raft/types.ts';
import { SqliteLogStorage } from '../../../core/storage/sqliteLogStorage.ts';
import { Prng } from '../../../core/util/prng.ts';
import { TempDirs, clusterId, nodeA } from './helpers.ts';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

const config: RaftConfig = { id: nodeA, electionTicks: 10, heartbeatTicks: 2, priority: 1, maxPriority: 1, preVote: true, checkQuorum: false, maxEntriesPerMessage: 64, maxInflightMessages: 4 };

/** ListMachine appends each command's text; its snapshot is the whole list. */
class ListMachine implements StateMachine<number> {
  items: string[] = [];
  apply(entry: { readonly data: Uint8Array }): number {
    this.items.push(new TextDecoder().decode(entry.data));
    return this.items.length;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = JSON.parse(new TextDecoder().decode(data)) as string[];
  }
}

describe('SqliteLogStorage under NodeHost', () => {
  it('restarts a compacting single-voter node with every acknowledged command applied once', () => {
    const dataDir = dirs.make();
    const acknowledged: string[] = [];
    for (let round = 0; round < 3; round++) {
      const storage = SqliteLogStorage.open({ dataDir, clusterId, nodeId: nodeA, bootstrap: { voters: [nodeA], learners: [] } });
      const machine = new ListMachine();
      const host = new NodeHost<number>({ config, storage, transport: { send: () => {} }, stateMachine: machine, random: new Prng(round + 1), snapshotEvery: 20 });
      try {
        expect(machine.items.length).toBeLessThanOrEqual(acknowledged.length);
        for (let i = 0; i < 50 && host.status().role !== 'leader'; i++) host.tick();
        expect(host.status().role).toBe('leader');
        expect(machine.items).toEqual(acknowledged);
        for (let i = 0; i < 30; i++) {
          const text = `r${round}-${i}`;
          host.propose(new TextEncoder().encode(text), (outcome) => {
            if (outcome.ok) acknowledged.push(text);
          });
        }
        for (let i = 0; i < 5; i++) host.tick();
        expect(acknowledged).toHaveLength(30 * (round + 1));
        expect(machine.items).toEqual(acknowledged);
        expect(storage.load().snapshot?.meta.index).toBeGreaterThan(0);
      } finally {
        host.stop();
        storage.close();
      }
    }
  });
});
