// Effectful test support (temp dirs, hashing). Shared builders for the storage tests: entries of
// every type, batches, snapshots, temp data dirs that are removed afterwards, and a fingerprint
// of a data dir's files to prove that a refused open changed nothing.

import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PersistBatch } from '../../../core/node/ports.ts';
import { nodeId } from '../../../core/raft/types.ts';
import type { ConfChange, Entry, HardState, Membership, NodeId, Snapshot } from '../../../core/raft/types.ts';

/** The repository root, for spawning child processes with tsx. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const nodeA: NodeId = nodeId('node-a');
export const nodeB: NodeId = nodeId('node-b');
export const nodeC: NodeId = nodeId('node-c');
export const bootstrap: Membership = { voters: [nodeA, nodeB, nodeC], learners: [] };
export const clusterId = 'test-cluster';

/** payload is the deterministic command data of entry `index`, so a reader can check every byte. */
export function payload(index: number, term = 1): Uint8Array {
  const bytes = new Uint8Array(16 + (index % 48));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (index * 31 + term * 7 + i * 13) & 0xff;
  return bytes;
}

export function noop(index: number, term: number): Entry {
  return { index, term, type: 'noop' };
}

export function command(index: number, term: number, data: Uint8Array = payload(index, term)): Entry {
  return { index, term, type: 'command', data };
}

export function conf(index: number, term: number, change: ConfChange = { type: 'addLearner', node: nodeC }): Entry {
  return { index, term, type: 'conf', change };
}

/** commands builds command entries lo..hi of one term. */
export function commands(lo: number, hi: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(command(i, term));
  return out;
}

export function hardState(term: number, commit: number, votedFor: NodeId | null = nodeA): HardState {
  return { term, votedFor, commit };
}

export function batch(parts: Partial<PersistBatch>): PersistBatch {
  return { hardState: parts.hardState ?? null, entries: parts.entries ?? [], snapshot: parts.snapshot ?? null };
}

export function snapshot(index: number, term: number, membership: Membership = bootstrap): Snapshot {
  return { meta: { index, term, membership }, data: new TextEncoder().encode(`state@${index}/${term}`) };
}

/** TempDirs hands out fresh directories under os.tmpdir() and removes them all at the end. */
export class TempDirs {
  private readonly made: string[] = [];

  make(): string {
    const dir = mkdtempSync(join(tmpdir(), 'warden-storage-'));
    this.made.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.made.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** fingerprint maps every file in a directory to the SHA-256 of its bytes. */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    out[name] = statSync(path).isDirectory() ? 'dir' : createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}
