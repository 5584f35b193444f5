// Unit tests (pure) for LockMachine as a replicated state machine: bad payloads are harmless
// no-ops, time is max(previous, stamp), snapshots round-trip byte for byte, replicas fed the same
// log agree, and a seeded random workload keeps lock safety and token order at every step.

import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../../core/lock/commands.ts';
import type { Command, LockMode } from '../../../core/lock/commands.ts';
import type { ApplyResult } from '../../../core/lock/lockMachine.ts';
import { LockMachine, utf8Length } from '../../../core/lock/lockMachine.ts';
import { Prng } from '../../../core/util/prng.ts';
import { Driver, INFO, SNAPSHOT_META, T0, code } from './helpers.ts';
import type { Unstamped } from './helpers.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** restored returns a fresh machine restored from `machine`'s snapshot. */
function restored(machine: LockMachine): LockMachine {
  const copy = new LockMachine();
  copy.restore(machine.snapshot(), SNAPSHOT_META);
  return copy;
}

describe('invalid payloads', () => {
  function busy(): Driver {
    const d = new Driver();
    const a = d.open();
    d.acquire(a, 'db');
    d.put('/cfg/a', '1');
    return d;
  }

  it.each([
    ['bytes that are not UTF-8', new Uint8Array([0xc3, 0x28])],
    ['text that is not JSON', utf8('hello')],
    ['an empty payload', new Uint8Array(0)],
    ['JSON that is not an object', utf8('[1,2,3]')],
    ['an unknown op', utf8(`{"op":"lock.steal","stamp":${T0 + 1}}`)],
    ['a missing stamp', utf8('{"op":"clock"}')],
    ['a kv.put without a value', utf8(`{"op":"kv.put","stamp":${T0 + 1},"key":"/a","expectRevision":null,"session":null}`)],
    ['a lock.acquire without a mode', utf8(`{"op":"lock.acquire","stamp":${T0 + 1},"sessionId":"s1","name":"x","waitMs":0,"lockDelayMs":null}`)],
    ['a session.open without info', utf8(`{"op":"session.open","stamp":${T0 + 1},"ttlMs":1000}`)],
  ])('%s applies as InvalidCommand without throwing or changing state', (_what, data) => {
    const d = busy();
    const before = d.snapshotText();
    const result = d.raw(data);
    expect(result.reply).toMatchObject({ ok: false, code: 'InvalidCommand', message: expect.any(String) });
    expect(result.events).toEqual([]);
    expect(result.notices).toEqual([]);
    expect(d.snapshotText()).toBe(before);
  });

  it('an invalid payload with a later stamp does not move time', () => {
    const d = busy();
    d.raw(utf8(`{"op":"lock.steal","stamp":${T0 + 60_000}}`));
    expect(d.machine.now).toBe(T0);
  });

  it('the machine keeps working after an invalid payload', () => {
    const d = busy();
    d.raw(utf8('garbage'));
    expect(code(d.put('/cfg/b', '2').reply)).toBe('ok');
  });
});

describe('replicated time', () => {
  it('time is the largest stamp applied so far', () => {
    const d = new Driver();
    expect(d.machine.now).toBe(0);
    d.apply({ op: 'clock' }, 5_000);
    expect(d.machine.now).toBe(5_000);
    d.apply({ op: 'clock' }, 7_000);
    expect(d.machine.now).toBe(7_000);
  });

  it('a smaller stamp does not move time backwards', () => {
    const d = new Driver();
    d.apply({ op: 'clock' }, 5_000);
    d.apply({ op: 'clock' }, 3_000);
    expect(d.machine.now).toBe(5_000);
  });

  it('time rules use the replicated time, not a late stamp', () => {
    const d = new Driver();
    const [a, b] = [d.open(), d.open()] as [string, string];
    d.acquire(a, 'db');
    d.apply({ op: 'session.expire', sessionId: a }, T0 + 20_000);
    const late = d.apply({ op: 'lock.acquire', sessionId: b, name: 'db', mode: 'exclusive', waitMs: 0, lockDelayMs: null }, T0);
    expect(late.reply).toMatchObject({ code: 'WouldBlock', delayLeftMs: 10_000 });
    const c = d.apply({ op: 'session.open', ttlMs: 1_000, info: INFO }, T0 + 1);
    expect(c.reply.ok && 'kind' in c.reply && c.reply.kind === 'session' ? d.machine.table.sessions.get(c.reply.sessionId)?.openedAt : null).toBe(T0 + 20_000);
  });

  it('a stamp that is not an integer still applies', () => {
    const d = new Driver();
    d.apply({ op: 'clock' }, T0 + 0.5);
    expect(d.machine.now).toBe(T0 + 0.5);
  });
});

describe('configuration writes through the machine', () => {
  it('kv.put returns the revision and the watch event', () => {
    const d = new Driver();
    d.put('/cfg/a', '1');
    const result = d.put('/cfg/a', '2');
    expect(result.reply).toMatchObject({ ok: true, revision: 2 });
    expect(result.events).toEqual([{ type: 'put', key: '/cfg/a', value: '2', revision: 2, prevValue: '1' }]);
  });

  it('kv.delete returns the watch event; a missing key is NotFound with no event', () => {
    const d = new Driver();
    d.put('/cfg/a', '1');
    expect(d.apply({ op: 'kv.delete', key: '/cfg/a', expectRevision: null }).events).toEqual([{ type: 'delete', key: '/cfg/a', value: null, revision: 2, prevValue: '1' }]);
    const missing = d.apply({ op: 'kv.delete', key: '/cfg/a', expectRevision: null });
    expect(code(missing.reply)).toBe('NotFound');
    expect(missing.events).toEqual([]);
  });

  it('a CAS conflict produces no watch event', () => {
    const d = new Driver();
    d.put('/cfg/a', '1');
    const result = d.put('/cfg/a', '2', { expectRevision: 0 });
    expect(code(result.reply)).toBe('CasConflict');
    expect(result.events).toEqual([]);
  });

  it.each([['config/a'], ['/a/'], ['']])('kv.put and kv.delete of the invalid key %j are InvalidArgument', (key) => {
    const d = new Driver();
    expect(code(d.put(key, 'v').reply)).toBe('InvalidArgument');
    expect(code(d.apply({ op: 'kv.delete', key, expectRevision: null }).reply)).toBe('InvalidArgument');
    expect(d.machine.kv.revision).toBe(0);
  });

  it('a value over maxValueBytes, counted in UTF-8, is TooLarge', () => {
    const d = new Driver();
    d.settings({ maxValueBytes: 10 });
    expect(code(d.put('/a', 'x'.repeat(10)).reply)).toBe('ok');
    expect(code(d.put('/a', 'x'.repeat(11)).reply)).toBe('TooLarge');
    expect(code(d.put('/a', 'é'.repeat(5)).reply)).toBe('ok');
    expect(code(d.put('/a', 'é'.repeat(6)).reply)).toBe('TooLarge');
    expect(code(d.put('/a', '😀😀😀').reply)).toBe('TooLarge');
  });

  it('the default value limit is 64 KiB', () => {
    const d = new Driver();
    expect(code(d.put('/a', 'x'.repeat(64 * 1024)).reply)).toBe('ok');
    expect(code(d.put('/a', 'x'.repeat(64 * 1024 + 1)).reply)).toBe('TooLarge');
  });

  it.each([['plain ASCII'], ['é and ü'], ['中文'], ['😀 emoji'], ['\u07ff\u0800\uffff']])('utf8Length of %j matches TextEncoder', (text) => {
    expect(utf8Length(text)).toBe(utf8(text).length);
  });

  it('utf8Length counts a lone high surrogate as TextEncoder does', () => {
    expect(utf8Length('\uD800\u0800')).toBe(utf8('\uD800\u0800').length);
  });
});

describe('snapshot and restore', () => {
  /** rich builds a machine with something of everything in it; `b` waits on "db" with no deadline. */
  function rich(): { d: Driver; a: string; b: string; c: string; e: string } {
    const d = new Driver();
    d.settings({ lockDelayMs: 2_000, stuckAfterByPrefix: { 'batch/': 3_600_000 }, timeoutProfile: 'wan' }, 'admin:alice');
    const [a, b, c, e] = [d.open(5_000), d.open(8_000), d.open(), d.open()] as [string, string, string, string];
    d.put('/cfg/billing/db.url', 'pg://db');
    d.put('/svc/billing/leader', 'host-a', { session: a });
    d.put('/cfg/billing/db.url', 'pg://db2', { expectRevision: 1 });
    d.advance(100).acquire(a, 'db', { lockDelayMs: 500 });
    d.advance(100).acquire(b, 'db', { waitMs: 60_000 });
    d.acquire(c, 'db', { mode: 'shared', waitMs: 90_000 });
    d.acquire(b, 'cfg', { mode: 'shared' });
    d.acquire(c, 'cfg', { mode: 'shared' });
    d.acquire(e, 'gone');
    d.advance(100).expire(e);
    d.acquire(a, 'gone', { waitMs: 30_000 });
    // No command can queue a waiter without a deadline today, but restore() maps a null
    // deadline (JSON's spelling of Infinity) back to Infinity, so cover that path too.
    const lock = d.machine.table.locks.get('db');
    if (!lock) throw new Error('db must exist');
    lock.waiters = lock.waiters.map((w) => (w.sessionId === b ? { ...w, deadline: Infinity } : w));
    return { d, a, b, c, e };
  }

  it('a restored machine has the same snapshot, byte for byte', () => {
    const { d } = rich();
    const copy = restored(d.machine);
    expect(new TextDecoder().decode(copy.snapshot())).toBe(d.snapshotText());
  });

  it('restore brings back kv, sessions, locks with waiters, settings, events and time', () => {
    const { d, b } = rich();
    const copy = restored(d.machine);
    const [src, dst] = [d.machine, copy];
    expect(dst.now).toBe(src.now);
    expect(dst.kv.list('/')).toEqual(src.kv.list('/'));
    expect(dst.kv.revision).toBe(src.kv.revision);
    expect([...dst.table.sessions.values()]).toEqual([...src.table.sessions.values()]);
    expect([...dst.table.locks.values()]).toEqual([...src.table.locks.values()]);
    expect(dst.table.locks.get('db')?.waiters.find((w) => w.sessionId === b)?.deadline).toBe(Infinity);
    expect(dst.table.locks.get('gone')?.delayUntil).toBe(src.table.locks.get('gone')?.delayUntil);
    expect(dst.table.settings).toEqual(src.table.settings);
    expect(dst.table.events).toEqual(src.table.events);
    expect(dst.table.nextDeadline()).toBe(src.table.nextDeadline());
  });

  it('a restored machine continues identically', () => {
    const { d, a, b, c, e } = rich();
    const other = new Driver(restored(d.machine), { index: d.index, now: d.now });
    const script: ((x: Driver) => ApplyResult)[] = [
      (x) => x.advance(2_000).clock(),
      (x) => x.release(a, 'db'),
      (x) => x.acquire(e, 'db'),
      (x) => x.expire(a),
      (x) => x.put('/cfg/x', 'y', { session: c }),
      (x) => x.forceRelease('db', 'hung', 'admin:bob'),
      (x) => x.release(b, 'cfg'),
      (x) => x.settings({ lockDelayMs: 0 }),
      (x) => x.advance(100_000).clock(),
      (x) => x.close(c),
      (x) => x.acquire(b, 'db', { waitMs: 1_000 }),
    ];
    for (const step of script) expect(JSON.stringify(step(other))).toBe(JSON.stringify(step(d)));
    expect(other.snapshotText()).toBe(d.snapshotText());
  });

  it('a waiter restored without a deadline never times out', () => {
    const { d, b } = rich();
    const other = new Driver(restored(d.machine), { index: d.index, now: d.now });
    other.advance(30 * 24 * 3_600_000).clock();
    expect(other.waiters('db')).toContain(b);
  });

  it('restore replaces whatever state the machine had', () => {
    const { d } = rich();
    const busy = new Driver();
    busy.open();
    busy.put('/zzz', '1');
    busy.machine.restore(d.machine.snapshot(), SNAPSHOT_META);
    expect(busy.snapshotText()).toBe(d.snapshotText());
  });

  it('restore refuses a snapshot of an unknown version', () => {
    const machine = new LockMachine();
    expect(() => machine.restore(utf8('{"version":1}'), SNAPSHOT_META)).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Seeded random workloads.

const LOCK_NAMES = ['a', 'b', 'c'];

function ensure(condition: boolean, message: string): void {
  if (!condition) throw new Error(`model check failed: ${message}`);
}

interface WorkloadOptions {
  /** When false, shared requests are try-locks only, so no entry grants two shared waiters. */
  readonly sharedWaits: boolean;
}

/** nextStep picks one command from the current state; garbage payloads are mixed in. */
function nextStep(prng: Prng, machine: LockMachine, everOpened: readonly string[], options: WorkloadOptions): Unstamped | Uint8Array {
  const table = machine.table;
  const live = [...table.sessions.keys()];
  const someSession = (): string => (live.length > 0 && prng.chance(0.9) ? prng.pick(live) : everOpened.length > 0 ? prng.pick(everOpened) : 's0');
  const r = prng.int(100);
  if (r < 8 || live.length === 0) return { op: 'session.open', ttlMs: prng.range(200, 20_000), info: INFO };
  if (r < 12) return { op: 'session.close', sessionId: someSession(), actor: null, reason: null };
  if (r < 17) return { op: 'session.expire', sessionId: someSession() };
  if (r < 50) {
    const mode: LockMode = prng.chance(0.4) ? 'shared' : 'exclusive';
    const waitMs = mode === 'shared' && !options.sharedWaits ? 0 : prng.pick([0, 0, 500, 5_000, 60_000]);
    return { op: 'lock.acquire', sessionId: someSession(), name: prng.pick(LOCK_NAMES), mode, waitMs, lockDelayMs: prng.pick([null, null, 0, 1_000]) };
  }
  if (r < 70) {
    const name = prng.pick(LOCK_NAMES);
    const holders = table.locks.get(name)?.holders ?? [];
    const sessionId = holders.length > 0 && prng.chance(0.7) ? prng.pick(holders).sessionId : someSession();
    return { op: 'lock.release', sessionId, name };
  }
  if (r < 75) return { op: 'lock.forceRelease', name: prng.pick(LOCK_NAMES), reason: prng.pick(['stuck', '']), actor: 'admin:sim' };
  if (r < 90) return { op: 'clock' };
  if (r < 93) return { op: 'settings.set', actor: 'admin:sim', patch: { lockDelayMs: prng.pick([0, 2_000, 10_000]) } };
  if (r < 97) return { op: 'kv.put', key: `/k/${prng.int(4)}`, value: String(prng.int(1_000)), expectRevision: null, session: prng.chance(0.5) ? someSession() : null };
  return prng.pick([utf8('not json'), utf8('{"op":"nope","stamp":1}'), new Uint8Array([0xff])]);
}

/**
 * Model is the reference: it rebuilds who holds what only from replies and notices, checks each
 * grant's token (the entry's index, larger than any earlier entry's grant on that lock), and
 * compares itself with the machine's table after every step.
 */
class Model {
  // NB: plain checks instead of expect(): this runs thousands of times per test.
  private readonly held = new Map<string, Map<string, string>>();
  private readonly lastToken = new Map<string, number>();

  private lock(name: string): Map<string, string> {
    let m = this.held.get(name);
    if (!m) this.held.set(name, (m = new Map()));
    return m;
  }

  private grant(name: string, sessionId: string, mode: LockMode, token: number, index: number, before: ReadonlyMap<string, number>): void {
    ensure(token === index, `token ${token} of a new grant on ${name} is not the entry index ${index}`);
    ensure(token > (before.get(name) ?? 0), `token ${token} on ${name} does not exceed earlier entries' grant ${before.get(name) ?? 0}`);
    this.lock(name).set(sessionId, `${mode}:${token}`);
    this.lastToken.set(name, token);
  }

  observe(command: Unstamped | null, index: number, result: ApplyResult): void {
    const before = new Map(this.lastToken);
    const { reply } = result;
    if (command?.op === 'lock.acquire' && reply.ok && 'kind' in reply && reply.kind === 'granted') {
      const existing = this.lock(command.name).get(command.sessionId);
      if (existing) ensure(`${reply.mode}:${reply.token}` === existing, `an idempotent acquire of ${command.name} changed the grant`);
      else this.grant(command.name, command.sessionId, reply.mode, reply.token, index, before);
    }
    if (reply.ok && 'kind' in reply && reply.kind === 'released') for (const h of reply.previous) this.lock(reply.name).delete(h.sessionId);
    for (const n of result.notices) {
      if (n.type === 'lockGranted') this.grant(n.name, n.sessionId, n.mode, n.token, index, before);
      if (n.type === 'lockLost') this.lock(n.name).delete(n.sessionId);
      if (n.type === 'sessionEnded') for (const m of this.held.values()) m.delete(n.sessionId);
    }
  }

  check(machine: LockMachine): void {
    const table = machine.table;
    for (const name of LOCK_NAMES) {
      const lock = table.locks.get(name);
      const holders = lock?.holders ?? [];
      const exclusive = holders.filter((h) => h.mode === 'exclusive');
      ensure(exclusive.length === 0 || holders.length === 1, `${name}: an exclusive holder is not alone`);
      const actual = holders.map((h) => `${h.sessionId}=${h.mode}:${h.token}`).sort().join(' ');
      const expected = [...this.lock(name)].map(([s, v]) => `${s}=${v}`).sort().join(' ');
      ensure(actual === expected, `${name}: holders [${actual}] differ from the model [${expected}]`);
      for (const h of holders) ensure(table.sessions.has(h.sessionId), `${name}: holder ${h.sessionId} has no live session`);
      for (const w of lock?.waiters ?? []) {
        ensure(table.sessions.has(w.sessionId), `${name}: waiter ${w.sessionId} has no live session`);
        ensure(!holders.some((h) => h.sessionId === w.sessionId), `${name}: ${w.sessionId} both holds and waits`);
      }
    }
  }
}

/** runWorkload applies `steps` random entries, checking the model after each; returns the payloads. */
function runWorkload(seed: number, steps: number, options: WorkloadOptions, check = true): { payloads: Uint8Array[]; results: string[]; machine: LockMachine } {
  const prng = new Prng(seed);
  const d = new Driver();
  const model = new Model();
  const everOpened: string[] = [];
  const payloads: Uint8Array[] = [];
  const results: string[] = [];
  for (let i = 0; i < steps; i++) {
    const step = nextStep(prng, d.machine, everOpened, options);
    d.advance(prng.int(1_500));
    const stamp = prng.chance(0.05) ? d.now - prng.int(5_000) : d.now;
    const payload = step instanceof Uint8Array ? step : encodeCommand({ ...step, stamp } as Command);
    payloads.push(payload);
    const result = d.raw(payload);
    if (!check) results.push(JSON.stringify(result));
    if (!(step instanceof Uint8Array) && step.op === 'session.open' && result.reply.ok && 'kind' in result.reply && result.reply.kind === 'session') everOpened.push(result.reply.sessionId);
    if (check) {
      model.observe(step instanceof Uint8Array ? null : step, d.index, result);
      model.check(d.machine);
    }
  }
  return { payloads, results, machine: d.machine };
}

describe('determinism', () => {
  it('two machines fed the same log produce the same results and identical snapshots', () => {
    const { payloads, results, machine } = runWorkload(0xd5, 1_500, { sharedWaits: false }, false);
    const replica = new LockMachine();
    payloads.forEach((payload, i) => expect(JSON.stringify(replica.applyCommand(payload, i + 1))).toBe(results[i]));
    expect(new TextDecoder().decode(replica.snapshot())).toBe(new TextDecoder().decode(machine.snapshot()));
  });

  it('a replica restored mid-log catches up to an identical snapshot', () => {
    const { payloads, machine } = runWorkload(0xd6, 1_000, { sharedWaits: false }, false);
    const early = new LockMachine();
    payloads.slice(0, 400).forEach((p, i) => early.applyCommand(p, i + 1));
    const replica = restored(early);
    payloads.slice(400).forEach((p, i) => replica.applyCommand(p, 400 + i + 1));
    expect(new TextDecoder().decode(replica.snapshot())).toBe(new TextDecoder().decode(machine.snapshot()));
  });
});

describe('seeded random workload against a reference model', () => {
  it.each([[0x1], [0x2a], [0xbeef], [0xc0ffee]])('seed %i keeps one exclusive holder or only shared holders, and tokens growing per lock', (seed) => {
    const { machine } = runWorkload(seed, 1_000, { sharedWaits: false });
    expect(machine.table.events.length).toBeGreaterThan(0);
  });

  it('the workload exercises grants, hand-offs, expiries and forced releases', () => {
    const { machine } = runWorkload(0x2a, 1_000, { sharedWaits: false });
    const kinds = new Set(machine.table.events.map((e) => e.kind));
    for (const kind of ['lock.grant', 'lock.queue', 'lock.release', 'lock.waitTimeout', 'lock.expireRelease', 'lock.forceRelease', 'session.expire', 'settings.change'] as const) expect(kinds).toContain(kind);
    const grants = machine.table.events.filter((e) => e.kind === 'lock.grant' && typeof e.detail.waitedMs === 'number' && e.detail.waitedMs > 0);
    expect(grants.length).toBeGreaterThan(0);
  });

  it('with waiting shared requests too', () => {
    runWorkload(0x5a, 1_000, { sharedWaits: true });
  });
});
