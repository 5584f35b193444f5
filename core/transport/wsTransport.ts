// Effectful. WsTransport is the production Transport: authenticated WebSocket links between
// peers (`ws`), one outbound link per peer for sending and inbound links for receiving, with
// batching, snapshot chunking, bounded queues, reconnect with backoff, RTT probes and optional
// injected latency for local WAN simulation. Protocol notes: core/transport/README.md.

import { Buffer } from 'node:buffer';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import type { Message, NodeId } from '../raft/types.ts';
import type { Transport } from '../node/ports.ts';
import { Backoff } from './backoff.ts';
import { BATCH_OVERHEAD_BYTES, NONCE_BYTES, PROTOCOL_VERSION, decodeFrame, encodeBatch, encodeFrame, encodeMessage, encodeSnapshotChunks } from './codec.ts';
import type { Frame } from './codec.ts';
import { SnapshotAssembler } from './snapshotAssembler.ts';

/** LogLevel orders log lines; a refused link is `warn`, a link coming up is `info`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** TransportLog receives structured log lines; the host decides where they go. */
export type TransportLog = (level: LogLevel, msg: string, fields: Record<string, unknown>) => void;

/** WsTransportOptions configures a WsTransport. Only the first five fields are required. */
export interface WsTransportOptions {
  /** This node's id; it names us in handshakes and is the only acceptable `to` of inbound messages. */
  readonly self: NodeId;
  /** Links between nodes of different clusters are refused, even with the same secret. */
  readonly clusterId: string;
  /** The shared cluster secret; both ends prove they know it (HMAC over fresh nonces) and never send it. */
  readonly secret: string;
  /** Peer id → `ws(s)://host:port/peer`. An entry for `self` is ignored, so the whole member list may be passed. */
  readonly peers: ReadonlyMap<NodeId, string>;
  /** For `wss://` peers: the CA that signed their certificates (PEM); the system store when absent. */
  readonly tls?: { readonly ca?: string };
  /** The largest frame either side accepts (ws `maxPayload`); default 1 MiB. Larger snapshots are chunked. */
  readonly maxPayloadBytes?: number;
  /** Receives every validated inbound message, in order per link. */
  readonly onMessage: (message: Message) => void;
  readonly log?: TransportLog;
  /** Injected one-way latency per destination for local WAN simulation; 0 by default. Applies to every frame we send. */
  readonly linkDelayMs?: (to: NodeId) => number;
  /** RTT probe interval on each outbound link; default 1000. */
  readonly pingIntervalMs?: number;
  /** A link that has not completed its handshake within this is closed; default 5000. */
  readonly handshakeTimeoutMs?: number;
  /** A link that has received nothing for this long is dropped as dead (half-open TCP); default 10000. */
  readonly peerTimeoutMs?: number;
  /** Reconnect backoff bounds; defaults 100 and 5000. */
  readonly retryDelayMsMin?: number;
  /** See retryDelayMsMin. */
  readonly retryDelayMsMax?: number;
  /** Per-link bound on frames queued or buffered for sending; beyond it messages are dropped. Default 16 MiB. */
  readonly maxQueuedBytes?: number;
  /** The largest snapshot reassembled from chunks; default 256 MiB. */
  readonly maxSnapshotBytes?: number;
  /** Upgrade path served by attach(); default `/peer`. */
  readonly path?: string;
  /** Randomness for backoff jitter; Math.random by default. */
  readonly random?: () => number;
}

/** PeerStats is one peer's link health, for the topology view and for tests. */
export interface PeerStats {
  /** Our outbound link to the peer has completed its handshake. */
  readonly connected: boolean;
  /** The peer has an authenticated link to us. */
  readonly inbound: boolean;
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly framesReceived: number;
  readonly bytesReceived: number;
  /** Messages accepted for sending (queued on a link). */
  readonly messagesSent: number;
  /** Messages delivered to onMessage. */
  readonly messagesReceived: number;
  /** Messages dropped because the peer was down, a queue was full or a message exceeded the frame limit. */
  readonly messagesDropped: number;
  /** The most recent failure on either link to this peer; kept after recovery, for diagnosis. */
  readonly lastError: string | null;
  /** When lastError happened (Date.now()). */
  readonly lastErrorAt: number | null;
}

/** RttSample is the measured round-trip time to a peer, over the peer link itself (so it includes injected latency). */
export interface RttSample {
  readonly lastMs: number;
  /** Exponentially smoothed like TCP's SRTT (α = 1/8), so one slow probe does not swing the topology view. */
  readonly smoothedMs: number;
  /** Wall-clock time of the latest sample (Date.now()). */
  readonly measuredAt: number;
}

/**
 * CloseCodes are the WebSocket close codes this transport uses for protocol failures, so the
 * other end (and its log) learns why a link was refused. 1009 (too big) comes from `ws` itself.
 */
export const CloseCodes = {
  badClusterId: 4001,
  badSecret: 4002,
  unknownPeer: 4003,
  handshakeTimeout: 4004,
  malformedFrame: 4005,
  unexpectedFrame: 4006,
  wrongSender: 4007,
  wrongRecipient: 4008,
  badSnapshot: 4009,
  versionMismatch: 4010,
  replaced: 4011,
  peerTimeout: 4012,
  tooManyPending: 4013,
  peerRemoved: 4014,
} as const;

/** CloseReason names a close code; the reason text is sent with the close frame. */
export type CloseReason = keyof typeof CloseCodes;

const reasonText: Record<CloseReason, string> = {
  badClusterId: 'bad cluster id',
  badSecret: 'bad secret',
  unknownPeer: 'unknown peer',
  handshakeTimeout: 'handshake timeout',
  malformedFrame: 'malformed frame',
  unexpectedFrame: 'unexpected frame',
  wrongSender: 'wrong sender',
  wrongRecipient: 'wrong recipient',
  badSnapshot: 'bad snapshot chunk',
  versionMismatch: 'unsupported protocol version',
  replaced: 'replaced by a newer link',
  peerTimeout: 'peer timeout',
  tooManyPending: 'too many pending connections',
  peerRemoved: 'peer removed',
};

const GOING_AWAY = 1001;
const MAX_PENDING_INBOUND = 64;
const CLOSE_GRACE_MS = 1000;
const RTT_ALPHA = 1 / 8;

interface QueuedFrame {
  readonly data: Buffer;
  readonly dueAt: number;
}

/** Conn is one WebSocket, in either direction, with its own FIFO of delayed frames. */
class Conn {
  readonly ws: WebSocket;
  readonly direction: 'outbound' | 'inbound';
  peer: NodeId | null;
  authenticated = false;
  /** Set when we started closing this socket, so its close event is not blamed on the peer. */
  closingByUs = false;
  lastReceivedAt = performance.now();
  /** Our handshake nonce: sent in hello (inbound links) or in auth (outbound links). */
  nonce = '';
  /** The other end's handshake nonce, once received. */
  peerNonce = '';
  readonly assembler: SnapshotAssembler;
  readonly done: Promise<void>;
  handshakeTimer: NodeJS.Timeout | null = null;
  killTimer: NodeJS.Timeout | null = null;
  private fifo: QueuedFrame[] = [];
  private fifoHead = 0;
  private fifoBytes = 0;
  private lastDueAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private resolveDone!: () => void;

  constructor(ws: WebSocket, direction: 'outbound' | 'inbound', peer: NodeId | null, maxSnapshotBytes: number, private readonly onWrite: (conn: Conn, bytes: number) => void) {
    this.ws = ws;
    this.direction = direction;
    this.peer = peer;
    this.assembler = new SnapshotAssembler(maxSnapshotBytes);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** queuedBytes counts what is waiting in our FIFO and in ws's buffer: the link's memory cost. */
  queuedBytes(): number {
    return this.fifoBytes + this.ws.bufferedAmount;
  }

  /** enqueue sends now, or after `delayMs`, never overtaking an earlier frame. */
  enqueue(data: Buffer, delayMs: number): void {
    if (delayMs <= 0 && this.fifoHead === this.fifo.length) {
      this.write(data);
      return;
    }
    const dueAt = Math.max(performance.now() + delayMs, this.lastDueAt);
    this.lastDueAt = dueAt;
    this.fifo.push({ data, dueAt });
    this.fifoBytes += data.byteLength;
    if (!this.timer) this.arm(dueAt - performance.now());
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.flushDue(), Math.max(0, Math.ceil(ms)));
  }

  private flushDue(): void {
    this.timer = null;
    const now = performance.now();
    while (this.fifoHead < this.fifo.length) {
      const head = this.fifo[this.fifoHead] as QueuedFrame;
      // NB: libuv's loop clock is coarser than performance.now(), so a timer may fire a fraction
      // of a millisecond early; re-arm rather than let a frame beat its injected latency.
      if (head.dueAt > now) {
        this.arm(head.dueAt - now);
        break;
      }
      this.fifoHead++;
      this.fifoBytes -= head.data.byteLength;
      this.write(head.data);
    }
    if (this.fifoHead === this.fifo.length) {
      this.fifo = [];
      this.fifoHead = 0;
    } else if (this.fifoHead > 1024 && this.fifoHead * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.fifoHead);
      this.fifoHead = 0;
    }
  }

  private write(data: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(data, { binary: false });
    this.onWrite(this, data.byteLength);
  }

  /** dispose drops delayed frames and timers; the socket is closing or closed. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.killTimer) clearTimeout(this.killTimer);
    this.timer = this.handshakeTimer = this.killTimer = null;
    this.fifo = [];
    this.fifoHead = 0;
    this.fifoBytes = 0;
    this.assembler.reset();
    this.resolveDone();
  }
}

interface MutableStats {
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  messagesDropped: number;
  lastError: string | null;
  lastErrorAt: number | null;
}

/** PeerLink is everything we keep about one peer across reconnects. */
class PeerLink {
  readonly peer: NodeId;
  readonly url: string;
  readonly backoff: Backoff;
  /** The current outbound socket, from dialling until it closes. */
  out: Conn | null = null;
  /** True once `out` has completed its handshake. */
  open = false;
  /** Frames sent while `out` was still handshaking; bounded by maxQueuedBytes. */
  pending: { readonly frames: Buffer[]; readonly bytes: number; readonly messages: number }[] = [];
  pendingBytes = 0;
  retryTimer: NodeJS.Timeout | null = null;
  /** The current authenticated inbound socket from this peer. */
  in: Conn | null = null;
  rtt: RttSample | null = null;
  readonly stats: MutableStats = { framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0, messagesDropped: 0, lastError: null, lastErrorAt: null };

  constructor(peer: NodeId, url: string, backoff: Backoff) {
    this.peer = peer;
    this.url = url;
    this.backoff = backoff;
  }
}

function recordError(link: PeerLink, message: string): void {
  link.stats.lastError = message;
  link.stats.lastErrorAt = Date.now();
}

interface UpgradeSource {
  on(event: 'upgrade', listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
  off(event: 'upgrade', listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
}

function handshakeMac(secret: string, parts: readonly string[]): Buffer {
  return createHmac('sha256', secret).update(parts.join('|')).digest();
}

function macMatches(mac: string, expected: Buffer): boolean {
  const got = Buffer.from(mac, 'base64');
  return got.byteLength === expected.byteLength && timingSafeEqual(got, expected);
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function rawBytes(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.byteLength, 0);
  return data.byteLength;
}

/**
 * WsTransport implements the Transport port over WebSockets. Raft tolerates loss, so the
 * transport prefers dropping to buffering: messages to a peer that is down are dropped, and
 * every queue is bounded. Lifecycle: construct, attach() to the node's HTTP(S) server,
 * optionally start() to dial every peer at once (for RTT), send() freely, close() at the end.
 */
export class WsTransport implements Transport {
  private readonly self: NodeId;
  private readonly clusterId: string;
  private readonly secret: string;
  private readonly onMessage: (message: Message) => void;
  private readonly log: TransportLog;
  private readonly linkDelay: (to: NodeId) => number;
  private readonly tlsCa: string | undefined;
  private readonly maxPayloadBytes: number;
  private readonly pingIntervalMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly peerTimeoutMs: number;
  private readonly maxQueuedBytes: number;
  private readonly maxSnapshotBytes: number;
  private readonly path: string;
  private readonly random: () => number;
  private readonly retryDelayMsMin: number;
  private readonly retryDelayMsMax: number;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly conns = new Set<Conn>();
  private readonly detachers: (() => void)[] = [];
  private readonly attached = new Set<object>();
  private readonly warnedUnknown = new Set<string>();
  private wss: WebSocketServer | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private pendingInbound = 0;
  private nextTransferId = 1;
  /** Set by close(): no more dialling, accepting or sending. */
  private stopped = false;
  private closing: Promise<void> | null = null;

  constructor(options: WsTransportOptions) {
    if (options.clusterId.length === 0) throw new RangeError('clusterId must not be empty');
    if (options.secret.length === 0) throw new RangeError('secret must not be empty');
    this.self = options.self;
    this.clusterId = options.clusterId;
    this.secret = options.secret;
    this.onMessage = options.onMessage;
    this.log = options.log ?? (() => {});
    this.linkDelay = options.linkDelayMs ?? (() => 0);
    this.tlsCa = options.tls?.ca;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 1024 * 1024;
    this.pingIntervalMs = options.pingIntervalMs ?? 1000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5000;
    // A link must get several ping intervals before it counts as silent, or it would flap.
    this.peerTimeoutMs = Math.max(options.peerTimeoutMs ?? 10_000, 3 * (options.pingIntervalMs ?? 1000));
    this.maxQueuedBytes = options.maxQueuedBytes ?? 16 * 1024 * 1024;
    this.maxSnapshotBytes = options.maxSnapshotBytes ?? 256 * 1024 * 1024;
    this.path = options.path ?? '/peer';
    if (!(this.maxPayloadBytes >= 4096)) throw new RangeError(`maxPayloadBytes must be at least 4096, got ${this.maxPayloadBytes}`);
    if (!(this.pingIntervalMs > 0)) throw new RangeError('pingIntervalMs must be positive');
    this.random = options.random ?? Math.random;
    this.retryDelayMsMin = options.retryDelayMsMin ?? 100;
    this.retryDelayMsMax = options.retryDelayMsMax ?? 5000;
    for (const [peer, url] of options.peers) {
      if (peer !== this.self) this.links.set(peer, this.newLink(peer, url));
    }
  }

  private newLink(peer: NodeId, url: string): PeerLink {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new RangeError(`peer ${peer}: invalid URL ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new RangeError(`peer ${peer}: URL must be ws:// or wss://, got ${url}`);
    const backoff = new Backoff({ retryDelayMsMin: this.retryDelayMsMin, retryDelayMsMax: this.retryDelayMsMax, random: this.random });
    return new PeerLink(peer, url, backoff);
  }

  // -------------------------------------------------------------------------------------------
  // Public surface.

  /**
   * attach serves inbound peer links on `path` of an existing HTTP(S) server. Upgrades for other
   * paths are left alone for their own handlers (the client API shares the port).
   */
  attach(server: HttpServer | HttpsServer): void {
    if (this.stopped) throw new Error('WsTransport is closed');
    // NB: a second listener on the same server would hand ws the same socket twice, which throws.
    if (this.attached.has(server)) return;
    this.attached.add(server);
    this.wss ??= new WebSocketServer({ noServer: true, maxPayload: this.maxPayloadBytes, perMessageDeflate: false, clientTracking: false });
    const wss = this.wss;
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if ((req.url ?? '').split('?')[0] !== this.path) return;
      if (this.stopped) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
    };
    const source = server as UpgradeSource;
    source.on('upgrade', onUpgrade);
    this.detachers.push(() => source.off('upgrade', onUpgrade));
    this.ensureSweep();
  }

  /** start dials every peer now instead of on first send, so RTT is measured to all of them. */
  start(): void {
    if (this.stopped) return;
    for (const link of this.links.values()) if (!link.out && !link.retryTimer) this.dial(link);
    this.ensureSweep();
  }

  /**
   * updatePeers replaces the peer list after a membership change: new peers get links, removed
   * peers' links are closed (and their inbound links refused from now on), and a peer whose URL
   * changed is redialled. All URLs are checked before anything changes.
   */
  updatePeers(peers: ReadonlyMap<NodeId, string>): void {
    if (this.stopped) return;
    const wanted = new Map<NodeId, PeerLink | string>();
    for (const [peer, url] of peers) {
      if (peer === this.self) continue;
      const existing = this.links.get(peer);
      wanted.set(peer, existing && existing.url === url ? existing : url);
    }
    const created = new Map<NodeId, PeerLink>();
    for (const [peer, value] of wanted) if (typeof value === 'string') created.set(peer, this.newLink(peer, value));
    for (const [peer, link] of [...this.links]) {
      if (wanted.get(peer) === link) continue;
      this.links.delete(peer);
      if (link.retryTimer) clearTimeout(link.retryTimer);
      link.retryTimer = null;
      for (const conn of [link.out, link.in]) if (conn) this.refuse(conn, 'peerRemoved', `${peer} left the peer list or moved`);
      this.log('info', 'peer removed', { peer });
    }
    for (const [peer, link] of created) this.links.set(peer, link);
  }

  /**
   * send groups messages per destination and sends each group as one batch frame (several
   * when the frame limit requires; InstallSnapshot as chunks). Never blocks and never throws:
   * what cannot be sent now is dropped, and Raft retransmits.
   */
  send(messages: readonly Message[]): void {
    if (this.stopped) return;
    const groups = new Map<PeerLink, Message[]>();
    for (const m of messages) {
      if (m.from !== this.self) {
        // The receiver would close the whole link over it (wrong sender): drop just this one.
        this.warnOnce(`from:${m.from}`, 'dropping a message not sent by this node');
        continue;
      }
      const link = this.links.get(m.to);
      if (!link) {
        this.warnOnce(m.to, m.to === this.self ? 'dropping a message addressed to ourselves' : 'dropping a message for an unknown peer');
        continue;
      }
      let group = groups.get(link);
      if (!group) groups.set(link, (group = []));
      group.push(m);
    }
    for (const [link, group] of groups) this.sendTo(link, group);
  }

  /** rtt returns the latest and smoothed round-trip time to each peer measured so far. */
  rtt(): Map<NodeId, RttSample> {
    const out = new Map<NodeId, RttSample>();
    for (const [peer, link] of this.links) if (link.rtt) out.set(peer, link.rtt);
    return out;
  }

  /** stats returns each configured peer's link state and counters. */
  stats(): Map<NodeId, PeerStats> {
    const out = new Map<NodeId, PeerStats>();
    for (const [peer, link] of this.links) out.set(peer, { connected: link.open, inbound: link.in !== null, ...link.stats });
    return out;
  }

  /** close closes every link, stops every timer and detaches from servers; it resolves when all sockets are closed. */
  close(): Promise<void> {
    this.stopped = true;
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------
  // Sending.

  private sendTo(link: PeerLink, messages: Message[]): void {
    if (!link.out) {
      if (link.retryTimer) {
        // The peer is down and we are waiting to redial: drop, Raft will retry.
        link.stats.messagesDropped += messages.length;
        return;
      }
      this.dial(link);
    }
    const delay = this.delayTo(link.peer);
    let parts: string[] = [];
    let partsBytes = BATCH_OVERHEAD_BYTES;
    const flush = (): void => {
      if (parts.length === 0) return;
      const frame = Buffer.from(encodeBatch(parts));
      this.enqueueGroup(link, [frame], frame.byteLength, parts.length, delay);
      parts = [];
      partsBytes = BATCH_OVERHEAD_BYTES;
    };
    for (const m of messages) {
      if (m.type === 'InstallSnapshot' && (m.snapshot.data.byteLength * 4) / 3 + 64 * 1024 > this.maxPayloadBytes) {
        flush();
        this.sendSnapshotChunks(link, m, delay);
        continue;
      }
      const text = encodeMessage(m);
      const bytes = Buffer.byteLength(text);
      if (BATCH_OVERHEAD_BYTES + bytes > this.maxPayloadBytes) {
        link.stats.messagesDropped++;
        this.fault(link, 'error', `dropping a ${m.type} of ${bytes} bytes: larger than maxPayloadBytes ${this.maxPayloadBytes}`);
        continue;
      }
      if (parts.length > 0 && partsBytes + 1 + bytes > this.maxPayloadBytes) flush();
      partsBytes += bytes + (parts.length > 0 ? 1 : 0);
      parts.push(text);
    }
    flush();
  }

  private sendSnapshotChunks(link: PeerLink, m: Extract<Message, { type: 'InstallSnapshot' }>, delay: number): void {
    const chunks = encodeSnapshotChunks(m, this.nextTransferId++, this.maxPayloadBytes);
    if (!chunks.ok) {
      link.stats.messagesDropped++;
      this.fault(link, 'error', `dropping an InstallSnapshot: ${chunks.error}`);
      return;
    }
    const frames = chunks.value.map((c) => Buffer.from(c));
    this.enqueueGroup(link, frames, frames.reduce((n, f) => n + f.byteLength, 0), 1, delay);
  }

  /**
   * enqueueGroup queues frames that stand or fall together (a snapshot's chunks): all of them,
   * or none. A queue takes a group when it fits under maxQueuedBytes, or when the queue is
   * mostly idle (under a quarter of the bound, pings and pongs come and go): otherwise a snapshot
   * larger than the bound could never be sent. A leader's resends of a snapshot (every election
   * timeout, until answered) are dropped while the first copy is still queued.
   */
  private enqueueGroup(link: PeerLink, frames: Buffer[], bytes: number, messages: number, delay: number): void {
    const out = link.out;
    const fits = (queued: number): boolean => queued + bytes <= this.maxQueuedBytes || queued <= this.maxQueuedBytes / 4;
    if (out && link.open) {
      if (!fits(out.queuedBytes())) {
        link.stats.messagesDropped += messages;
        this.log('debug', 'peer link queue full; dropping', { peer: link.peer, messages });
        return;
      }
      for (const frame of frames) out.enqueue(frame, delay);
      link.stats.messagesSent += messages;
      return;
    }
    if (out && fits(link.pendingBytes)) {
      link.pending.push({ frames, bytes, messages });
      link.pendingBytes += bytes;
      return;
    }
    link.stats.messagesDropped += messages;
  }

  private delayTo(peer: NodeId): number {
    try {
      const ms = this.linkDelay(peer);
      return Number.isFinite(ms) && ms > 0 ? ms : 0;
    } catch {
      return 0;
    }
  }

  private sendFrame(conn: Conn, frame: Frame): void {
    const data = Buffer.from(encodeFrame(frame));
    // A peer that pings faster than it reads pongs must not grow our buffers without bound.
    if (conn.queuedBytes() + data.byteLength > this.maxQueuedBytes) return;
    // Injected latency applies once the other end is known: to everything but the server's hello.
    conn.enqueue(data, conn.peer ? this.delayTo(conn.peer) : 0);
  }

  private countWrite(conn: Conn, bytes: number): void {
    const link = conn.peer ? this.links.get(conn.peer) : undefined;
    if (!link) return;
    link.stats.framesSent++;
    link.stats.bytesSent += bytes;
  }

  // -------------------------------------------------------------------------------------------
  // Outbound links: dial, handshake as client, ping, reconnect.

  private dial(link: PeerLink): void {
    link.retryTimer = null;
    if (this.stopped || this.links.get(link.peer) !== link) return;
    const ws = new WebSocket(link.url, {
      maxPayload: this.maxPayloadBytes,
      perMessageDeflate: false,
      handshakeTimeout: this.handshakeTimeoutMs,
      // NB: an all-zero masking key makes ws skip masking (RFC 6455 §5.3 masks against proxy
      // cache poisoning by browser scripts, which cannot happen on a node-to-node link); it
      // saves a JS pass over every byte we send, since bufferutil is not installed.
      generateMask: (mask: Buffer) => void mask.fill(0),
      ...(this.tlsCa !== undefined ? { ca: this.tlsCa } : {}),
    });
    const conn = new Conn(ws, 'outbound', link.peer, this.maxSnapshotBytes, (c, n) => this.countWrite(c, n));
    this.conns.add(conn);
    link.out = conn;
    link.open = false;
    conn.handshakeTimer = setTimeout(() => this.refuse(conn, 'handshakeTimeout', 'no handshake from the server in time'), this.handshakeTimeoutMs);
    ws.on('message', (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on('error', (error) => this.fault(link, 'debug', `peer link error: ${error.message}`));
    ws.on('close', (code, reason) => {
      this.forget(conn);
      const wasOpen = link.open;
      if (link.out === conn) {
        link.out = null;
        link.open = false;
        link.stats.messagesDropped += link.pending.reduce((n, p) => n + p.messages, 0);
        link.pending = [];
        link.pendingBytes = 0;
      }
      if (code >= 4000 && !conn.closingByUs) this.fault(link, 'warn', `peer closed our link: ${code} ${reason.toString()}`);
      else if (wasOpen) this.log('info', 'peer link down', { peer: link.peer, code, reason: reason.toString() });
      if (!this.stopped && link.out === null && this.links.get(link.peer) === link) this.scheduleRedial(link);
    });
  }

  private scheduleRedial(link: PeerLink): void {
    if (link.retryTimer) return;
    const delay = link.backoff.next();
    link.retryTimer = setTimeout(() => this.dial(link), delay);
    link.retryTimer.unref();
  }

  private onOutboundFrame(conn: Conn, link: PeerLink, frame: Frame): void {
    switch (frame.kind) {
      case 'hello': {
        if (conn.nonce !== '') return this.refuse(conn, 'unexpectedFrame', 'a second hello');
        if (frame.version !== PROTOCOL_VERSION) return this.refuse(conn, 'versionMismatch', `server speaks version ${frame.version}`);
        if (frame.clusterId !== this.clusterId) return this.refuse(conn, 'badClusterId', 'the server belongs to another cluster');
        if (frame.nodeId !== link.peer) return this.refuse(conn, 'unknownPeer', `expected ${link.peer} at ${link.url}, found ${frame.nodeId}`);
        conn.nonce = randomBytes(NONCE_BYTES).toString('base64');
        const mac = handshakeMac(this.secret, ['client', this.clusterId, this.self, link.peer, frame.nonce, conn.nonce]).toString('base64');
        conn.peerNonce = frame.nonce;
        this.sendFrame(conn, { kind: 'auth', version: PROTOCOL_VERSION, clusterId: this.clusterId, nodeId: this.self, nonce: conn.nonce, mac });
        return;
      }
      case 'ok': {
        if (conn.authenticated || conn.peerNonce === '') return this.refuse(conn, 'unexpectedFrame', 'ok before auth');
        const expected = handshakeMac(this.secret, ['server', this.clusterId, this.self, link.peer, conn.nonce, conn.peerNonce]);
        if (!macMatches(frame.mac, expected)) return this.refuse(conn, 'badSecret', 'the server could not prove the cluster secret');
        conn.authenticated = true;
        if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
        conn.handshakeTimer = null;
        link.open = true;
        link.backoff.reset();
        this.log('info', 'peer link up', { peer: link.peer, url: link.url });
        const pending = link.pending;
        link.pending = [];
        link.pendingBytes = 0;
        const delay = this.delayTo(link.peer);
        for (const group of pending) this.enqueueGroup(link, group.frames, group.bytes, group.messages, delay);
        this.ping(conn, link);
        return;
      }
      case 'pong': {
        if (!conn.authenticated) return this.refuse(conn, 'unexpectedFrame', 'pong before the handshake');
        const rttMs = performance.now() - frame.sentAt;
        if (rttMs < 0 || rttMs > 3_600_000) {
          this.log('debug', 'ignoring a pong with a stamp we never sent', { peer: link.peer });
          return;
        }
        const smoothedMs = link.rtt ? link.rtt.smoothedMs + RTT_ALPHA * (rttMs - link.rtt.smoothedMs) : rttMs;
        link.rtt = { lastMs: rttMs, smoothedMs, measuredAt: Date.now() };
        return;
      }
      default:
        return this.refuse(conn, 'unexpectedFrame', `${frame.kind} on an outbound link`);
    }
  }

  private ping(conn: Conn, link: PeerLink): void {
    if (link.out !== conn || !link.open) return;
    this.sendFrame(conn, { kind: 'ping', sentAt: performance.now() });
  }

  // -------------------------------------------------------------------------------------------
  // Inbound links: handshake as server, receive.

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const conn = new Conn(ws, 'inbound', null, this.maxSnapshotBytes, (c, n) => this.countWrite(c, n));
    this.conns.add(conn);
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    let pending = true;
    const settle = (): void => {
      if (pending) this.pendingInbound--;
      pending = false;
    };
    this.pendingInbound++;
    ws.on('error', (error) => this.log('debug', 'inbound peer link error', { remote, peer: conn.peer, error: error.message }));
    ws.on('close', (code, reason) => {
      settle();
      this.forget(conn);
      const link = conn.peer ? this.links.get(conn.peer) : undefined;
      if (link && link.in === conn) link.in = null;
      this.log('debug', 'inbound peer link closed', { remote, peer: conn.peer, code, reason: reason.toString() });
    });
    if (this.stopped) {
      this.shut(conn, GOING_AWAY, 'going away');
      return;
    }
    if (this.pendingInbound > MAX_PENDING_INBOUND) {
      this.refuse(conn, 'tooManyPending', `more than ${MAX_PENDING_INBOUND} links are handshaking`, remote);
      return;
    }
    conn.handshakeTimer = setTimeout(() => this.refuse(conn, 'handshakeTimeout', 'no auth from the client in time', remote), this.handshakeTimeoutMs);
    ws.on('message', (data, isBinary) => {
      if (!conn.authenticated) {
        this.onFrame(conn, data, isBinary, remote);
        if (conn.authenticated) settle();
      } else this.onFrame(conn, data, isBinary, remote);
    });
    conn.nonce = randomBytes(NONCE_BYTES).toString('base64');
    this.sendFrame(conn, { kind: 'hello', version: PROTOCOL_VERSION, clusterId: this.clusterId, nodeId: this.self, nonce: conn.nonce });
  }

  private onInboundFrame(conn: Conn, frame: Frame, remote: string): void {
    if (!conn.authenticated) {
      if (frame.kind !== 'auth') return this.refuse(conn, 'unexpectedFrame', `${frame.kind} before auth`, remote);
      if (frame.version !== PROTOCOL_VERSION) return this.refuse(conn, 'versionMismatch', `client speaks version ${frame.version}`, remote);
      if (frame.clusterId !== this.clusterId) return this.refuse(conn, 'badClusterId', `client ${frame.nodeId} belongs to another cluster`, remote);
      const link = this.links.get(frame.nodeId);
      if (!link) return this.refuse(conn, 'unknownPeer', `${frame.nodeId} is not a configured peer`, remote);
      const expected = handshakeMac(this.secret, ['client', this.clusterId, frame.nodeId, this.self, conn.nonce, frame.nonce]);
      if (!macMatches(frame.mac, expected)) return this.refuse(conn, 'badSecret', `${frame.nodeId} could not prove the cluster secret`, remote);
      if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
      conn.handshakeTimer = null;
      conn.peer = frame.nodeId;
      conn.authenticated = true;
      const previous = link.in;
      link.in = conn;
      if (previous) this.refuse(previous, 'replaced', 'the peer opened a newer link');
      const mac = handshakeMac(this.secret, ['server', this.clusterId, frame.nodeId, this.self, frame.nonce, conn.nonce]).toString('base64');
      this.sendFrame(conn, { kind: 'ok', mac });
      this.log('debug', 'inbound peer link authenticated', { peer: frame.nodeId, remote });
      return;
    }
    const peer = conn.peer as NodeId;
    const link = this.links.get(peer);
    if (!link) return this.refuse(conn, 'peerRemoved', `${peer} is no longer a peer`, remote);
    switch (frame.kind) {
      case 'batch': {
        for (const m of frame.messages) {
          if (m.from !== peer) return this.refuse(conn, 'wrongSender', `a message from ${m.from} on ${peer}'s link`, remote);
          if (m.to !== this.self) return this.refuse(conn, 'wrongRecipient', `a message for ${m.to}`, remote);
        }
        for (const m of frame.messages) this.deliver(link, m);
        return;
      }
      case 'snapshotChunk': {
        if (frame.header) {
          if (frame.header.from !== peer) return this.refuse(conn, 'wrongSender', `a snapshot from ${frame.header.from} on ${peer}'s link`, remote);
          if (frame.header.to !== this.self) return this.refuse(conn, 'wrongRecipient', `a snapshot for ${frame.header.to}`, remote);
        }
        const result = conn.assembler.add(frame);
        if (result.status === 'error') return this.refuse(conn, 'badSnapshot', result.error, remote);
        if (result.status === 'done') this.deliver(link, result.message);
        return;
      }
      case 'ping':
        this.sendFrame(conn, { kind: 'pong', sentAt: frame.sentAt });
        return;
      default:
        return this.refuse(conn, 'unexpectedFrame', `${frame.kind} on an inbound link`, remote);
    }
  }

  private deliver(link: PeerLink, message: Message): void {
    link.stats.messagesReceived++;
    try {
      this.onMessage(message);
    } catch (error) {
      this.log('error', 'onMessage threw', { peer: link.peer, type: message.type, error: error instanceof Error ? error.message : String(error) });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Both directions.

  private onFrame(conn: Conn, data: RawData, isBinary: boolean, remote = ''): void {
    // Once we have refused a link, nothing more it says is believed (ws still emits frames that
    // were already read from the socket).
    if (conn.closingByUs) return;
    conn.lastReceivedAt = performance.now();
    // Inbound links learn their peer only once authenticated, so strangers' bytes count for nobody.
    const link = conn.peer ? this.links.get(conn.peer) : undefined;
    if (link) {
      link.stats.framesReceived++;
      link.stats.bytesReceived += rawBytes(data);
    }
    if (isBinary) return this.refuse(conn, 'malformedFrame', 'binary frame', remote);
    const decoded = decodeFrame(rawText(data));
    if (!decoded.ok) return this.refuse(conn, 'malformedFrame', decoded.error, remote);
    if (conn.direction === 'inbound') this.onInboundFrame(conn, decoded.value, remote);
    else if (link && link.out === conn) this.onOutboundFrame(conn, link, decoded.value);
    else this.refuse(conn, 'peerRemoved', 'a link that is no longer current');
  }

  /** refuse closes one link for a protocol failure, logs why, and leaves every other link alone. */
  private refuse(conn: Conn, reason: CloseReason, detail: string, remote = ''): void {
    const link = conn.peer ? this.links.get(conn.peer) : undefined;
    const message = `${reasonText[reason]}: ${detail}`;
    if (link && reason !== 'replaced') recordError(link, message);
    const level: LogLevel = reason === 'replaced' ? 'debug' : 'warn';
    this.log(level, 'closing peer link', { peer: conn.peer, direction: conn.direction, remote: remote || undefined, code: CloseCodes[reason], reason: reasonText[reason], detail });
    this.shut(conn, CloseCodes[reason], reasonText[reason]);
  }

  private shut(conn: Conn, code: number, reason: string): void {
    conn.closingByUs = true;
    const ws = conn.ws;
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
      return;
    }
    if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
    // A peer that does not answer the close handshake is cut off rather than waited for (ws waits 30 s).
    conn.killTimer ??= setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  }

  private forget(conn: Conn): void {
    conn.dispose();
    this.conns.delete(conn);
  }

  private fault(link: PeerLink, level: LogLevel, message: string): void {
    recordError(link, message);
    this.log(level, message, { peer: link.peer });
  }

  private warnOnce(to: string, message: string): void {
    if (this.warnedUnknown.has(to)) return;
    this.warnedUnknown.add(to);
    this.log('warn', message, { to });
  }

  /** ensureSweep runs one periodic timer for pings on open outbound links and for dead-link detection. */
  private ensureSweep(): void {
    if (this.sweepTimer || this.stopped) return;
    this.sweepTimer = setInterval(() => this.sweep(), this.pingIntervalMs);
    this.sweepTimer.unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const conn of this.conns) {
      if (!conn.authenticated || now - conn.lastReceivedAt <= this.peerTimeoutMs) continue;
      const link = conn.peer ? this.links.get(conn.peer) : undefined;
      if (link) recordError(link, `${reasonText.peerTimeout}: nothing received for ${Math.round(now - conn.lastReceivedAt)} ms`);
      this.log('warn', 'dropping a silent peer link', { peer: conn.peer, direction: conn.direction, silentMs: Math.round(now - conn.lastReceivedAt) });
      if (conn.ws.readyState === WebSocket.OPEN) conn.ws.close(CloseCodes.peerTimeout, reasonText.peerTimeout);
      conn.ws.terminate();
    }
    for (const link of this.links.values()) if (link.out && link.open) this.ping(link.out, link);
  }

  private async shutdown(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const detach of this.detachers.splice(0)) detach();
    for (const link of this.links.values()) {
      if (link.retryTimer) clearTimeout(link.retryTimer);
      link.retryTimer = null;
      link.pending = [];
      link.pendingBytes = 0;
    }
    const done = [...this.conns].map((conn) => conn.done);
    for (const conn of [...this.conns]) this.shut(conn, GOING_AWAY, 'going away');
    await Promise.all(done);
    const wss = this.wss;
    this.wss = null;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}
