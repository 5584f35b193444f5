// Effectful (child processes, SIGKILL, temp dirs). Durability under kill -9: a child process
// saves single-entry batches and prints each index once done() has fired; it is killed mid-
// stream, and on reopen every printed index must be there, in a contiguous, undamaged log. Both
// synchronous saves and background sync (fdatasync of the WAL on the thread pool) run this way.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Entry } from '../../../core/raft/types.ts';
import { SqliteLogStorage } from '../../../core/storage/sqliteLogStorage.ts';
import { TempDirs, bootstrap, clusterId, nodeA, payload, repoRoot } from './helpers.ts';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

const child = join(repoRoot, 'test/unit/storage/fixtures/storageChild.ts');
/** Kill the child once it has acknowledged this many saves. */
const killAfter = 300;
/** The child stops on its own after this many saves or milliseconds, whichever comes first. */
const maxSaves = 200_000;
const maxMs = 20_000;

interface Round {
  readonly printed: number[];
  readonly signal: NodeJS.Signals | null;
}

function runUntilKilled(dataDir: string, mode: 'loop' | 'background-loop'): Promise<Round> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, mode, dataDir, String(maxSaves), String(maxMs)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const printed: number[] = [];
    let pending = '';
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) printed.push(Number(line));
      // NB: SIGKILL while the child is still saving, so some save is usually caught mid-commit.
      if (printed.length >= killAfter) proc.kill('SIGKILL');
    });
    proc.on('error', reject);
    proc.on('exit', (_code, signal) => {
      if (signal === null && stderr !== '') reject(new Error(`child failed: ${stderr}`));
      else resolve({ printed, signal });
    });
  });
}

describe.each([
  ['synchronous', 'loop'],
  ['background sync', 'background-loop'],
] as const)('SqliteLogStorage durability, %s', (_name, mode) => {
  it('keeps every acknowledged save across kill -9, with a contiguous log', async () => {
    const dataDir = dirs.make();
    let acknowledged = 0;
    for (let round = 0; round < 3; round++) {
      const { printed, signal } = await runUntilKilled(dataDir, mode);
      expect(signal).toBe('SIGKILL');
      expect(printed.length).toBeGreaterThanOrEqual(killAfter);
      // The child resumes after the last durable entry, which may be beyond the last printed one.
      expect(printed[0]).toBeGreaterThan(acknowledged);
      printed.forEach((index, i) => expect(index).toBe((printed[0] as number) + i));
      acknowledged = printed[printed.length - 1] as number;

      const storage = SqliteLogStorage.open({ dataDir, clusterId, nodeId: nodeA, bootstrap });
      const state = storage.load();
      storage.close();
      const snapshotIndex = state.snapshot?.meta.index ?? 0;
      const last = snapshotIndex + state.entries.length;
      expect(last).toBeGreaterThanOrEqual(acknowledged);
      state.entries.forEach((entry, i) => expect(entry).toEqual<Entry>({ index: snapshotIndex + i + 1, term: 1, type: 'command', data: payload(snapshotIndex + i + 1) }));
      expect(state.hardState.commit).toBeGreaterThanOrEqual(acknowledged - 1);
      expect(state.hardState.commit).toBeLessThanOrEqual(last);
      if (state.snapshot) expect(state.snapshot.data).toEqual(payload(snapshotIndex));
    }
  }, 90_000);
});
