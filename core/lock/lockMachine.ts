// Pure. Warden's replicated state machine: the configuration namespace today, sessions and locks
// as they land. Applied deterministically from committed entries; time enters only as the
// leader's stamp on each entry, folded as max(previous, stamp).

import type { SnapshotMeta } from '../raft/types.ts';
import { decodeCommand } from './commands.ts';
import type { KvEvent, KvSnapshot, KvWriteResult } from './kvStore.ts';
import { KvStore, validateKey } from './kvStore.ts';

/** ApplyResult is what applying one entry produced: the proposer's reply and watch events. */
export interface ApplyResult {
  readonly reply: KvWriteResult | { readonly ok: false; readonly code: 'InvalidCommand' | 'InvalidArgument' | 'TooLarge'; readonly message: string };
  readonly events: readonly KvEvent[];
}

/** MachineLimits bounds what one command may store. */
export interface MachineLimits {
  /** The largest value, in bytes of UTF-8 (design: 64 KiB by default). */
  readonly maxValueBytes: number;
}

/** DEFAULT_LIMITS are the limits until cluster settings change them. */
export const DEFAULT_LIMITS: MachineLimits = { maxValueBytes: 64 * 1024 };

interface MachineSnapshot {
  readonly version: 1;
  readonly now: number;
  readonly kv: KvSnapshot;
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
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** LockMachine applies commands. It is the `StateMachine` a node replicates. */
export class LockMachine {
  readonly kv = new KvStore();
  private limits: MachineLimits;
  /** Replicated time: the largest leader stamp applied so far. */
  private nowMs = 0;

  constructor(limits: MachineLimits = DEFAULT_LIMITS) {
    this.limits = limits;
  }

  /** now is the replicated clock (ms since the epoch, from the leaders' stamps). */
  get now(): number {
    return this.nowMs;
  }

  /** applyCommand applies one command payload. */
  applyCommand(data: Uint8Array): ApplyResult {
    const command = decodeCommand(data);
    if (command.op === 'invalid') return { reply: { ok: false, code: 'InvalidCommand', message: command.error }, events: [] };
    this.nowMs = Math.max(this.nowMs, command.stamp);
    const keyError = validateKey(command.key);
    if (keyError) return { reply: { ok: false, code: 'InvalidArgument', message: keyError }, events: [] };
    switch (command.op) {
      case 'kv.put': {
        if (utf8Length(command.value) > this.limits.maxValueBytes) {
          return { reply: { ok: false, code: 'TooLarge', message: `value is larger than ${this.limits.maxValueBytes} bytes` }, events: [] };
        }
        const reply = this.kv.put(command.key, command.value, command.expectRevision, command.session);
        return { reply, events: reply.ok ? [{ type: 'put', key: command.key, value: command.value, revision: reply.revision, prevValue: reply.prev?.value ?? null }] : [] };
      }
      case 'kv.delete': {
        const reply = this.kv.delete(command.key, command.expectRevision);
        return { reply, events: reply.ok ? [{ type: 'delete', key: command.key, value: null, revision: reply.revision, prevValue: reply.prev?.value ?? null }] : [] };
      }
    }
  }

  snapshot(): Uint8Array {
    const snap: MachineSnapshot = { version: 1, now: this.nowMs, kv: this.kv.snapshot() };
    return encoder.encode(JSON.stringify(snap));
  }

  restore(data: Uint8Array, _meta: SnapshotMeta): void {
    const snap = JSON.parse(decoder.decode(data)) as MachineSnapshot;
    if (snap.version !== 1) throw new RangeError(`unsupported snapshot version ${String(snap.version)}`);
    this.nowMs = snap.now;
    this.kv.restore(snap.kv);
  }
}
