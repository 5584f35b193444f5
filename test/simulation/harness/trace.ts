// Pure. TraceHash is a cheap running FNV-1a hash over a compact per-event status line (time,
// event kind, node, and that node's role, term, commit and last index). Two runs of one seed
// must end with the same hash; any determinism leak shows up as a difference.

import type { RaftStatus, Role } from '../../../core/raft/types.ts';

const ROLE_CODE: Record<Role, number> = { follower: 1, preCandidate: 2, candidate: 3, leader: 4 };

/** TraceHash accumulates 32-bit words; numbers up to 2^53 are split into two words. */
export class TraceHash {
  private h = 0x811c9dc5;

  /** value is the hash so far, as an 8-digit hex string. */
  get value(): string {
    return (this.h >>> 0).toString(16).padStart(8, '0');
  }

  /** word mixes one 32-bit word, a byte at a time (FNV-1a). */
  word(n: number): void {
    let h = this.h;
    for (let shift = 0; shift < 32; shift += 8) {
      h ^= (n >>> shift) & 0xff;
      h = Math.imul(h, 0x01000193);
    }
    this.h = h;
  }

  /** number mixes a finite number; times are hashed at microsecond resolution. */
  number(n: number): void {
    const scaled = Math.round(n * 1000);
    this.word(scaled >>> 0);
    this.word(Math.floor(scaled / 4294967296) >>> 0);
  }

  /** event mixes one event's status line. */
  event(time: number, kind: number, node: number, status: RaftStatus | null): void {
    this.number(time);
    this.word(kind);
    this.word(node + 1);
    if (status) {
      this.word(ROLE_CODE[status.role]);
      this.word(status.term);
      this.word(status.commitIndex);
      this.word(status.lastIndex);
    }
  }
}

/** statusLine renders the same fields as text, for `--trace` output. */
export function statusLine(time: number, kind: string, node: string, status: RaftStatus | null): string {
  const head = `${time.toFixed(3).padStart(12)} ${kind.padEnd(8)} ${node.padEnd(3)}`;
  if (!status) return node === '-' ? head : `${head} down`;
  return `${head} ${status.role.padEnd(12)} t=${status.term} c=${status.commitIndex} a=${status.appliedIndex} l=${status.lastIndex} f=${status.firstIndex} lead=${status.leaderId ?? '-'}`;
}
