// Unit tests (pure) for the datacenter a session is opened in: carried by the replicated
// session.open entry, decoded strictly, absent in older entries (null in views), kept by
// snapshots, and audited with the open.

import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand } from '../../../core/lock/commands.ts';
import { LockMachine } from '../../../core/lock/lockMachine.ts';
import { sessionViews } from '../../../core/lock/views.ts';
import { Driver, INFO, SNAPSHOT_META } from './helpers.ts';

const stamp = 1_700_000_000_000;
const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

function openIn(d: Driver, datacenter?: string): string {
  const { reply } = d.apply({ op: 'session.open', ttlMs: 10_000, info: INFO, ...(datacenter === undefined ? {} : { datacenter }) });
  return (reply as { sessionId: string }).sessionId;
}

describe('session.open datacenter', () => {
  it('round-trips through the codec, and an entry without it decodes without it', () => {
    const command = { op: 'session.open', stamp, ttlMs: 10_000, info: INFO, owner: 'client', datacenter: 'dc-b' } as const;
    expect(decodeCommand(encodeCommand(command))).toEqual(command);
    expect(decodeCommand(json({ op: 'session.open', stamp, ttlMs: 10_000, info: INFO }))).toEqual({ op: 'session.open', stamp, ttlMs: 10_000, info: INFO });
  });

  it.each([[42], [''], ['x'.repeat(65)], [null], [['dc-a']]])('refuses datacenter %j as an invalid entry', (datacenter) => {
    expect(decodeCommand(json({ op: 'session.open', stamp, ttlMs: 10_000, info: INFO, datacenter }))).toEqual({ op: 'invalid', error: 'session.open: bad datacenter' });
  });

  it('is recorded on the session and in the session.open event; old entries show null', () => {
    const d = new Driver();
    const a = openIn(d, 'dc-a');
    const old = openIn(d);
    expect(sessionViews(d.machine.table, () => null).map((s) => [s.id, s.datacenter])).toEqual([
      [a, 'dc-a'],
      [old, null],
    ]);
    const opens = d.machine.table.events.filter((e) => e.kind === 'session.open');
    expect(opens.map((e) => e.detail.datacenter ?? null)).toEqual(['dc-a', null]);
  });

  it('survives a snapshot and restore', () => {
    const d = new Driver();
    const a = openIn(d, 'dc-c');
    const copy = new LockMachine();
    copy.restore(d.machine.snapshot(), SNAPSHOT_META);
    expect(copy.table.sessions.get(a)?.datacenter).toBe('dc-c');
    expect(sessionViews(copy.table, () => null)[0]?.datacenter).toBe('dc-c');
  });

  it('a snapshot written before the field existed restores with null datacenters', () => {
    const d = new Driver();
    openIn(d);
    const snap = JSON.parse(new TextDecoder().decode(d.machine.snapshot())) as { table: { sessions: Record<string, unknown>[] } };
    expect(Object.keys(snap.table.sessions[0] ?? {})).not.toContain('datacenter');
    const copy = new LockMachine();
    copy.restore(json(snap), SNAPSHOT_META);
    expect(sessionViews(copy.table, () => null)[0]?.datacenter).toBeNull();
  });
});
