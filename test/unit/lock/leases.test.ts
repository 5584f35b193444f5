// Unit tests (pure) for LeaseKeeper, the leader's unreplicated keep-alive record: Chubby's grace
// on taking office, exactly-once expiry proposals with retry, and forgetting ended sessions.

import { describe, expect, it } from 'vitest';
import { LeaseKeeper } from '../../../core/lock/leases.ts';
import type { Session } from '../../../core/lock/lockTable.ts';
import { INFO } from './helpers.ts';

const session = (id: string, ttlMs: number): Session => ({ id, ttlMs, info: INFO, openedAt: 0 });

describe('LeaseKeeper', () => {
  it('takeOffice grants every session a full TTL from now, however old its last keep-alive', () => {
    const sessions = [session('s1', 10_000), session('s2', 3_000)];
    const keeper = new LeaseKeeper();
    keeper.renew('s1', 0);
    keeper.renew('s2', 0);
    keeper.takeOffice(sessions, 100_000);
    expect(keeper.ageOf('s1', 100_000)).toBe(0);
    expect(keeper.due(sessions, 103_000)).toEqual([]);
    expect(keeper.due(sessions, 103_001)).toEqual(['s2']);
    expect(keeper.due(sessions, 110_000)).toEqual([]);
    expect(keeper.due(sessions, 110_001)).toEqual(['s1']);
  });

  it('no session expires before its TTL after a leader change, even if the new leader never heard from it', () => {
    const sessions = [session('s1', 5_000)];
    const keeper = new LeaseKeeper();
    keeper.takeOffice(sessions, 50_000);
    for (let now = 50_000; now <= 55_000; now += 500) expect(keeper.due(sessions, now)).toEqual([]);
  });

  it('due returns a session past its TTL exactly once', () => {
    const sessions = [session('s1', 1_000)];
    const keeper = new LeaseKeeper();
    keeper.renew('s1', 0);
    expect(keeper.due(sessions, 1_001)).toEqual(['s1']);
    expect(keeper.due(sessions, 1_002)).toEqual([]);
    expect(keeper.due(sessions, 60_000)).toEqual([]);
  });

  it('a session is due only strictly after its TTL', () => {
    const sessions = [session('s1', 1_000)];
    const keeper = new LeaseKeeper();
    keeper.renew('s1', 0);
    expect(keeper.due(sessions, 1_000)).toEqual([]);
  });

  it('expiryFailed lets the next check propose the expiry again', () => {
    const sessions = [session('s1', 1_000)];
    const keeper = new LeaseKeeper();
    keeper.renew('s1', 0);
    expect(keeper.due(sessions, 2_000)).toEqual(['s1']);
    keeper.expiryFailed('s1');
    expect(keeper.due(sessions, 2_001)).toEqual(['s1']);
    expect(keeper.due(sessions, 2_002)).toEqual([]);
  });

  it('a keep-alive pushes the expiry back by a full TTL', () => {
    const sessions = [session('s1', 1_000)];
    const keeper = new LeaseKeeper();
    keeper.renew('s1', 0);
    keeper.renew('s1', 900);
    expect(keeper.due(sessions, 1_900)).toEqual([]);
    expect(keeper.due(sessions, 1_901)).toEqual(['s1']);
  });

  it('a session seen for the first time by due gets a full TTL from then', () => {
    const keeper = new LeaseKeeper();
    keeper.takeOffice([], 0);
    const sessions = [session('s9', 1_000)];
    expect(keeper.due(sessions, 5_000)).toEqual([]);
    expect(keeper.ageOf('s9', 5_000)).toBe(0);
    expect(keeper.due(sessions, 6_000)).toEqual([]);
    expect(keeper.due(sessions, 6_001)).toEqual(['s9']);
  });

  it('sessions that are gone are forgotten', () => {
    const keeper = new LeaseKeeper();
    keeper.renew('s1', 0);
    keeper.renew('s2', 0);
    keeper.due([session('s2', 1_000)], 10);
    expect(keeper.ageOf('s1', 10)).toBeNull();
    expect(keeper.ageOf('s2', 10)).toBe(10);
  });

  it('a forgotten session that reappears starts with a full TTL, not a stale expiry flag', () => {
    const keeper = new LeaseKeeper();
    const s1 = session('s1', 1_000);
    keeper.renew('s1', 0);
    expect(keeper.due([s1], 2_000)).toEqual(['s1']);
    keeper.due([], 2_001);
    expect(keeper.due([s1], 3_000)).toEqual([]);
    expect(keeper.due([s1], 4_001)).toEqual(['s1']);
  });

  it('takeOffice forgets sessions that no longer exist and pending expiries of the last term', () => {
    const keeper = new LeaseKeeper();
    const s1 = session('s1', 1_000);
    keeper.renew('s1', 0);
    keeper.renew('gone', 0);
    expect(keeper.due([s1, session('gone', 1_000)], 2_000)).toEqual(['s1', 'gone']);
    keeper.takeOffice([s1], 10_000);
    expect(keeper.ageOf('gone', 10_000)).toBeNull();
    expect(keeper.due([s1], 11_001)).toEqual(['s1']);
  });

  it('ageOf is null for an unknown session and never negative', () => {
    const keeper = new LeaseKeeper();
    expect(keeper.ageOf('s1', 0)).toBeNull();
    keeper.renew('s1', 5_000);
    expect(keeper.ageOf('s1', 4_000)).toBe(0);
    expect(keeper.ageOf('s1', 5_250)).toBe(250);
  });
});
