// Pure. The peer wire format: JSON text frames (handshake, message batches, snapshot chunks,
// ping/pong) with Uint8Array payloads carried as base64. Decoding never throws and trusts
// nothing: every field of every message is checked, because the Raft core asserts on shapes it
// assumes (contiguous entries, valid ids) and a peer's bytes must never reach those asserts.

import { Buffer } from 'node:buffer';
import { nodeId } from '../raft/types.ts';
import type { ConfChange, Entry, LogIndex, Membership, Message, NodeId, SnapshotMeta, Term } from '../raft/types.ts';

/** PROTOCOL_VERSION is sent in the handshake so that an incompatible peer is refused by name, not by a parse error. */
export const PROTOCOL_VERSION = 1;

/** NONCE_BYTES is the size of handshake nonces; 32 random bytes never repeat in practice. */
export const NONCE_BYTES = 32;

/** MAX_CONTEXT_CHARS bounds ReadIndex contexts: they are opaque request ids, never payloads. */
export const MAX_CONTEXT_CHARS = 4096;

/** MAX_MEMBERS bounds each membership array, so a forged snapshot cannot carry a huge one. */
export const MAX_MEMBERS = 1024;

/** MAX_CLUSTER_ID_CHARS bounds the cluster id a stranger may send before it is authenticated. */
export const MAX_CLUSTER_ID_CHARS = 256;

/** DecodeResult is the outcome of decoding untrusted input: a value, or a reason that names the bad field. */
export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** SnapshotChunkHeader is everything of an InstallSnapshot message except the snapshot data; it rides on the first chunk. */
export interface SnapshotChunkHeader {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
  readonly meta: SnapshotMeta;
}

/**
 * Frame is one WebSocket text message between peers. The handshake (`hello`, `auth`, `ok`)
 * comes first; then the dialling side sends `batch`, `snapshotChunk` and `ping`, and the
 * accepting side answers pings with `pong`. See core/transport/README.md.
 */
export type Frame =
  /** Server → client on connect: who the server is, and a fresh nonce the client must MAC. */
  | { readonly kind: 'hello'; readonly version: number; readonly clusterId: string; readonly nodeId: NodeId; readonly nonce: string }
  /** Client → server: who the client is, its own nonce, and its proof of the secret. */
  | { readonly kind: 'auth'; readonly version: number; readonly clusterId: string; readonly nodeId: NodeId; readonly nonce: string; readonly mac: string }
  /** Server → client: the server's proof of the secret; the link is usable after it. */
  | { readonly kind: 'ok'; readonly mac: string }
  /** Client → server: the messages of one send() call for this peer, in order. */
  | { readonly kind: 'batch'; readonly messages: readonly Message[] }
  /** Client → server: one slice of an InstallSnapshot too large for a single frame. */
  | {
      readonly kind: 'snapshotChunk';
      readonly transferId: number;
      readonly seq: number;
      readonly totalBytes: number;
      /** Present on seq 0 only. */
      readonly header: SnapshotChunkHeader | null;
      readonly data: Uint8Array;
    }
  /** Client → server: an RTT probe stamped with the sender's monotonic clock. */
  | { readonly kind: 'ping'; readonly sentAt: number }
  /** Server → client: the ping's stamp, echoed. */
  | { readonly kind: 'pong'; readonly sentAt: number };

/** FrameKind lists the discriminants of Frame. */
export type FrameKind = Frame['kind'];

type InstallSnapshotMessage = Extract<Message, { type: 'InstallSnapshot' }>;

// ---------------------------------------------------------------------------------------------
// Base64.

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** toBase64 encodes bytes without copying them first; it is on the hot path of every command entry. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * fromBase64 decodes canonical base64 or returns null. Buffer's own decoder skips invalid
 * characters silently, so the text is checked first: garbage must be refused, not half-read.
 */
export function fromBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Encoding. Our own Raft produced these values, so encoding trusts them.

function entryToWire(entry: Entry): unknown {
  switch (entry.type) {
    case 'noop':
      return { term: entry.term, index: entry.index, type: 'noop' };
    case 'command':
      return { term: entry.term, index: entry.index, type: 'command', data: toBase64(entry.data) };
    case 'conf':
      return { term: entry.term, index: entry.index, type: 'conf', change: { type: entry.change.type, node: entry.change.node } };
  }
}

function metaToWire(meta: SnapshotMeta): unknown {
  return { index: meta.index, term: meta.term, membership: { voters: meta.membership.voters, learners: meta.membership.learners } };
}

function messageToWire(m: Message): unknown {
  switch (m.type) {
    case 'AppendEntries':
      return { ...m, entries: m.entries.map(entryToWire) };
    case 'InstallSnapshot':
      return { type: m.type, from: m.from, to: m.to, term: m.term, snapshot: { meta: metaToWire(m.snapshot.meta), data: toBase64(m.snapshot.data) } };
    default:
      return m;
  }
}

/**
 * The most recently encoded entries, by identity, in a ring indexed by log index. A leader sends
 * the same Entry objects (taken from its log) to every follower, usually within one drain, so each
 * entry is turned into base64 and JSON once. NB: a small ring, not a cache that lives as long as
 * the entry: the texts die young, so the garbage collector never copies them, and a resend of an
 * older entry (rare) just encodes it again.
 */
const RING = 256;
const ringEntries: (Entry | undefined)[] = new Array<Entry | undefined>(RING).fill(undefined);
const ringTexts: string[] = new Array<string>(RING).fill('');

function encodeEntry(entry: Entry): string {
  const slot = entry.index % RING;
  if (ringEntries[slot] === entry) return ringTexts[slot] as string;
  const text = JSON.stringify(entryToWire(entry));
  ringEntries[slot] = entry;
  ringTexts[slot] = text;
  return text;
}

/** encodeMessage returns one message as JSON text, so the sender can size a batch before building it. */
export function encodeMessage(message: Message): string {
  if (message.type !== 'AppendEntries' || message.entries.length === 0) return JSON.stringify(messageToWire(message));
  const { entries, ...rest } = message;
  const head = JSON.stringify(rest);
  // NB: `head` is a non-empty JSON object; its closing brace makes room for the entries.
  return `${head.slice(0, -1)},"entries":[${entries.map(encodeEntry).join(',')}]}`;
}

/** encodeBatch builds a batch frame from messages already encoded by encodeMessage, without re-encoding them. */
export function encodeBatch(encodedMessages: readonly string[]): string {
  return `{"kind":"batch","messages":[${encodedMessages.join(',')}]}`;
}

/** BATCH_OVERHEAD_BYTES is the size of an empty batch frame; a batch costs this plus its messages and commas. */
export const BATCH_OVERHEAD_BYTES = encodeBatch([]).length;

/** encodeFrame returns a frame as JSON text. */
export function encodeFrame(frame: Frame): string {
  switch (frame.kind) {
    case 'batch':
      return encodeBatch(frame.messages.map(encodeMessage));
    case 'snapshotChunk':
      return JSON.stringify({
        kind: frame.kind,
        transferId: frame.transferId,
        seq: frame.seq,
        totalBytes: frame.totalBytes,
        header: frame.header && { from: frame.header.from, to: frame.header.to, term: frame.header.term, meta: metaToWire(frame.header.meta) },
        data: toBase64(frame.data),
      });
    default:
      return JSON.stringify(frame);
  }
}

/**
 * encodeSnapshotChunks splits an InstallSnapshot into snapshotChunk frames of at most
 * `maxFrameBytes` each, so that a snapshot larger than the peer's frame limit still gets through.
 * It fails only when the limit cannot hold even the header and one byte of data.
 */
export function encodeSnapshotChunks(message: InstallSnapshotMessage, transferId: number, maxFrameBytes: number): DecodeResult<string[]> {
  const data = message.snapshot.data;
  const header: SnapshotChunkHeader = { from: message.from, to: message.to, term: message.term, meta: message.snapshot.meta };
  const totalBytes = data.byteLength;
  // The first frame is the largest apart from its data: size it with an empty slice, then leave
  // room for seq digits and rounding. Base64 spends 4 characters per 3 bytes.
  const emptyFirst = Buffer.byteLength(encodeFrame({ kind: 'snapshotChunk', transferId, seq: 0, totalBytes, header, data: new Uint8Array(0) }));
  const budget = maxFrameBytes - emptyFirst - 32;
  const sliceBytes = Math.floor(budget / 4) * 3;
  if (sliceBytes < 1) return { ok: false, error: `maxFrameBytes ${maxFrameBytes} cannot hold a snapshot chunk header of ${emptyFirst} bytes` };
  const frames: string[] = [];
  for (let offset = 0, seq = 0; offset < totalBytes || seq === 0; offset += sliceBytes, seq++) {
    const slice = data.subarray(offset, Math.min(totalBytes, offset + sliceBytes));
    frames.push(encodeFrame({ kind: 'snapshotChunk', transferId, seq, totalBytes, header: seq === 0 ? header : null, data: slice }));
  }
  return { ok: true, value: frames };
}

// ---------------------------------------------------------------------------------------------
// Decoding. A failed check throws Invalid with the field's path relative to the value being read;
// callers that read an item of a list catch it and prefix the item's position. Paths are thus
// built only on failure, which keeps validation cheap on the hot path. The exported functions
// catch everything, so callers only ever see a DecodeResult.

class Invalid extends Error {
  constructor(
    readonly path: string,
    readonly what: string,
  ) {
    super(`${path}: ${what}`);
  }
}

function fail(path: string, what: string): never {
  throw new Invalid(path, what);
}

/** within re-throws a failure inside a list item with the item's position in front of its path. */
function within(error: unknown, prefix: string): never {
  if (error instanceof Invalid) throw new Invalid(error.path === '' ? prefix : `${prefix}.${error.path}`, error.what);
  throw error;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function record(value: unknown, path: string, keys: ReadonlySet<string>): Record<string, unknown> {
  if (!isRecord(value)) fail(path, `expected an object, got ${describe(value)}`);
  for (const key in value) {
    if (!keys.has(key) && Object.hasOwn(value, key)) fail(path === '' ? key.slice(0, 64) : `${path}.${key.slice(0, 64)}`, 'unexpected field');
  }
  return value;
}

function integer(value: unknown, path: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(path, `expected an integer, got ${describe(value)}`);
  if (value < min) fail(path, `expected an integer >= ${min}, got ${value}`);
  return value;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(path, `expected a non-negative number, got ${describe(value)}`);
  return value;
}

function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, `expected a boolean, got ${describe(value)}`);
  return value;
}

function text(value: unknown, path: string, maxChars: number): string {
  if (typeof value !== 'string') fail(path, `expected a string, got ${describe(value)}`);
  if (value.length > maxChars) fail(path, `longer than ${maxChars} characters`);
  return value;
}

function id(value: unknown, path: string): NodeId {
  if (typeof value !== 'string') fail(path, `expected a node id, got ${describe(value)}`);
  try {
    return nodeId(value);
  } catch {
    return fail(path, 'invalid node id');
  }
}

function bytes(value: unknown, path: string): Uint8Array {
  if (typeof value !== 'string') fail(path, `expected base64 text, got ${describe(value)}`);
  return fromBase64(value) ?? fail(path, 'invalid base64');
}

function fixedBase64(value: unknown, path: string, byteLength: number): string {
  const decoded = bytes(value, path);
  if (decoded.byteLength !== byteLength) fail(path, `expected ${byteLength} bytes, got ${decoded.byteLength}`);
  return value as string;
}

function array(value: unknown, path: string, maxLength: number): readonly unknown[] {
  if (!Array.isArray(value)) fail(path, `expected an array, got ${describe(value)}`);
  if (value.length > maxLength) fail(path, `more than ${maxLength} items`);
  return value;
}

const keys = (...names: string[]): ReadonlySet<string> => new Set(names);
const BASE = ['type', 'from', 'to', 'term'];
const MESSAGE_KEYS: Record<Message['type'], ReadonlySet<string>> = {
  RequestVote: keys(...BASE, 'lastLogIndex', 'lastLogTerm', 'transfer'),
  PreVote: keys(...BASE, 'lastLogIndex', 'lastLogTerm', 'transfer'),
  RequestVoteResponse: keys(...BASE, 'granted'),
  PreVoteResponse: keys(...BASE, 'granted'),
  AppendEntries: keys(...BASE, 'prevLogIndex', 'prevLogTerm', 'entries', 'leaderCommit'),
  AppendEntriesResponse: keys(...BASE, 'success', 'matchIndex', 'rejectHint', 'rejectedIndex'),
  Heartbeat: keys(...BASE, 'commit', 'context'),
  HeartbeatResponse: keys(...BASE, 'context'),
  InstallSnapshot: keys(...BASE, 'snapshot'),
  InstallSnapshotResponse: keys(...BASE, 'matchIndex', 'accepted'),
  TimeoutNow: keys(...BASE),
  ReadIndex: keys(...BASE, 'context'),
  ReadIndexResponse: keys(...BASE, 'context', 'index', 'ok'),
};
const ENTRY_KEYS = { noop: keys('term', 'index', 'type'), command: keys('term', 'index', 'type', 'data'), conf: keys('term', 'index', 'type', 'change') };
const CHANGE_KEYS = keys('type', 'node');
const CHANGE_TYPES: ReadonlySet<string> = new Set<ConfChange['type']>(['addVoter', 'addLearner', 'promoteLearner', 'removeNode']);
const SNAPSHOT_KEYS = keys('meta', 'data');
const META_KEYS = keys('index', 'term', 'membership');
const MEMBERSHIP_KEYS = keys('voters', 'learners');

function members(value: unknown, path: string, seen: Set<NodeId>): NodeId[] {
  const list = array(value, path, MAX_MEMBERS);
  const out: NodeId[] = [];
  for (let i = 0; i < list.length; i++) {
    const member = id(list[i], `${path}[${i}]`);
    if (seen.has(member)) fail(`${path}[${i}]`, `duplicate member ${member}`);
    seen.add(member);
    out.push(member);
  }
  return out;
}

/** readMeta reads snapshot metadata; paths are relative to the meta object. */
function readMeta(value: unknown, messageTerm: Term): SnapshotMeta {
  const o = record(value, '', META_KEYS);
  const index = integer(o.index, 'index');
  const term = integer(o.term, 'term');
  if (term > messageTerm) fail('term', `snapshot term ${term} is after the message term ${messageTerm}`);
  const m = record(o.membership, 'membership', MEMBERSHIP_KEYS);
  const seen = new Set<NodeId>();
  const membership: Membership = { voters: members(m.voters, 'membership.voters', seen), learners: members(m.learners, 'membership.learners', seen) };
  return { index, term, membership };
}

/** readEntry reads one log entry; paths are relative to the entry. */
function readEntry(value: unknown): Entry {
  if (!isRecord(value)) fail('', `expected an object, got ${describe(value)}`);
  const kind = value.type;
  if (kind !== 'noop' && kind !== 'command' && kind !== 'conf') fail('type', 'unknown entry type');
  const o = record(value, '', ENTRY_KEYS[kind]);
  const term = integer(o.term, 'term');
  const index = integer(o.index, 'index', 1);
  switch (kind) {
    case 'noop':
      return { term, index, type: 'noop' };
    case 'command':
      return { term, index, type: 'command', data: bytes(o.data, 'data') };
    case 'conf': {
      const c = record(o.change, 'change', CHANGE_KEYS);
      if (typeof c.type !== 'string' || !CHANGE_TYPES.has(c.type)) fail('change.type', 'unknown conf change type');
      return { term, index, type: 'conf', change: { type: c.type as ConfChange['type'], node: id(c.node, 'change.node') } };
    }
  }
}

/**
 * readEntries checks what the follower's log relies on: indexes contiguous from
 * prevLogIndex + 1, terms never decreasing (Raft's Log Matching property) and never after the
 * leader's term. RaftLog asserts contiguity, so a forged gap would otherwise crash the node.
 */
function readEntries(value: unknown, prevLogIndex: LogIndex, prevLogTerm: Term, messageTerm: Term): Entry[] {
  const list = array(value, 'entries', Number.MAX_SAFE_INTEGER);
  const entries: Entry[] = [];
  let lastTerm = prevLogTerm;
  for (let i = 0; i < list.length; i++) {
    let entry: Entry;
    try {
      entry = readEntry(list[i]);
      if (entry.index !== prevLogIndex + 1 + i) fail('index', `expected ${prevLogIndex + 1 + i}, got ${entry.index}`);
      if (entry.term < lastTerm) fail('term', `term ${entry.term} goes back from ${lastTerm}`);
      if (entry.term > messageTerm) fail('term', `term ${entry.term} is after the message term ${messageTerm}`);
    } catch (error) {
      within(error, `entries[${i}]`);
    }
    lastTerm = entry.term;
    entries.push(entry);
  }
  return entries;
}

function contextOrNull(value: unknown, path: string): string | null {
  return value === null ? null : text(value, path, MAX_CONTEXT_CHARS);
}

/** readMessage reads one Raft message; paths are relative to the message. */
function readMessage(value: unknown): Message {
  if (!isRecord(value)) fail('', `expected an object, got ${describe(value)}`);
  const type = value.type;
  if (typeof type !== 'string' || !Object.hasOwn(MESSAGE_KEYS, type)) fail('type', 'unknown message type');
  const t = type as Message['type'];
  const o = record(value, '', MESSAGE_KEYS[t]);
  const from = id(o.from, 'from');
  const to = id(o.to, 'to');
  if (from === to) fail('to', 'a message to its own sender');
  const term = integer(o.term, 'term');
  switch (t) {
    case 'RequestVote':
    case 'PreVote': {
      const lastLogTerm = integer(o.lastLogTerm, 'lastLogTerm');
      if (lastLogTerm > term) fail('lastLogTerm', `last log term ${lastLogTerm} is after the message term ${term}`);
      return { type: t, from, to, term, lastLogIndex: integer(o.lastLogIndex, 'lastLogIndex'), lastLogTerm, transfer: boolean(o.transfer, 'transfer') };
    }
    case 'RequestVoteResponse':
    case 'PreVoteResponse':
      return { type: t, from, to, term, granted: boolean(o.granted, 'granted') };
    case 'AppendEntries': {
      const prevLogIndex = integer(o.prevLogIndex, 'prevLogIndex');
      const prevLogTerm = integer(o.prevLogTerm, 'prevLogTerm');
      if (prevLogTerm > term) fail('prevLogTerm', `term ${prevLogTerm} is after the message term ${term}`);
      const entries = readEntries(o.entries, prevLogIndex, prevLogTerm, term);
      return { type: t, from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit: integer(o.leaderCommit, 'leaderCommit') };
    }
    case 'AppendEntriesResponse':
      return {
        type: t,
        from,
        to,
        term,
        success: boolean(o.success, 'success'),
        matchIndex: integer(o.matchIndex, 'matchIndex'),
        rejectHint: integer(o.rejectHint, 'rejectHint'),
        // -1 is the core's "stale leader, not a probe rejection" sentinel (raftNode.step).
        rejectedIndex: integer(o.rejectedIndex, 'rejectedIndex', -1),
      };
    case 'Heartbeat':
      return { type: t, from, to, term, commit: integer(o.commit, 'commit'), context: contextOrNull(o.context, 'context') };
    case 'HeartbeatResponse':
      return { type: t, from, to, term, context: contextOrNull(o.context, 'context') };
    case 'InstallSnapshot': {
      const s = record(o.snapshot, 'snapshot', SNAPSHOT_KEYS);
      let meta: SnapshotMeta;
      try {
        meta = readMeta(s.meta, term);
      } catch (error) {
        within(error, 'snapshot.meta');
      }
      return { type: t, from, to, term, snapshot: { meta, data: bytes(s.data, 'snapshot.data') } };
    }
    case 'InstallSnapshotResponse':
      return { type: t, from, to, term, matchIndex: integer(o.matchIndex, 'matchIndex'), accepted: boolean(o.accepted, 'accepted') };
    case 'TimeoutNow':
      return { type: t, from, to, term };
    case 'ReadIndex':
      return { type: t, from, to, term, context: text(o.context, 'context', MAX_CONTEXT_CHARS) };
    case 'ReadIndexResponse':
      return { type: t, from, to, term, context: text(o.context, 'context', MAX_CONTEXT_CHARS), index: integer(o.index, 'index'), ok: boolean(o.ok, 'ok') };
  }
}

function guard<T>(prefix: string, read: () => T): DecodeResult<T> {
  try {
    return { ok: true, value: read() };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, error: `${error.path === '' ? prefix : `${prefix}.${error.path}`}: ${error.what}` };
    return { ok: false, error: `undecodable: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * decodeMessage validates a parsed JSON value as a Raft message and converts its base64
 * payloads back to bytes. It never throws; on failure the error names the offending field.
 */
export function decodeMessage(value: unknown): { ok: true; message: Message } | { ok: false; error: string } {
  const result = guard('message', () => readMessage(value));
  return result.ok ? { ok: true, message: result.value } : result;
}

const FRAME_KEYS: Record<FrameKind, ReadonlySet<string>> = {
  hello: keys('kind', 'version', 'clusterId', 'nodeId', 'nonce'),
  auth: keys('kind', 'version', 'clusterId', 'nodeId', 'nonce', 'mac'),
  ok: keys('kind', 'mac'),
  batch: keys('kind', 'messages'),
  snapshotChunk: keys('kind', 'transferId', 'seq', 'totalBytes', 'header', 'data'),
  ping: keys('kind', 'sentAt'),
  pong: keys('kind', 'sentAt'),
};
const HEADER_KEYS = keys('from', 'to', 'term', 'meta');
const MAC_BYTES = 32;

function readChunkHeader(value: unknown): SnapshotChunkHeader {
  const o = record(value, 'header', HEADER_KEYS);
  const from = id(o.from, 'header.from');
  const to = id(o.to, 'header.to');
  if (from === to) fail('header.to', 'a message to its own sender');
  const term = integer(o.term, 'header.term');
  try {
    return { from, to, term, meta: readMeta(o.meta, term) };
  } catch (error) {
    return within(error, 'header.meta');
  }
}

/** readFrame reads one frame; paths are relative to the frame. */
function readFrame(value: unknown): Frame {
  if (!isRecord(value)) fail('', `expected an object, got ${describe(value)}`);
  const kind = value.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(FRAME_KEYS, kind)) fail('kind', 'unknown frame kind');
  const k = kind as FrameKind;
  const o = record(value, '', FRAME_KEYS[k]);
  switch (k) {
    case 'hello':
      return {
        kind: k,
        version: integer(o.version, 'version', 1),
        clusterId: text(o.clusterId, 'clusterId', MAX_CLUSTER_ID_CHARS),
        nodeId: id(o.nodeId, 'nodeId'),
        nonce: fixedBase64(o.nonce, 'nonce', NONCE_BYTES),
      };
    case 'auth':
      return {
        kind: k,
        version: integer(o.version, 'version', 1),
        clusterId: text(o.clusterId, 'clusterId', MAX_CLUSTER_ID_CHARS),
        nodeId: id(o.nodeId, 'nodeId'),
        nonce: fixedBase64(o.nonce, 'nonce', NONCE_BYTES),
        mac: fixedBase64(o.mac, 'mac', MAC_BYTES),
      };
    case 'ok':
      return { kind: k, mac: fixedBase64(o.mac, 'mac', MAC_BYTES) };
    case 'batch': {
      const list = array(o.messages, 'messages', Number.MAX_SAFE_INTEGER);
      const messages: Message[] = [];
      for (let i = 0; i < list.length; i++) {
        try {
          messages.push(readMessage(list[i]));
        } catch (error) {
          within(error, `messages[${i}]`);
        }
      }
      return { kind: k, messages };
    }
    case 'snapshotChunk': {
      const seq = integer(o.seq, 'seq');
      const header = o.header === null ? null : readChunkHeader(o.header);
      if ((seq === 0) !== (header !== null)) fail('header', seq === 0 ? 'required on the first chunk' : 'only allowed on the first chunk');
      return { kind: k, transferId: integer(o.transferId, 'transferId'), seq, totalBytes: integer(o.totalBytes, 'totalBytes'), header, data: bytes(o.data, 'data') };
    }
    case 'ping':
    case 'pong':
      return { kind: k, sentAt: finite(o.sentAt, 'sentAt') };
  }
}

/**
 * decodeFrame parses and validates one frame's JSON text. It never throws: malformed JSON, an
 * unknown kind, an unexpected field or any invalid message inside a batch gives an error that
 * names the field, and the caller closes the connection.
 */
export function decodeFrame(json: string): DecodeResult<Frame> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { ok: false, error: `invalid JSON: ${error instanceof Error ? error.message.slice(0, 120) : 'parse error'}` };
  }
  return guard('frame', () => readFrame(value));
}
