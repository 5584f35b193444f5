// Pure. Warden's replicated state machine: the configuration namespace and the lock table.
// Applied deterministically from committed entries; time enters only as the leader's stamp on
// each entry, folded as max(previous, stamp), so time rules agree on every replica.

import type { SnapshotMeta } from '../raft/types.ts';
import { decodeCommand } from './commands.ts';
import type { Command } from './commands.ts';
import type { KvEvent, KvSnapshot, KvWriteResult } from './kvStore.ts';
import { KvStore, validateKey } from './kvStore.ts';
import type { LockReply, Notice, TableSnapshot } from './lockTable.ts';
import { LockTable } from './lockTable.ts';

/** Reply is what the proposer of one command gets back. */
export type Reply =
  | KvWriteResult
  | LockReply
  | { readonly ok: false; readonly code: 'InvalidCommand' | 'InvalidArgument' | 'TooLarge'; readonly message: string };

/** ApplyResult is what applying one entry produced: the reply, watch events and client notices. */
export interface ApplyResult {
  readonly reply: Reply;
  readonly events: readonly KvEvent[];
  readonly notices: readonly Notice[];
}

interface MachineSnapshot {
  readonly version: 2;
  readonly now: number;
  readonly kv: KvSnapshot;
  readonly table: TableSnapshot;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** utf8Length counts the bytes a string takes in UTF-8, without allocating. */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

const NO_EVENTS: readonly KvEvent[] = [];
const NO_NOTICES: readonly Notice[] = [];

/** LockMachine applies commands. It is the `StateMachine` a node replicates. */
export class LockMachine {
  readonly kv = new KvStore();
  readonly table = new LockTable();
  /** Planted bugs for the simulator (never set in production). */
  bugs: ReadonlySet<string> | undefined;
  /** Replicated time: the largest leader stamp applied so far. */
  private nowMs = 0;

  /** now is the replicated clock (ms since the epoch, from the leaders' stamps). */
  get now(): number {
    return this.nowMs;
  }

  /** applyCommand applies one command payload committed at `index`. */
  applyCommand(data: Uint8Array, index: number): ApplyResult {
    const command = decodeCommand(data);
    if (command.op === 'invalid') return { reply: { ok: false, code: 'InvalidCommand', message: command.error }, events: NO_EVENTS, notices: NO_NOTICES };
    this.nowMs = Math.max(this.nowMs, command.stamp);
    return this.apply(command, index);
  }

  private apply(command: Command, index: number): ApplyResult {
    const ctx = { index, now: this.nowMs, ...(this.bugs ? { bugs: this.bugs } : {}) };
    switch (command.op) {
      case 'kv.put': {
        const keyError = validateKey(command.key);
        if (keyError) return { reply: { ok: false, code: 'InvalidArgument', message: keyError }, events: NO_EVENTS, notices: NO_NOTICES };
        const limit = this.table.settings.maxValueBytes;
        if (utf8Length(command.value) > limit) return { reply: { ok: false, code: 'TooLarge', message: `value is larger than ${limit} bytes` }, events: NO_EVENTS, notices: NO_NOTICES };
        if (command.session !== null && !this.table.sessions.has(command.session)) {
          return { reply: { ok: false, code: 'SessionNotFound', message: `no session ${command.session}` }, events: NO_EVENTS, notices: NO_NOTICES };
        }
        const reply = this.kv.put(command.key, command.value, command.expectRevision, command.session);
        return { reply, events: reply.ok ? [{ type: 'put', key: command.key, value: command.value, revision: reply.revision, prevValue: reply.prev?.value ?? null }] : NO_EVENTS, notices: NO_NOTICES };
      }
      case 'kv.delete': {
        const keyError = validateKey(command.key);
        if (keyError) return { reply: { ok: false, code: 'InvalidArgument', message: keyError }, events: NO_EVENTS, notices: NO_NOTICES };
        const reply = this.kv.delete(command.key, command.expectRevision);
        return { reply, events: reply.ok ? [{ type: 'delete', key: command.key, value: null, revision: reply.revision, prevValue: reply.prev?.value ?? null }] : NO_EVENTS, notices: NO_NOTICES };
      }
      case 'session.open':
        return this.fromTable(this.table.openSession(ctx, command.ttlMs, command.info, command.owner ?? '', command.datacenter ?? null));
      case 'session.close':
        return this.fromTable(this.table.closeSession(ctx, command.sessionId, command.actor, command.reason));
      case 'session.expire':
        return this.fromTable(this.table.expireSession(ctx, command.sessionId));
      case 'lock.acquire':
        return this.fromTable(this.table.acquire(ctx, command.sessionId, command.name, command.mode, command.waitMs, command.lockDelayMs));
      case 'lock.release':
        return this.fromTable(this.table.release(ctx, command.sessionId, command.name));
      case 'lock.forceRelease':
        return this.fromTable(this.table.forceRelease(ctx, command.name, command.reason, command.actor));
      case 'clock':
        return this.fromTable(this.table.clock(ctx));
      case 'settings.set':
        return this.fromTable(this.table.setSettings(ctx, command.patch, command.actor));
    }
  }

  private fromTable(result: ReturnType<LockTable['clock']>): ApplyResult {
    let events: KvEvent[] | readonly KvEvent[] = NO_EVENTS;
    for (const session of result.endedSessions) {
      const deleted = this.kv.deleteSession(session);
      if (deleted.length > 0) events = [...events, ...deleted];
    }
    return { reply: result.reply, events, notices: result.notices };
  }

  snapshot(): Uint8Array {
    const snap: MachineSnapshot = { version: 2, now: this.nowMs, kv: this.kv.snapshot(), table: this.table.snapshot() };
    return encoder.encode(JSON.stringify(snap));
  }

  restore(data: Uint8Array, _meta: SnapshotMeta): void {
    const snap = JSON.parse(decoder.decode(data)) as MachineSnapshot;
    if (snap.version !== 2) throw new RangeError(`unsupported snapshot version ${String(snap.version)}`);
    this.nowMs = snap.now;
    this.kv.restore(snap.kv);
    this.table.restore(snap.table);
  }
}
