// Unit tests (pure) for the replicated command codec: every op survives encode/decode, and a
// malformed payload of any sort decodes to an InvalidCommand naming the problem, never a throw.

import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand } from '../../../core/lock/commands.ts';
import type { Command } from '../../../core/lock/commands.ts';
import { Prng } from '../../../core/util/prng.ts';
import { INFO } from './helpers.ts';

const stamp = 1_700_000_000_123;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const json = (value: unknown): Uint8Array => utf8(JSON.stringify(value));

const everyOp: Command[] = [
  { op: 'kv.put', stamp, key: '/config/billing/db.url', value: 'pg://db:5432/é', expectRevision: null, session: null },
  { op: 'kv.put', stamp, key: '/svc/leader', value: '', expectRevision: 0, session: 's1' },
  { op: 'kv.delete', stamp, key: '/a', expectRevision: null },
  { op: 'kv.delete', stamp, key: '/a', expectRevision: 17 },
  { op: 'session.open', stamp, ttlMs: 10_000, info: INFO },
  { op: 'session.close', stamp, sessionId: 's1', actor: null, reason: null },
  { op: 'session.close', stamp, sessionId: 's1', actor: 'admin:bob', reason: 'decommissioned' },
  { op: 'session.expire', stamp, sessionId: 's1' },
  { op: 'lock.acquire', stamp, sessionId: 's1', name: 'svc/db', mode: 'exclusive', waitMs: 0, lockDelayMs: null },
  { op: 'lock.acquire', stamp, sessionId: 's1', name: 'svc/db', mode: 'shared', waitMs: 5_000, lockDelayMs: 0 },
  { op: 'lock.release', stamp, sessionId: 's1', name: 'svc/db' },
  { op: 'lock.forceRelease', stamp, name: 'svc/db', reason: 'holder hung', actor: 'admin:alice' },
  { op: 'clock', stamp },
  { op: 'settings.set', stamp, actor: 'admin:alice', patch: { lockDelayMs: 0, stuckAfterByPrefix: { 'batch/': 3_600_000 } } },
];

describe('encode/decode round trip', () => {
  it.each(everyOp.map((c, i) => [`${c.op} (#${i})`, c] as const))('%s decodes to the command that was encoded', (_name, command) => {
    expect(decodeCommand(encodeCommand(command))).toEqual(command);
  });

  it('the list above covers every op', () => {
    expect(new Set(everyOp.map((c) => c.op))).toEqual(
      new Set(['kv.put', 'kv.delete', 'session.open', 'session.close', 'session.expire', 'lock.acquire', 'lock.release', 'lock.forceRelease', 'clock', 'settings.set']),
    );
  });

  it('the encoding is UTF-8 JSON', () => {
    const command: Command = { op: 'clock', stamp: 5 };
    expect(new TextDecoder().decode(encodeCommand(command))).toBe('{"op":"clock","stamp":5}');
  });

  it('decoding keeps only the known fields', () => {
    const decoded = decodeCommand(json({ op: 'session.expire', stamp, sessionId: 's1', extra: 'x', info: { host: 'h', pid: 1, app: 'a', label: 'l', more: 1 } }));
    expect(decoded).toEqual({ op: 'session.expire', stamp, sessionId: 's1' });
  });

  it('session info keeps only its four fields', () => {
    const decoded = decodeCommand(json({ op: 'session.open', stamp, ttlMs: 1_000, info: { ...INFO, secret: 'x' } }));
    expect(decoded).toEqual({ op: 'session.open', stamp, ttlMs: 1_000, info: INFO });
  });
});

describe('strict decoding', () => {
  const base = new Map<string, Command>(everyOp.map((c) => [c.op, c]));
  const mutate = (op: Command['op'], change: Record<string, unknown>): Uint8Array => json({ ...base.get(op), ...change });

  it.each([
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['empty bytes', new Uint8Array(0)],
    ['text that is not JSON', utf8('op=clock')],
    ['truncated JSON', utf8('{"op":"clock","stamp":1')],
    ['JSON null', utf8('null')],
    ['a JSON number', utf8('42')],
    ['a JSON string', utf8('"clock"')],
    ['a JSON array', utf8('[{"op":"clock","stamp":1}]')],
  ])('%s is invalid', (_what, data) => {
    expect(decodeCommand(data)).toMatchObject({ op: 'invalid' });
  });

  it.each([
    ['missing stamp', json({ op: 'clock' })],
    ['a string stamp', json({ op: 'clock', stamp: '1' })],
    ['a null stamp', json({ op: 'clock', stamp: null })],
  ])('a command with %s is invalid', (_what, data) => {
    expect(decodeCommand(data)).toEqual({ op: 'invalid', error: 'missing stamp' });
  });

  it.each([
    ['missing op', json({ stamp })],
    ['an unknown op', json({ op: 'lock.steal', stamp })],
    ['a non-string op', json({ op: 7, stamp })],
  ])('a command with %s is invalid and says which op', (_what, data) => {
    expect(decodeCommand(data)).toMatchObject({ op: 'invalid', error: expect.stringMatching(/^unknown op/) });
  });

  it.each([
    ['kv.put', { key: undefined }],
    ['kv.put', { value: 5 }],
    ['kv.put', { value: null }],
    ['kv.put', { session: 3 }],
    ['kv.put', { session: undefined }],
    ['kv.put', { expectRevision: -1 }],
    ['kv.put', { expectRevision: 1.5 }],
    ['kv.put', { expectRevision: '3' }],
    ['kv.put', { expectRevision: undefined }],
    ['kv.delete', { key: ['/a'] }],
    ['kv.delete', { expectRevision: -2 }],
    ['session.open', { ttlMs: 1_000.5 }],
    ['session.open', { ttlMs: '1000' }],
    ['session.open', { info: null }],
    ['session.open', { info: 'host-a' }],
    ['session.open', { info: { host: 'h', pid: '1', app: 'a', label: 'l' } }],
    ['session.open', { info: { host: 'h', pid: 1, app: 'a' } }],
    ['session.close', { sessionId: undefined }],
    ['session.close', { actor: undefined }],
    ['session.close', { reason: 5 }],
    ['session.expire', { sessionId: 12 }],
    ['lock.acquire', { mode: 'read' }],
    ['lock.acquire', { mode: undefined }],
    ['lock.acquire', { name: null }],
    ['lock.acquire', { waitMs: 0.5 }],
    ['lock.acquire', { waitMs: null }],
    ['lock.acquire', { waitMs: 2 ** 60 }],
    ['lock.acquire', { lockDelayMs: -1 }],
    ['lock.acquire', { lockDelayMs: undefined }],
    ['lock.release', { name: undefined }],
    ['lock.release', { sessionId: null }],
    ['lock.forceRelease', { reason: undefined }],
    ['lock.forceRelease', { actor: null }],
    ['lock.forceRelease', { name: 1 }],
    ['settings.set', { actor: undefined }],
    ['settings.set', { patch: null }],
    ['settings.set', { patch: [1, 2] }],
    ['settings.set', { patch: 'lockDelayMs=0' }],
  ] as const)('%s with %j is invalid and names the op', (op, change) => {
    const decoded = decodeCommand(mutate(op, change));
    expect(decoded).toMatchObject({ op: 'invalid', error: expect.stringContaining(`${op}:`) });
  });

  it('random bytes never make decoding throw', () => {
    const prng = new Prng(0x1c0de);
    for (let i = 0; i < 500; i++) {
      const bytes = new Uint8Array(prng.int(40));
      for (let j = 0; j < bytes.length; j++) bytes[j] = prng.int(256);
      expect(() => decodeCommand(bytes)).not.toThrow();
    }
  });

  it('mangled valid commands never make decoding throw', () => {
    const prng = new Prng(0xbad);
    for (let i = 0; i < 500; i++) {
      const text = JSON.stringify(prng.pick(everyOp));
      const at = prng.int(text.length);
      const mangled = text.slice(0, at) + prng.pick(['', '0', '"', '{', '}', 'null', '[]', '-1']) + text.slice(at + prng.int(4));
      expect(() => decodeCommand(utf8(mangled))).not.toThrow();
    }
  });
});
