// Pure. Reassembles an InstallSnapshot that arrived as snapshotChunk frames, one transfer at a
// time per link, with a hard bound on its size so that a peer cannot make us buffer without end.

import type { Message } from '../raft/types.ts';
import type { Frame } from './codec.ts';

type ChunkFrame = Extract<Frame, { kind: 'snapshotChunk' }>;
type InstallSnapshotMessage = Extract<Message, { type: 'InstallSnapshot' }>;

/** AssembleResult says whether a chunk completed its snapshot, needs more company, or broke the protocol. */
export type AssembleResult =
  | { readonly status: 'partial' }
  | { readonly status: 'done'; readonly message: InstallSnapshotMessage }
  | { readonly status: 'error'; readonly error: string };

interface Transfer {
  readonly transferId: number;
  readonly header: NonNullable<ChunkFrame['header']>;
  readonly totalBytes: number;
  readonly parts: Uint8Array[];
  received: number;
  nextSeq: number;
}

/**
 * SnapshotAssembler collects the chunks of one snapshot transfer. A link is ordered (TCP) and the
 * sender queues a snapshot's chunks all or none, so a gap or a foreign transfer id is a protocol
 * error, not loss. A new transfer starting at seq 0 replaces an unfinished one, because a leader
 * that restarts a transfer has given up on the old one.
 */
export class SnapshotAssembler {
  private transfer: Transfer | null = null;

  /** maxBytes bounds one snapshot's data; larger transfers are refused on their first chunk. */
  constructor(private readonly maxBytes: number) {}

  /** inProgress says whether a transfer is partly received (for stats and tests). */
  get inProgress(): boolean {
    return this.transfer !== null;
  }

  /** add takes the next chunk of the link. */
  add(chunk: ChunkFrame): AssembleResult {
    if (chunk.seq === 0) {
      if (!chunk.header) return { status: 'error', error: 'first snapshot chunk without header' };
      if (chunk.totalBytes > this.maxBytes) {
        this.transfer = null;
        return { status: 'error', error: `snapshot of ${chunk.totalBytes} bytes exceeds the limit of ${this.maxBytes}` };
      }
      this.transfer = { transferId: chunk.transferId, header: chunk.header, totalBytes: chunk.totalBytes, parts: [], received: 0, nextSeq: 0 };
    }
    const transfer = this.transfer;
    if (!transfer || transfer.transferId !== chunk.transferId || transfer.nextSeq !== chunk.seq || transfer.totalBytes !== chunk.totalBytes) {
      this.transfer = null;
      return { status: 'error', error: `unexpected snapshot chunk ${chunk.transferId}/${chunk.seq}` };
    }
    if (chunk.data.byteLength === 0 && transfer.totalBytes > 0) {
      this.transfer = null;
      return { status: 'error', error: 'empty snapshot chunk' };
    }
    if (transfer.received + chunk.data.byteLength > transfer.totalBytes) {
      this.transfer = null;
      return { status: 'error', error: `snapshot chunks exceed the announced ${transfer.totalBytes} bytes` };
    }
    transfer.parts.push(chunk.data);
    transfer.received += chunk.data.byteLength;
    transfer.nextSeq++;
    if (transfer.received < transfer.totalBytes) return { status: 'partial' };
    this.transfer = null;
    const data = new Uint8Array(transfer.totalBytes);
    let offset = 0;
    for (const part of transfer.parts) {
      data.set(part, offset);
      offset += part.byteLength;
    }
    const { from, to, term, meta } = transfer.header;
    return { status: 'done', message: { type: 'InstallSnapshot', from, to, term, snapshot: { meta, data } } };
  }

  /** reset forgets a partial transfer (the link closed). */
  reset(): void {
    this.transfer = null;
  }
}
