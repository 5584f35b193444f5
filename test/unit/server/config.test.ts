// The node's YAML configuration: defaults, and one clear error naming the field for every
// kind of mistake.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, validateConfig } from '../../../core/server/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'warden-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function base(): Record<string, unknown> {
  return {
    id: 'n1',
    datacenter: 'dc-a',
    dataDir: './data',
    clusterId: 'prod-1',
    secret: '0123456789abcdef0123',
    listen: { peer: '127.0.0.1:7001', client: '127.0.0.1:7002' },
    members: [
      { id: 'n1', datacenter: 'dc-a', peerUrl: 'ws://127.0.0.1:7001/peer', clientUrl: 'ws://127.0.0.1:7002/client' },
      { id: 'n2', datacenter: 'dc-b', role: 'learner', peerUrl: 'ws://127.0.0.1:7011/peer', clientUrl: 'ws://127.0.0.1:7012/client' },
    ],
    tokens: [{ token: 'admin-token-0123456789', role: 'admin' }],
  };
}

function fieldOf(doc: unknown): string {
  try {
    validateConfig(doc, dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).field;
  }
  throw new Error('expected a ConfigError');
}

describe('node configuration', () => {
  it('accepts a minimal file and fills in the lan profile and defaults', () => {
    const c = validateConfig(base(), dir);
    expect(c.timeouts).toEqual({ profile: 'lan', tickMs: 50, electionTicks: 10, heartbeatTicks: 1 });
    expect(c.dataDir).toBe(join(dir, 'data'));
    expect(c.members[1]?.role).toBe('learner');
    expect(c.tokens[0]?.prefixes).toEqual(['/']);
  });

  it('selects the wan profile', () => {
    const c = validateConfig({ ...base(), timeouts: { profile: 'wan' } }, dir);
    expect(c.timeouts.electionTicks * c.timeouts.tickMs).toBeGreaterThanOrEqual(1000);
  });

  const cases: [string, (d: Record<string, unknown>) => void, string][] = [
    ['missing id', (d) => delete d.id, 'id'],
    ['bad id', (d) => (d.id = 'no spaces'), 'id'],
    ['unknown top-level field', (d) => (d.colour = 'blue'), 'colour'],
    ['short secret', (d) => (d.secret = 'short'), 'secret'],
    ['bad listen address', (d) => (d.listen = { peer: 'nope', client: '127.0.0.1:1' }), 'listen.peer'],
    ['port out of range', (d) => (d.listen = { peer: '127.0.0.1:70000', client: '127.0.0.1:1' }), 'listen.peer'],
    ['member with http url', (d) => ((d.members as Record<string, unknown>[])[1]!.peerUrl = 'http://x:1/peer'), 'members[1].peerUrl'],
    ['member with wrong path', (d) => ((d.members as Record<string, unknown>[])[0]!.clientUrl = 'ws://x:1/api'), 'members[0].clientUrl'],
    ['duplicate member', (d) => ((d.members as Record<string, unknown>[])[1]!.id = 'n1'), 'members[1].id'],
    ['bad member role', (d) => ((d.members as Record<string, unknown>[])[1]!.role = 'boss'), 'members[1].role'],
    ['self not a member', (d) => (d.id = 'n9'), 'members'],
    ['datacenter differs from members', (d) => (d.datacenter = 'dc-z'), 'datacenter'],
    ['no tokens', (d) => (d.tokens = []), 'tokens'],
    ['bad token role', (d) => (d.tokens = [{ token: 'admin-token-0123456789', role: 'root' }]), 'tokens[0].role'],
    ['short token', (d) => (d.tokens = [{ token: 'abc', role: 'admin' }]), 'tokens[0].token'],
    ['bad prefixes', (d) => (d.tokens = [{ token: 'admin-token-0123456789', role: 'client', prefixes: ['config'] }]), 'tokens[0].prefixes'],
    ['heartbeat not below election', (d) => (d.timeouts = { electionTicks: 5, heartbeatTicks: 5 }), 'timeouts.heartbeatTicks'],
    ['bad profile', (d) => (d.timeouts = { profile: 'moon' }), 'timeouts.profile'],
    ['negative tick', (d) => (d.timeouts = { tickMs: -1 }), 'timeouts.tickMs'],
    ['missing tls file', (d) => (d.tls = { cert: 'nope.pem', key: 'nope.pem' }), 'tls.cert'],
    ['bad log level', (d) => (d.logLevel = 'loud'), 'logLevel'],
  ];
  for (const [name, mutate, field] of cases) {
    it(`names the field for: ${name}`, () => {
      const doc = base();
      mutate(doc);
      expect(fieldOf(doc)).toBe(field);
    });
  }

  it('reports invalid YAML and unreadable files as ConfigError', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'id: [unclosed\n');
    expect(() => loadConfig(bad)).toThrow(/not valid YAML/);
    expect(() => loadConfig(join(dir, 'absent.yaml'))).toThrow(ConfigError);
  });

  it('reads the secret from secretFile', () => {
    const file = join(dir, 'secret.txt');
    writeFileSync(file, 'a-very-long-secret-value\n');
    const doc = base();
    delete doc.secret;
    doc.secretFile = 'secret.txt';
    expect(validateConfig(doc, dir).secret).toBe('a-very-long-secret-value');
  });
});
