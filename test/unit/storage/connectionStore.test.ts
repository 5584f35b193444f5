// Effectful (temp dirs, SQLite). The console's connection store on a real console.db: saved
// connections survive a reopen, the file is private, a foreign or damaged file is refused with a
// typed error and left untouched, export carries no secret, and import never overwrites.

import Database from 'better-sqlite3';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APPLICATION_ID, CONSOLE_DB_FILE, CONSOLE_SCHEMA_VERSION, ConnectionStore, ConnectionStoreError, EXPORT_FORMAT, StorageError } from '../../../core/storage/connectionStore.ts';
import type { ConnectionStoreErrorCode } from '../../../core/storage/connectionStore.ts';
import { TempDirs, fingerprint } from './helpers.ts';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

const TOKEN = 'tok-secret-0123456789';
const CA = '-----BEGIN CERTIFICATE-----\nMIIBsecretCA\n-----END CERTIFICATE-----\n';

function openIn(stateDir: string, now = (): number => 1_700_000_000_000): ConnectionStore {
  return ConnectionStore.open({ stateDir, now });
}

function refusal(run: () => unknown): StorageError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StorageError);
    return error as StorageError;
  }
  throw new Error('expected a StorageError');
}

function storeError(run: () => unknown, code: ConnectionStoreErrorCode): ConnectionStoreError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectionStoreError);
    expect((error as ConnectionStoreError).code).toBe(code);
    return error as ConnectionStoreError;
  }
  throw new Error(`expected a ConnectionStoreError ${code}`);
}

describe('ConnectionStore', () => {
  it('saves connections and finds them again after a reopen, secrets included', () => {
    const dir = dirs.make();
    const store = openIn(dir);
    const prod = store.create({ name: 'prod', group: 'ops', endpoints: ['ws://10.0.0.1:7001/client', 'wss://10.0.0.2:7001/client'], token: TOKEN, ca: CA, readOnly: true });
    const dev = store.create({ name: 'dev', group: '', endpoints: ['ws://127.0.0.1:7001/client'], token: 'dev-token', ca: null, readOnly: false });
    expect(prod.id).toMatch(/^c-[0-9a-f]{16}$/);
    store.recordClusterId(prod.id, 'prod-cluster');
    store.close();

    const again = openIn(dir);
    const list = again.list();
    expect(list.map((c) => c.name)).toEqual(['dev', 'prod']);
    expect(again.get(prod.id)).toMatchObject({ name: 'prod', group: 'ops', endpoints: ['ws://10.0.0.1:7001/client', 'wss://10.0.0.2:7001/client'], token: TOKEN, ca: CA, readOnly: true, clusterId: 'prod-cluster' });
    expect(again.get(dev.id)).toMatchObject({ token: 'dev-token', ca: null, clusterId: null });
    again.close();
  });

  it('creates console.db and its write-ahead log readable by the owner only', () => {
    const dir = dirs.make();
    const store = openIn(dir);
    store.create({ name: 'a', group: '', endpoints: ['ws://h:1/client'], token: TOKEN, ca: null, readOnly: false });
    const file = join(dir, CONSOLE_DB_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    store.close();
  });

  it('tightens the mode of an existing console.db that others could read', async () => {
    const dir = dirs.make();
    openIn(dir).close();
    const file = join(dir, CONSOLE_DB_FILE);
    (await import('node:fs')).chmodSync(file, 0o644);
    openIn(dir).close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('updates only the given fields, keeps the token when none is given, and keeps the cluster id', () => {
    const store = openIn(dirs.make());
    const c = store.create({ name: 'prod', group: 'ops', endpoints: ['ws://a:1/client'], token: TOKEN, ca: CA, readOnly: false });
    store.recordClusterId(c.id, 'cid');
    const u = store.update(c.id, { name: 'production', endpoints: ['ws://b:2/client'], readOnly: true });
    expect(u).toMatchObject({ name: 'production', group: 'ops', endpoints: ['ws://b:2/client'], token: TOKEN, ca: CA, readOnly: true, clusterId: 'cid' });
    expect(store.update(c.id, { token: 'new-token', ca: null })).toMatchObject({ token: 'new-token', ca: null });
    storeError(() => store.update('c-unknown', { name: 'x' }), 'NotFound');
    storeError(() => store.recordClusterId('c-unknown', 'x'), 'NotFound');
    store.close();
  });

  it('refuses a second connection with the same name in a group, and bad fields by name', () => {
    const store = openIn(dirs.make());
    const first = store.create({ name: 'Prod', group: 'ops', endpoints: ['ws://a:1/client'], token: TOKEN, ca: null, readOnly: false });
    expect(storeError(() => store.create({ name: 'prod', group: 'ops', endpoints: ['ws://a:1/client'], token: TOKEN, ca: null, readOnly: false }), 'Conflict').message).toContain('prod');
    store.create({ name: 'prod', group: 'staging', endpoints: ['ws://a:1/client'], token: TOKEN, ca: null, readOnly: false });
    storeError(() => store.create({ id: first.id, name: 'other', group: '', endpoints: ['ws://a:1/client'], token: TOKEN, ca: null, readOnly: false }), 'Conflict');
    expect(storeError(() => store.create({ name: '', group: '', endpoints: ['ws://a:1/client'], token: TOKEN, ca: null, readOnly: false }), 'BadRequest').message).toContain('name');
    expect(storeError(() => store.create({ name: 'x', group: '', endpoints: ['http://a:1/client'], token: TOKEN, ca: null, readOnly: false }), 'BadRequest').message).toContain('endpoints[0]');
    expect(storeError(() => store.create({ name: 'x', group: '', endpoints: [], token: TOKEN, ca: null, readOnly: false }), 'BadRequest').message).toContain('endpoints');
    expect(storeError(() => store.create({ name: 'x', group: '', endpoints: ['ws://a:1/client'], token: 'has space', ca: null, readOnly: false }), 'BadRequest').message).toContain('token');
    store.close();
  });

  it('deletes a connection and says whether it existed', () => {
    const dir = dirs.make();
    const store = openIn(dir);
    const c = store.create({ name: 'a', group: '', endpoints: ['ws://h:1/client'], token: TOKEN, ca: null, readOnly: false });
    expect(store.delete(c.id)).toBe(true);
    expect(store.delete(c.id)).toBe(false);
    store.close();
    const again = openIn(dir);
    expect(again.list()).toEqual([]);
    again.close();
  });

  it('exports every connection without a token or a CA, with a format version', () => {
    const store = openIn(dirs.make());
    const c = store.create({ name: 'prod', group: 'ops', endpoints: ['wss://10.0.0.1:7001/client'], token: TOKEN, ca: CA, readOnly: true });
    store.recordClusterId(c.id, 'prod-cluster');
    const json = store.exportJson();
    expect(json).not.toContain(TOKEN);
    expect(json).not.toContain('BEGIN CERTIFICATE');
    expect(json).not.toMatch(/"token"|"ca"/);
    const parsed = JSON.parse(json) as { format: string; version: number; connections: unknown[] };
    expect(parsed.format).toBe(EXPORT_FORMAT);
    expect(parsed.version).toBe(1);
    expect(parsed.connections).toEqual([{ name: 'prod', group: 'ops', endpoints: ['wss://10.0.0.1:7001/client'], readOnly: true, clusterId: 'prod-cluster' }]);
    store.close();
  });

  it('imports with new ids and no token, skipping names already saved, so nothing is overwritten', () => {
    const source = openIn(dirs.make());
    source.create({ name: 'prod', group: 'ops', endpoints: ['ws://p:1/client'], token: TOKEN, ca: null, readOnly: true });
    source.create({ name: 'dev', group: '', endpoints: ['ws://d:1/client'], token: TOKEN, ca: null, readOnly: false });
    const json = source.exportJson();
    source.close();

    const target = openIn(dirs.make());
    const mine = target.create({ name: 'PROD', group: 'ops', endpoints: ['ws://mine:1/client'], token: 'mine', ca: null, readOnly: false });
    const result = target.importJson(json);
    expect(result).toEqual({ imported: 1, skipped: ['ops/prod'] });
    expect(target.get(mine.id)).toMatchObject({ endpoints: ['ws://mine:1/client'], token: 'mine' });
    const dev = target.list().find((c) => c.name === 'dev');
    expect(dev).toMatchObject({ token: '', ca: null, endpoints: ['ws://d:1/client'] });
    expect(target.importJson(json)).toEqual({ imported: 0, skipped: ['dev', 'ops/prod'] });
    target.close();
  });

  it('refuses a bad import whole, naming what is wrong, and writes nothing', () => {
    const store = openIn(dirs.make());
    const good = { name: 'ok', group: '', endpoints: ['ws://a:1/client'], readOnly: false, clusterId: null };
    const file = (connections: unknown[], extra: Record<string, unknown> = {}): string => JSON.stringify({ format: EXPORT_FORMAT, version: 1, connections, ...extra });
    const cases: [string, string][] = [
      ['not json', 'not JSON'],
      ['[]', 'JSON object'],
      [JSON.stringify({ format: 'other', version: 1, connections: [] }), 'format'],
      [file([], { version: 2 }), 'version 2'],
      [file([], { extra: true }), 'unknown field "extra"'],
      [file([good, { ...good, name: 'x', endpoints: ['http://a/client'] }]), 'connections[1].endpoints[0]'],
      [file([{ ...good, token: 'smuggled' }]), 'connections[0] carries a token'],
      [file([{ ...good, color: 'red' }]), 'connections[0] has an unknown field "color"'],
      [file([{ ...good, readOnly: 'yes' }]), 'connections[0].readOnly'],
      [file([{ ...good, name: '' }]), 'connections[0].name'],
    ];
    for (const [json, says] of cases) expect(storeError(() => store.importJson(json), 'BadRequest').message, json).toContain(says);
    expect(store.list()).toEqual([]);
    store.close();
  });

  it('refuses a file that is not SQLite, and leaves it as it was', () => {
    const dir = dirs.make();
    writeFileSync(join(dir, CONSOLE_DB_FILE), 'this is not a database at all, just text that is long enough');
    const before = fingerprint(dir);
    const error = refusal(() => openIn(dir));
    expect(error.code).toBe('CorruptDataDir');
    expect(error.message).toContain(CONSOLE_DB_FILE);
    expect(fingerprint(dir)).toEqual(before);
  });

  it("refuses another program's SQLite database (a node's data dir, say) without migrating it", () => {
    const dir = dirs.make();
    const db = new Database(join(dir, CONSOLE_DB_FILE));
    db.exec('CREATE TABLE entries (log_index INTEGER PRIMARY KEY)');
    db.close();
    const before = fingerprint(dir);
    const error = refusal(() => openIn(dir));
    expect(error.code).toBe('CorruptDataDir');
    expect(error.message).toContain('not the console');
    expect(fingerprint(dir)).toEqual(before);

    const other = dirs.make();
    const foreign = new Database(join(other, CONSOLE_DB_FILE));
    foreign.pragma('application_id = 1234');
    foreign.close();
    expect(refusal(() => openIn(other)).message).toContain('another program');
  });

  it('refuses a console.db written by a newer console', () => {
    const dir = dirs.make();
    openIn(dir).close();
    const db = new Database(join(dir, CONSOLE_DB_FILE));
    db.pragma(`user_version = ${CONSOLE_SCHEMA_VERSION + 1}`);
    db.close();
    const before = fingerprint(dir);
    expect(refusal(() => openIn(dir)).code).toBe('NewerVersion');
    expect(fingerprint(dir)).toEqual(before);
  });

  it('refuses a damaged console.db', () => {
    const dir = dirs.make();
    const store = openIn(dir);
    for (let i = 0; i < 50; i++) store.create({ name: `c${i}`, group: '', endpoints: ['ws://h:1/client'], token: 'x'.repeat(500), ca: null, readOnly: false });
    store.close();
    const file = join(dir, CONSOLE_DB_FILE);
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(8192);
    // Overwrite the second page (the table's root) with garbage; the header stays valid.
    bytes.fill(0xa5, 4096, 8192);
    writeFileSync(file, bytes);
    expect(refusal(() => openIn(dir).list()).code).toBe('CorruptDataDir');
  });

  it('marks its file with the console application id', () => {
    const dir = dirs.make();
    openIn(dir).close();
    const db = new Database(join(dir, CONSOLE_DB_FILE), { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    db.close();
  });

  it('refuses use after close with a typed error', () => {
    const store = openIn(dirs.make());
    store.close();
    expect(refusal(() => store.list()).message).toContain('closed');
  });
});
