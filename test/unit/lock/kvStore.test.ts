// Unit tests (pure) for the configuration namespace: key and prefix rules, revisions in etcd's
// sense (global, create, mod, version), compare-and-set, and resumable watches with compaction.

import { describe, expect, it } from 'vitest';
import { KEY_MAX_LENGTH, KvStore, matchesPrefix, validateKey, validatePrefix } from '../../../core/lock/kvStore.ts';

describe('validateKey', () => {
  it.each([['/a'], ['/config/billing/db.url'], ['/a/b@c:d+e=f-g_h.i'], [`/${'k'.repeat(KEY_MAX_LENGTH - 1)}`]])('%s is a valid key', (key) => {
    expect(validateKey(key)).toBeNull();
  });

  it.each([
    ['a non-string', 42],
    ['empty', ''],
    ['relative', 'config/a'],
    ['the root alone', '/'],
    ['a trailing slash', '/a/'],
    ['an empty segment', '/a//b'],
    ['a space', '/a b'],
    ['non-ASCII letters', '/café'],
    ['a star', '/a/*'],
    ['too long', `/${'k'.repeat(KEY_MAX_LENGTH)}`],
  ])('a key that is %s is invalid', (_what, key) => {
    expect(validateKey(key)).toEqual(expect.any(String));
  });
});

describe('validatePrefix', () => {
  it.each([['/'], ['/a'], ['/a/'], ['/config/billing/']])('%s is a valid prefix', (prefix) => {
    expect(validatePrefix(prefix)).toBeNull();
  });

  it.each([[''], ['a'], ['//'], ['/a//'], ['/a b/'], [null]])('%j is not a valid prefix', (prefix) => {
    expect(validatePrefix(prefix)).toEqual(expect.any(String));
  });
});

describe('matchesPrefix', () => {
  it('a prefix without a slash covers the key itself and its subtree, not siblings that share letters', () => {
    expect(matchesPrefix('/a', '/a')).toBe(true);
    expect(matchesPrefix('/a/b', '/a')).toBe(true);
    expect(matchesPrefix('/ab', '/a')).toBe(false);
  });

  it('a prefix with a trailing slash covers only the subtree', () => {
    expect(matchesPrefix('/a/b', '/a/')).toBe(true);
    expect(matchesPrefix('/a', '/a/')).toBe(false);
  });

  it('"/" and "" cover every key', () => {
    expect(matchesPrefix('/x/y', '/')).toBe(true);
    expect(matchesPrefix('/x/y', '')).toBe(true);
  });
});

describe('put, get and list', () => {
  it('get returns what put wrote, and null for a missing key', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    expect(kv.get('/a')).toEqual({ key: '/a', value: '1', createRevision: 1, modRevision: 1, version: 1, session: null });
    expect(kv.get('/b')).toBeNull();
  });

  it('list returns the entries under a prefix in key order', () => {
    const kv = new KvStore();
    for (const key of ['/b/2', '/a', '/b/10', '/b', '/bc', '/b/1/x']) kv.put(key, key, null, null);
    expect(kv.list('/b').map((e) => e.key)).toEqual(['/b', '/b/1/x', '/b/10', '/b/2']);
    expect(kv.list('/b/').map((e) => e.key)).toEqual(['/b/1/x', '/b/10', '/b/2']);
    expect(kv.list('/').map((e) => e.key)).toEqual(['/a', '/b', '/b/1/x', '/b/10', '/b/2', '/bc']);
  });

  it('list stops at the limit, after ordering', () => {
    const kv = new KvStore();
    for (const key of ['/d', '/c', '/b', '/a']) kv.put(key, '', null, null);
    expect(kv.list('/', 2).map((e) => e.key)).toEqual(['/a', '/b']);
  });
});

describe('revisions', () => {
  it('the global revision grows by one with every successful write', () => {
    const kv = new KvStore();
    expect(kv.revision).toBe(0);
    expect(kv.put('/a', '1', null, null)).toMatchObject({ ok: true, revision: 1, prev: null });
    expect(kv.put('/b', '1', null, null)).toMatchObject({ ok: true, revision: 2 });
    expect(kv.delete('/a', null)).toMatchObject({ ok: true, revision: 3, deleted: true });
    expect(kv.revision).toBe(3);
  });

  it('a rewrite keeps createRevision, moves modRevision and bumps version', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    kv.put('/other', '1', null, null);
    const result = kv.put('/a', '2', null, null);
    expect(result).toMatchObject({ ok: true, revision: 3, prev: { value: '1', modRevision: 1 } });
    expect(kv.get('/a')).toMatchObject({ value: '2', createRevision: 1, modRevision: 3, version: 2 });
  });

  it('a key deleted and written again starts over with a new createRevision and version 1', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    kv.put('/a', '2', null, null);
    kv.delete('/a', null);
    kv.put('/a', '3', null, null);
    expect(kv.get('/a')).toMatchObject({ createRevision: 4, modRevision: 4, version: 1 });
  });

  it('failed writes do not move the revision', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    kv.put('/a', '2', 7, null);
    kv.delete('/missing', null);
    expect(kv.revision).toBe(1);
  });
});

describe('compare-and-set', () => {
  it('put with the current modRevision succeeds', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    expect(kv.put('/a', '2', 1, null)).toMatchObject({ ok: true, revision: 2 });
  });

  it('put with a stale revision is CasConflict and reports the current entry', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    kv.put('/a', '2', null, null);
    expect(kv.put('/a', '3', 1, null)).toEqual({ ok: false, code: 'CasConflict', current: kv.get('/a'), revision: 2 });
    expect(kv.get('/a')?.value).toBe('2');
  });

  it('expectRevision 0 creates a missing key', () => {
    const kv = new KvStore();
    expect(kv.put('/a', '1', 0, null)).toMatchObject({ ok: true, revision: 1 });
  });

  it('expectRevision 0 refuses to overwrite an existing key', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    expect(kv.put('/a', '2', 0, null)).toMatchObject({ ok: false, code: 'CasConflict', current: { value: '1' } });
  });

  it('put with a revision on a missing key is CasConflict with no current entry', () => {
    const kv = new KvStore();
    expect(kv.put('/a', '1', 5, null)).toEqual({ ok: false, code: 'CasConflict', current: null, revision: 0 });
  });
});

describe('delete', () => {
  it('delete removes the key and returns the previous entry', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    expect(kv.delete('/a', null)).toMatchObject({ ok: true, deleted: true, prev: { value: '1' } });
    expect(kv.get('/a')).toBeNull();
  });

  it('delete of a missing key is NotFound', () => {
    const kv = new KvStore();
    expect(kv.delete('/a', null)).toEqual({ ok: false, code: 'NotFound', revision: 0 });
    expect(kv.delete('/a', 0)).toEqual({ ok: false, code: 'NotFound', revision: 0 });
  });

  it('compare-and-delete with a stale revision is CasConflict and keeps the key', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    kv.put('/a', '2', null, null);
    expect(kv.delete('/a', 1)).toMatchObject({ ok: false, code: 'CasConflict', current: { value: '2' } });
    expect(kv.get('/a')).not.toBeNull();
  });

  it('compare-and-delete with the current revision deletes', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    expect(kv.delete('/a', 1)).toMatchObject({ ok: true, revision: 2 });
  });
});

describe('ephemeral keys', () => {
  it('deleteSession removes only that session’s keys and returns their delete events', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, 's1');
    kv.put('/b', '2', null, 's2');
    kv.put('/c', '3', null, 's1');
    expect(kv.deleteSession('s1')).toEqual([
      { type: 'delete', key: '/a', value: null, revision: 4, prevValue: '1' },
      { type: 'delete', key: '/c', value: null, revision: 5, prevValue: '3' },
    ]);
    expect(kv.list('/').map((e) => e.key)).toEqual(['/b']);
  });

  it('deleteSession of a session without keys changes nothing', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    expect(kv.deleteSession('s1')).toEqual([]);
    expect(kv.revision).toBe(1);
  });
});

describe('watch history', () => {
  it('eventsSince returns puts and deletes from a revision on, under a prefix, in order', () => {
    const kv = new KvStore();
    kv.put('/cfg/a', '1', null, null);
    kv.put('/other', 'x', null, null);
    kv.put('/cfg/a', '2', null, null);
    kv.delete('/cfg/a', null);
    expect(kv.eventsSince(2, '/cfg')).toEqual([
      { type: 'put', key: '/cfg/a', value: '2', revision: 3, prevValue: '1' },
      { type: 'delete', key: '/cfg/a', value: null, revision: 4, prevValue: '2' },
    ]);
    expect(kv.eventsSince(1, '/')?.map((e) => e.revision)).toEqual([1, 2, 3, 4]);
  });

  it('eventsSince from a revision not yet written is empty', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, null);
    expect(kv.eventsSince(2, '/')).toEqual([]);
    expect(kv.eventsSince(100, '/')).toEqual([]);
  });

  it('a watch may resume from the oldest retained revision but not before (compaction)', () => {
    const kv = new KvStore(3);
    for (let i = 1; i <= 5; i++) kv.put('/a', String(i), null, null);
    expect(kv.oldestWatchableRevision).toBe(3);
    expect(kv.eventsSince(2, '/')).toBeNull();
    expect(kv.eventsSince(3, '/')?.map((e) => e.revision)).toEqual([3, 4, 5]);
  });

  it('a fresh store can be watched from revision 1', () => {
    const kv = new KvStore();
    expect(kv.oldestWatchableRevision).toBe(1);
    expect(kv.eventsSince(1, '/')).toEqual([]);
  });
});

describe('snapshot and restore', () => {
  it('restore brings back entries and the global revision', () => {
    const kv = new KvStore();
    kv.put('/a', '1', null, 's1');
    kv.put('/b', '2', null, null);
    kv.put('/a', '3', null, null);
    const copy = new KvStore();
    copy.restore(JSON.parse(JSON.stringify(kv.snapshot())));
    expect(copy.list('/')).toEqual(kv.list('/'));
    expect(copy.revision).toBe(3);
    expect(copy.put('/c', '4', null, null)).toMatchObject({ revision: 4 });
  });

  it('restore sets the oldest watchable revision just past the snapshot', () => {
    const kv = new KvStore();
    for (let i = 0; i < 7; i++) kv.put('/a', String(i), null, null);
    const copy = new KvStore();
    copy.restore(kv.snapshot());
    expect(copy.oldestWatchableRevision).toBe(8);
    expect(copy.eventsSince(7, '/')).toBeNull();
    expect(copy.eventsSince(8, '/')).toEqual([]);
    copy.put('/a', 'new', null, null);
    expect(copy.eventsSince(8, '/')).toMatchObject([{ revision: 8, value: 'new', prevValue: '6' }]);
  });

  it('restore replaces whatever the store held', () => {
    const kv = new KvStore();
    kv.put('/old', '1', null, null);
    kv.restore({ revision: 2, entries: [{ key: '/new', value: 'v', createRevision: 2, modRevision: 2, version: 1, session: null }] });
    expect(kv.list('/').map((e) => e.key)).toEqual(['/new']);
    expect(kv.size).toBe(1);
  });
});
