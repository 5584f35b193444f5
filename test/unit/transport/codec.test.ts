// Unit tests (pure) for the peer codec: every message kind survives a round trip with its
// binary payloads, and malformed input of every sort gives an error string, never a throw.

import { describe, expect, it } from 'vitest';
import { nodeId } from '../../../core/raft/types.ts';
import type { Entry, Message } from '../../../core/raft/types.ts';
import { decodeFrame, decodeMessage, encodeBatch, encodeFrame, encodeMessage, encodeSnapshotChunks, fromBase64, toBase64 } from '../../../core/transport/codec.ts';
import type { Frame } from '../../../core/transport/codec.ts';
import { SnapshotAssembler } from '../../../core/transport/snapshotAssembler.ts';

const a = nodeId('n1');
const b = nodeId('dc-2.node_3');
const base = { from: a, to: b, term: 7 };
const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

const everyKind: Message[] = [
  { ...base, type: 'RequestVote', lastLogIndex: 10, lastLogTerm: 6, transfer: false },
  { ...base, type: 'PreVote', lastLogIndex: 0, lastLogTerm: 0, transfer: true },
  { ...base, type: 'RequestVoteResponse', granted: true },
  { ...base, type: 'PreVoteResponse', granted: false },
  {
    ...base,
    type: 'AppendEntries',
    prevLogIndex: 4,
    prevLogTerm: 5,
    entries: [
      { term: 5, index: 5, type: 'noop' },
      { term: 6, index: 6, type: 'command', data: bytes(0, 1, 2, 254, 255) },
      { term: 6, index: 7, type: 'command', data: new Uint8Array(0) },
      { term: 7, index: 8, type: 'conf', change: { type: 'addVoter', node: nodeId('n4') } },
      { term: 7, index: 9, type: 'conf', change: { type: 'addLearner', node: nodeId('n5') } },
      { term: 7, index: 10, type: 'conf', change: { type: 'promoteLearner', node: nodeId('n5') } },
      { term: 7, index: 11, type: 'conf', change: { type: 'removeNode', node: nodeId('n4') } },
    ],
    leaderCommit: 9,
  },
  { ...base, type: 'AppendEntries', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 },
  { ...base, type: 'AppendEntriesResponse', success: true, matchIndex: 11, rejectHint: 0, rejectedIndex: 0 },
  { ...base, type: 'AppendEntriesResponse', success: false, matchIndex: 0, rejectHint: 0, rejectedIndex: -1 },
  { ...base, type: 'Heartbeat', commit: 3, context: null },
  { ...base, type: 'Heartbeat', commit: 3, context: 'n1/42' },
  { ...base, type: 'HeartbeatResponse', context: 'n1/42' },
  { ...base, type: 'HeartbeatResponse', context: null },
  {
    ...base,
    type: 'InstallSnapshot',
    snapshot: { meta: { index: 100, term: 6, membership: { voters: [a, b, nodeId('n3')], learners: [nodeId('n9')] } }, data: bytes(9, 8, 7, 0, 128) },
  },
  { ...base, type: 'InstallSnapshotResponse', matchIndex: 100, accepted: true },
  { ...base, type: 'TimeoutNow' },
  { ...base, type: 'ReadIndex', context: 'ctx-é-1' },
  { ...base, type: 'ReadIndexResponse', context: 'ctx', index: 12, ok: true },
];

function roundTrip(m: Message): Message {
  const decoded = decodeMessage(JSON.parse(encodeMessage(m)));
  if (!decoded.ok) throw new Error(decoded.error);
  return decoded.message;
}

/** wire returns a message's JSON value so that tests can corrupt one field at a time. */
function wire(m: Message): Record<string, unknown> {
  return JSON.parse(encodeMessage(m)) as Record<string, unknown>;
}

function rejects(value: unknown, pattern: RegExp): void {
  const decoded = decodeMessage(value);
  expect(decoded.ok).toBe(false);
  if (!decoded.ok) expect(decoded.error).toMatch(pattern);
}

const appendEntries = everyKind[4] as Message;

describe('codec round trip', () => {
  it('covers every message kind', () => {
    const kinds = new Set(everyKind.map((m) => m.type));
    expect(kinds.size).toBe(13);
  });

  for (const m of everyKind) {
    it(`round-trips ${m.type}`, () => {
      expect(roundTrip(m)).toEqual(m);
    });
  }

  it('round-trips a command payload of every byte value, from an offset view', () => {
    const backing = new Uint8Array(300);
    for (let i = 0; i < backing.length; i++) backing[i] = i % 256;
    const view = backing.subarray(20, 290);
    const m: Message = { ...base, type: 'AppendEntries', prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, index: 1, type: 'command', data: view }], leaderCommit: 0 };
    const out = roundTrip(m);
    expect(out.type === 'AppendEntries' && out.entries[0]?.type === 'command' && Array.from(out.entries[0].data)).toEqual(Array.from(view));
  });

  it('encodes entries shared by several AppendEntries once, and each message decodes whole', () => {
    const entries: Entry[] = [
      { term: 2, index: 5, type: 'command', data: new TextEncoder().encode('{"op":"clock","stamp":1}') },
      { term: 2, index: 6, type: 'noop' },
    ];
    const toB: Message = { ...base, type: 'AppendEntries', prevLogIndex: 4, prevLogTerm: 2, entries, leaderCommit: 4 };
    const toC: Message = { ...toB, to: nodeId('n3'), leaderCommit: 5 };
    const textB = encodeMessage(toB);
    const textC = encodeMessage(toC);
    expect(textB.slice(textB.indexOf('"entries"'))).toBe(textC.slice(textC.indexOf('"entries"')));
    expect(roundTrip(toB)).toEqual(toB);
    expect(roundTrip(toC)).toEqual(toC);
  });

  it('encodes a new entry object at an index it encoded before as itself, however the indexes fall in the cache', () => {
    // A new leader replaces a follower's uncommitted tail: index 7 then holds another entry. And
    // entries 256 apart share a slot of the encoder's cache; neither may be sent as the other.
    const clock = (stamp: number): Uint8Array => new TextEncoder().encode(`{"op":"clock","stamp":${stamp}}`);
    const send = (entry: Entry): Message => ({ ...base, type: 'AppendEntries', prevLogIndex: entry.index - 1, prevLogTerm: 1, entries: [entry], leaderCommit: 0 });
    const sequence: Entry[] = [
      { term: 1, index: 7, type: 'command', data: clock(1) },
      { term: 2, index: 7, type: 'command', data: clock(2) },
      { term: 2, index: 7 + 256, type: 'command', data: clock(3) },
      { term: 2, index: 7, type: 'noop' },
      { term: 3, index: 7 + 512, type: 'conf', change: { type: 'addLearner', node: nodeId('n4') } },
    ];
    for (let round = 0; round < 2; round++) {
      for (const entry of sequence) expect(roundTrip(send(entry))).toEqual(send(entry));
    }
  });

  it('round-trips a batch frame and every envelope kind', () => {
    const nonce = toBase64(new Uint8Array(32).fill(1));
    const mac = toBase64(new Uint8Array(32).fill(2));
    const frames: Frame[] = [
      { kind: 'hello', version: 1, clusterId: 'prod|eu', nodeId: a, nonce },
      { kind: 'auth', version: 1, clusterId: 'prod|eu', nodeId: b, nonce, mac },
      { kind: 'ok', mac },
      { kind: 'batch', messages: everyKind },
      { kind: 'ping', sentAt: 1234.5678 },
      { kind: 'pong', sentAt: 0 },
    ];
    for (const frame of frames) {
      const decoded = decodeFrame(encodeFrame(frame));
      expect(decoded).toEqual({ ok: true, value: frame });
    }
    expect(decodeFrame(encodeBatch(everyKind.map(encodeMessage)))).toEqual({ ok: true, value: { kind: 'batch', messages: everyKind } });
  });

  it('splits a large snapshot into chunks under the limit and reassembles it', () => {
    const data = new Uint8Array(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    const m = everyKind.find((x) => x.type === 'InstallSnapshot') as Extract<Message, { type: 'InstallSnapshot' }>;
    const big = { ...m, snapshot: { ...m.snapshot, data } };
    const chunks = encodeSnapshotChunks(big, 5, 64 * 1024);
    if (!chunks.ok) throw new Error(chunks.error);
    expect(chunks.value.length).toBeGreaterThan(5);
    const assembler = new SnapshotAssembler(1024 * 1024);
    let result: ReturnType<SnapshotAssembler['add']> | undefined;
    for (const text of chunks.value) {
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(64 * 1024);
      const frame = decodeFrame(text);
      if (!frame.ok || frame.value.kind !== 'snapshotChunk') throw new Error('not a chunk');
      result = assembler.add(frame.value);
    }
    expect(result?.status).toBe('done');
    if (result?.status !== 'done') return;
    // Compare bytes natively: an element-wise toEqual over 300 kB is needlessly slow.
    expect(Buffer.compare(result.message.snapshot.data, data)).toBe(0);
    expect({ ...result.message, snapshot: { ...result.message.snapshot, data: null } }).toEqual({ ...big, snapshot: { ...big.snapshot, data: null } });
  });

  it('refuses chunks out of order and snapshots over the bound', () => {
    const m = everyKind.find((x) => x.type === 'InstallSnapshot') as Extract<Message, { type: 'InstallSnapshot' }>;
    const big = { ...m, snapshot: { ...m.snapshot, data: new Uint8Array(50_000) } };
    const chunks = encodeSnapshotChunks(big, 1, 8192);
    if (!chunks.ok) throw new Error(chunks.error);
    const frames = chunks.value.map((t) => decodeFrame(t)).map((f) => (f.ok && f.value.kind === 'snapshotChunk' ? f.value : null));
    const [first, , third] = frames;
    if (!first || !third) throw new Error('missing chunks');
    const gap = new SnapshotAssembler(1 << 20);
    expect(gap.add(first).status).toBe('partial');
    expect(gap.add(third)).toEqual({ status: 'error', error: 'unexpected snapshot chunk 1/2' });
    const small = new SnapshotAssembler(1000);
    expect(small.add(first)).toMatchObject({ status: 'error', error: expect.stringMatching(/exceeds the limit/) });
  });
});

describe('codec rejects malformed input', () => {
  const cases: [string, unknown, RegExp][] = [
    ['null', null, /expected an object, got null/],
    ['an array', [], /expected an object, got an array/],
    ['a string', 'AppendEntries', /expected an object, got string/],
    ['an unknown type', { ...wire(everyKind[2] as Message), type: 'Gossip' }, /message\.type: unknown message type/],
    ['a prototype key as type', { ...wire(everyKind[2] as Message), type: 'constructor' }, /unknown message type/],
    ['a missing field', (({ granted: _g, ...rest }) => rest)(wire(everyKind[2] as Message)), /message\.granted: expected a boolean, got undefined/],
    ['an extra field', { ...wire(everyKind[2] as Message), extra: 1 }, /message\.extra: unexpected field/],
    ['a string term', { ...wire(everyKind[2] as Message), term: '7' }, /message\.term: expected an integer, got string/],
    ['a fractional term', { ...wire(everyKind[2] as Message), term: 1.5 }, /message\.term: expected an integer/],
    ['a negative term', { ...wire(everyKind[2] as Message), term: -1 }, /message\.term: expected an integer >= 0/],
    ['an unsafe integer', { ...wire(everyKind[2] as Message), term: 2 ** 60 }, /message\.term: expected an integer/],
    ['a negative index', { ...wire(everyKind[0] as Message), lastLogIndex: -3 }, /message\.lastLogIndex: expected an integer >= 0/],
    ['rejectedIndex below the sentinel', { ...wire(everyKind[7] as Message), rejectedIndex: -2 }, /message\.rejectedIndex: expected an integer >= -1/],
    ['a bad node id', { ...wire(everyKind[2] as Message), from: 'bad id!' }, /message\.from: invalid node id/],
    ['an empty node id', { ...wire(everyKind[2] as Message), to: '' }, /message\.to: invalid node id/],
    ['a numeric node id', { ...wire(everyKind[2] as Message), to: 5 }, /message\.to: expected a node id, got number/],
    ['a message to its sender', { ...wire(everyKind[2] as Message), to: 'n1' }, /message\.to: a message to its own sender/],
    ['a boolean as number', { ...wire(everyKind[0] as Message), transfer: 0 }, /message\.transfer: expected a boolean/],
    ['a last log term after the term', { ...wire(everyKind[0] as Message), lastLogTerm: 8 }, /lastLogTerm: last log term 8 is after/],
    ['entries that are not an array', { ...wire(appendEntries), entries: {} }, /message\.entries: expected an array, got an object/],
    ['an unknown entry type', { ...wire(appendEntries), entries: [{ term: 5, index: 5, type: 'blob' }] }, /entries\[0\]\.type: unknown entry type/],
    ['a gap in entries', { ...wire(appendEntries), entries: [{ term: 5, index: 6, type: 'noop' }] }, /entries\[0\]\.index: expected 5, got 6/],
    ['entry terms going back', { ...wire(appendEntries), entries: [{ term: 6, index: 5, type: 'noop' }, { term: 5, index: 6, type: 'noop' }] }, /entries\[1\]\.term: term 5 goes back from 6/],
    ['an entry term after the message term', { ...wire(appendEntries), entries: [{ term: 8, index: 5, type: 'noop' }] }, /entries\[0\]\.term: term 8 is after/],
    ['a command without data', { ...wire(appendEntries), entries: [{ term: 5, index: 5, type: 'command' }] }, /entries\[0\]\.data: expected base64 text, got undefined/],
    ['bad base64', { ...wire(appendEntries), entries: [{ term: 5, index: 5, type: 'command', data: 'abc$' }] }, /entries\[0\]\.data: invalid base64/],
    ['unpadded base64', { ...wire(appendEntries), entries: [{ term: 5, index: 5, type: 'command', data: 'abc' }] }, /invalid base64/],
    ['an unknown conf change', { ...wire(appendEntries), entries: [{ term: 5, index: 5, type: 'conf', change: { type: 'nuke', node: 'n2' } }] }, /change\.type: unknown conf change type/],
    ['a conf change with a bad node', { ...wire(appendEntries), entries: [{ term: 5, index: 5, type: 'conf', change: { type: 'addVoter', node: '../x' } }] }, /change\.node: invalid node id/],
    ['a null context on ReadIndex', { ...wire(everyKind[15] as Message), context: null }, /message\.context: expected a string, got null/],
    ['a huge context', { ...wire(everyKind[15] as Message), context: 'x'.repeat(5000) }, /message\.context: longer than 4096/],
    ['a duplicate member', (() => {
      const w = wire(everyKind[12] as Message);
      return { ...w, snapshot: { meta: { index: 1, term: 1, membership: { voters: ['n1', 'n2'], learners: ['n2'] } }, data: '' } };
    })(), /membership\.learners\[0\]: duplicate member n2/],
    ['a membership that is not arrays', (() => {
      const w = wire(everyKind[12] as Message);
      return { ...w, snapshot: { meta: { index: 1, term: 1, membership: { voters: 'n1', learners: [] } }, data: '' } };
    })(), /membership\.voters: expected an array, got string/],
    ['a snapshot with extra nesting', (() => {
      const w = wire(everyKind[12] as Message);
      return { ...w, snapshot: { meta: { index: 1, term: 1, membership: { voters: [['n1']], learners: [] } }, data: '' } };
    })(), /membership\.voters\[0\]: expected a node id, got an array/],
  ];
  for (const [name, value, pattern] of cases) {
    it(`rejects ${name}`, () => rejects(value, pattern));
  }

  it('rejects huge nesting without a throw', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = { entries: [deep] };
    rejects({ ...wire(appendEntries), entries: [deep] }, /entries\[0\]\.type: unknown entry type/);
    const text = `{"kind":"batch","messages":[${'['.repeat(200_000)}${']'.repeat(200_000)}]}`;
    const frame = decodeFrame(text);
    expect(frame.ok).toBe(false);
    const unterminated = decodeFrame('['.repeat(1_000_000));
    expect(unterminated.ok).toBe(false);
  });

  it('rejects malformed frames with an error string', () => {
    const cases: [string, RegExp][] = [
      ['not json', /invalid JSON/],
      ['', /invalid JSON/],
      ['42', /frame: expected an object, got number/],
      ['{"kind":"gossip"}', /frame\.kind: unknown frame kind/],
      ['{"kind":"ping"}', /frame\.sentAt: expected a non-negative number/],
      ['{"kind":"ping","sentAt":1,"x":2}', /frame\.x: unexpected field/],
      ['{"kind":"batch","messages":[{"type":"TimeoutNow"}]}', /frame\.messages\[0\]\.from: expected a node id/],
      ['{"kind":"hello","version":1,"clusterId":"c","nodeId":"n1","nonce":"AAAA"}', /frame\.nonce: expected 32 bytes, got 3/],
      ['{"kind":"ok","mac":17}', /frame\.mac: expected base64 text/],
      ['{"kind":"snapshotChunk","transferId":1,"seq":0,"totalBytes":3,"header":null,"data":"AAAA"}', /frame\.header: required on the first chunk/],
      ['{"kind":"__proto__"}', /unknown frame kind/],
    ];
    for (const [text, pattern] of cases) {
      const decoded = decodeFrame(text);
      expect(decoded.ok, text).toBe(false);
      if (!decoded.ok) expect(decoded.error).toMatch(pattern);
    }
    // Later chunks carry no header.
    expect(decodeFrame('{"kind":"snapshotChunk","transferId":1,"seq":1,"totalBytes":3,"header":null,"data":"AAAA"}').ok).toBe(true);
  });

  it('never throws on arbitrary values', () => {
    const values: unknown[] = [undefined, 0, NaN, true, Symbol('s'), () => 1, new Date(0), Object.create(null), { type: 'AppendEntries', from: 'n1', to: 'n2', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: null, leaderCommit: 0 }];
    for (const value of values) expect(decodeMessage(value).ok).toBe(false);
  });

  it('base64 helpers are strict', () => {
    expect(fromBase64('AAE=')).toEqual(bytes(0, 1));
    expect(fromBase64('')).toEqual(new Uint8Array(0));
    expect(fromBase64('AA E=')).toBeNull();
    expect(fromBase64('AAE')).toBeNull();
    expect(toBase64(bytes(0, 1))).toBe('AAE=');
  });
});
