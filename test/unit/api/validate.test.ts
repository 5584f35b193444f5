// Pure. The console API's payload validation: for every request, a good payload is accepted as
// parsed and bad ones are refused with a BadRequest that names the field, so that an untrusted
// renderer cannot get anything past the bridges.

import { describe, expect, it } from 'vitest';
import { requestNames } from '../../../core/api/contract.ts';
import type { RequestName } from '../../../core/api/contract.ts';
import { LIMITS, LOCK_SORT_KEYS, isRequestName, parseEndpoint, validatePayload } from '../../../core/api/validate.ts';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function accepted(name: RequestName, payload: unknown): unknown {
  const result = validatePayload(name, payload);
  if (!result.ok) throw new Error(`${name} refused ${JSON.stringify(payload)}: ${result.error.message}`);
  return result.value;
}

/** refused expects a BadRequest whose message contains `says` (the field's name, usually). */
function refused(name: RequestName, payload: unknown, says: string): void {
  const result = validatePayload(name, payload);
  expect(result.ok, `${name} accepted ${JSON.stringify(payload)?.slice(0, 200)}`).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe('BadRequest');
  expect(result.error.message).toContain(says);
}

const goodSave = { name: 'prod', group: 'ops', endpoints: ['ws://10.0.0.1:7001/client'], token: 'tok', readOnly: false };

describe('validatePayload', () => {
  it('has a parser for every request of the contract, and knows nothing else', () => {
    for (const name of requestNames) expect(isRequestName(name), name).toBe(true);
    for (const name of ['', 'toString', '__proto__', 'constructor', 'hasOwnProperty', 'GETAPPINFO', 42, null]) expect(isRequestName(name), String(name)).toBe(false);
  });

  it('takes no payload for getAppInfo, listConnections and exportConnections', () => {
    for (const name of ['getAppInfo', 'listConnections', 'exportConnections'] as const) {
      expect(accepted(name, undefined)).toBeUndefined();
      expect(accepted(name, null)).toBeUndefined();
      refused(name, {}, 'no payload');
      refused(name, 'x', 'no payload');
    }
  });

  it('checks connection refs: an object with a well-formed connectionId and nothing else', () => {
    for (const name of ['deleteConnection', 'openConnection', 'closeConnection', 'stopLocalCluster', 'getTopology', 'listSessions', 'getSettings', 'getMetrics'] as const) {
      expect(accepted(name, { connectionId: 'c-0123abc' })).toEqual({ connectionId: 'c-0123abc' });
      refused(name, undefined, 'payload must be an object');
      refused(name, [], 'payload must be an object');
      refused(name, {}, 'connectionId must be a string');
      refused(name, { connectionId: 7 }, 'connectionId must be a string');
      refused(name, { connectionId: '' }, 'connectionId must not be empty');
      refused(name, { connectionId: '../etc/passwd' }, 'connectionId may hold only');
      refused(name, { connectionId: 'x'.repeat(LIMITS.idChars + 1) }, 'connectionId is longer');
      refused(name, { connectionId: 'c-1', extra: true }, 'unknown field "extra"');
    }
  });

  it('accepts a new connection and trims its texts', () => {
    expect(accepted('saveConnection', { ...goodSave, name: '  prod  ', ca: CA })).toEqual({ ...goodSave, ca: CA });
    expect(accepted('saveConnection', { name: 'x', endpoints: ['wss://h/client'], token: 't' })).toEqual({ name: 'x', group: '', endpoints: ['wss://h/client'], token: 't', readOnly: false });
  });

  it('accepts an update without a token (kept) and with ca null (removed)', () => {
    expect(accepted('saveConnection', { id: 'c-1', name: 'x', group: '', endpoints: ['ws://h:1/client'], ca: null, readOnly: true })).toEqual({ id: 'c-1', name: 'x', group: '', endpoints: ['ws://h:1/client'], ca: null, readOnly: true });
  });

  it('refuses bad connections, naming the field', () => {
    refused('saveConnection', { ...goodSave, token: undefined }, 'token is required');
    refused('saveConnection', { ...goodSave, name: '' }, 'name must not be empty');
    refused('saveConnection', { ...goodSave, name: 3 }, 'name must be a string');
    refused('saveConnection', { ...goodSave, name: 'n'.repeat(LIMITS.nameChars + 1) }, 'name is longer');
    refused('saveConnection', { ...goodSave, group: 'g'.repeat(LIMITS.groupChars + 1) }, 'group is longer');
    refused('saveConnection', { ...goodSave, readOnly: 'yes' }, 'readOnly must be true or false');
    refused('saveConnection', { ...goodSave, token: 'two words' }, 'token must not contain whitespace');
    refused('saveConnection', { ...goodSave, token: 't'.repeat(LIMITS.tokenChars + 1) }, 'token is longer');
    refused('saveConnection', { ...goodSave, ca: 'not a pem' }, 'ca must be a PEM certificate');
    refused('saveConnection', { ...goodSave, ca: `${CA}${'x'.repeat(LIMITS.caChars)}` }, 'ca is longer');
    refused('saveConnection', { ...goodSave, id: 'bad id' }, 'connectionId may hold only');
    refused('saveConnection', { ...goodSave, password: 'x' }, 'unknown field "password"');
    refused('saveConnection', { ...goodSave, endpoints: 'ws://h/client' }, 'endpoints must be a list');
    refused('saveConnection', { ...goodSave, endpoints: [] }, 'endpoints must name at least one node');
    refused('saveConnection', { ...goodSave, endpoints: Array.from({ length: LIMITS.endpoints + 1 }, (_, i) => `ws://h${i}/client`) }, `at most ${LIMITS.endpoints}`);
  });

  it('checks endpoint URLs: ws:// or wss:// with a host, no credentials', () => {
    expect(parseEndpoint(' ws://127.0.0.1:7001/client ')).toBe('ws://127.0.0.1:7001/client');
    expect(parseEndpoint('wss://node.example/client')).toBe('wss://node.example/client');
    refused('saveConnection', { ...goodSave, endpoints: ['ws://ok/client', 'http://h/client'] }, 'endpoints[1] must start with ws:// or wss://');
    refused('saveConnection', { ...goodSave, endpoints: ['javascript:alert(1)'] }, 'endpoints[0] must start with ws://');
    refused('saveConnection', { ...goodSave, endpoints: ['file:///etc/passwd'] }, 'endpoints[0] must start with ws://');
    refused('saveConnection', { ...goodSave, endpoints: ['not a url'] }, 'endpoints[0] "not a url" is not a URL');
    refused('saveConnection', { ...goodSave, endpoints: ['ws://user:pw@h/client'] }, 'endpoints[0] must not carry credentials');
    refused('saveConnection', { ...goodSave, endpoints: [42] }, 'endpoints[0] must be a string');
    refused('saveConnection', { ...goodSave, endpoints: [`ws://h/${'a'.repeat(LIMITS.endpointChars)}`] }, 'endpoints[0] is longer');
  });

  it('accepts import payloads within the size limit', () => {
    expect(accepted('importConnections', { json: '{}' })).toEqual({ json: '{}' });
    refused('importConnections', { json: '' }, 'json must not be empty');
    refused('importConnections', { json: 5 }, 'json must be a string');
    refused('importConnections', { json: 'x'.repeat(LIMITS.importChars + 1) }, 'json is longer');
    refused('importConnections', { json: '{}', merge: true }, 'unknown field "merge"');
  });

  it('accepts local launches whose layout matches the datacenters', () => {
    expect(accepted('launchLocalCluster', { dcs: 3, layout: [2, 2, 1] })).toEqual({ dcs: 3, layout: [2, 2, 1] });
    expect(accepted('launchLocalCluster', { name: ' dev ', dcs: 1, layout: [3], wanLatencyMs: 0 })).toEqual({ name: 'dev', dcs: 1, layout: [3], wanLatencyMs: 0 });
  });

  it('refuses launches with bad counts, layouts, sums or latencies', () => {
    refused('launchLocalCluster', { dcs: 0, layout: [] }, 'dcs must be between 1 and');
    refused('launchLocalCluster', { dcs: LIMITS.datacenters + 1, layout: [1, 1, 1, 1, 1, 1] }, 'dcs must be between');
    refused('launchLocalCluster', { dcs: 2.5, layout: [1, 1] }, 'dcs must be an integer');
    refused('launchLocalCluster', { dcs: '3', layout: [2, 2, 1] }, 'dcs must be an integer');
    refused('launchLocalCluster', { dcs: 3, layout: [2, 2] }, 'layout must have 3 entries');
    refused('launchLocalCluster', { dcs: 3, layout: '2,2,1' }, 'layout must be a list');
    refused('launchLocalCluster', { dcs: 3, layout: [2, 0, 1] }, 'layout[1] must be between 1 and');
    refused('launchLocalCluster', { dcs: 3, layout: [2, 'two', 1] }, 'layout[1] must be an integer');
    refused('launchLocalCluster', { dcs: 2, layout: [5, 5] }, `at most ${LIMITS.nodes} nodes, layout has 10`);
    refused('launchLocalCluster', { dcs: 1, layout: [LIMITS.votersPerDatacenter + 1] }, 'layout[0] must be between');
    refused('launchLocalCluster', { dcs: 1, layout: [1], wanLatencyMs: -1 }, 'wanLatencyMs must be between 0 and');
    refused('launchLocalCluster', { dcs: 1, layout: [1], wanLatencyMs: LIMITS.latencyMs + 1 }, 'wanLatencyMs must be between');
    refused('launchLocalCluster', { dcs: 1, layout: [1], name: '' }, 'name must not be empty');
    refused('launchLocalCluster', { dcs: 1, layout: [1], learners: 2 }, 'unknown field "learners"');
  });

  it('accepts every fault action with exactly its own fields', () => {
    const id = { connectionId: 'local-1' };
    expect(accepted('clusterFault', { ...id, action: 'kill', node: 'n1' })).toEqual({ ...id, action: 'kill', node: 'n1' });
    expect(accepted('clusterFault', { ...id, action: 'stop', node: 'n2' })).toEqual({ ...id, action: 'stop', node: 'n2' });
    expect(accepted('clusterFault', { ...id, action: 'restart', node: 'n3' })).toEqual({ ...id, action: 'restart', node: 'n3' });
    expect(accepted('clusterFault', { ...id, action: 'isolate', datacenter: 'dc-a' })).toEqual({ ...id, action: 'isolate', datacenter: 'dc-a' });
    expect(accepted('clusterFault', { ...id, action: 'heal' })).toEqual({ ...id, action: 'heal' });
    expect(accepted('clusterFault', { ...id, action: 'latency', from: 'dc-a', to: 'dc-b', ms: 40 })).toEqual({ ...id, action: 'latency', from: 'dc-a', to: 'dc-b', ms: 40 });
  });

  it('refuses bad fault actions, naming the field', () => {
    const id = { connectionId: 'local-1' };
    refused('clusterFault', { ...id, action: 'explode' }, 'action must be one of');
    refused('clusterFault', { ...id }, 'action must be one of');
    refused('clusterFault', { action: 'heal' }, 'connectionId must be a string');
    refused('clusterFault', { ...id, action: 'kill' }, 'node must be a string');
    refused('clusterFault', { ...id, action: 'kill', node: 'n1; rm -rf /' }, 'node is not');
    refused('clusterFault', { ...id, action: 'kill', node: 'n1', datacenter: 'dc-a' }, 'unknown field "datacenter"');
    refused('clusterFault', { ...id, action: 'isolate', node: 'n1' }, 'unknown field "node"');
    refused('clusterFault', { ...id, action: 'isolate', datacenter: '' }, 'datacenter must not be empty');
    refused('clusterFault', { ...id, action: 'heal', node: 'n1' }, 'unknown field "node"');
    refused('clusterFault', { ...id, action: 'latency', from: 'dc-a', to: 'dc-b' }, 'ms must be an integer');
    refused('clusterFault', { ...id, action: 'latency', from: 'dc-a', to: 'dc-b', ms: LIMITS.latencyMs + 1 }, 'ms must be between');
    refused('clusterFault', { ...id, action: 'latency', from: 'dc a', to: 'dc-b', ms: 1 }, 'from is not');
  });
});

describe('validatePayload for locks, sessions, keys, settings, events and metrics', () => {
  const id = { connectionId: 'c-1' };
  const page = { ...id, offset: 0, limit: 100 };

  it('accepts a lock query with every filter and each sort key', () => {
    for (const sort of LOCK_SORT_KEYS) {
      const full = { ...page, prefix: 'svc/', holder: ' host-1 ', datacenter: 'dc-a', stuckOnly: true, sort, descending: true };
      expect(accepted('queryLocks', full)).toEqual({ ...full, holder: 'host-1' });
    }
    expect(accepted('queryLocks', { ...page, prefix: '', holder: '  ', datacenter: '' })).toEqual(page);
    expect(accepted('queryLocks', { ...id, offset: 99_000, limit: LIMITS.lockPage })).toEqual({ ...id, offset: 99_000, limit: LIMITS.lockPage });
  });

  it('refuses lock queries out of bounds or with unknown sorts, naming the field', () => {
    refused('queryLocks', id, 'offset must be an integer');
    refused('queryLocks', { ...id, offset: 0 }, 'limit must be an integer');
    refused('queryLocks', { ...page, limit: LIMITS.lockPage + 1 }, 'limit must be between');
    refused('queryLocks', { ...page, limit: 0 }, 'limit must be between');
    refused('queryLocks', { ...page, offset: -1 }, 'offset must be between');
    refused('queryLocks', { ...page, offset: 1.5 }, 'offset must be an integer');
    refused('queryLocks', { ...page, sort: 'holder' }, 'sort must be one of');
    refused('queryLocks', { ...page, sort: 'toString' }, 'sort must be one of');
    refused('queryLocks', { ...page, prefix: 'x'.repeat(LIMITS.lockNameChars + 1) }, 'prefix is longer');
    refused('queryLocks', { ...page, holder: 'x'.repeat(LIMITS.lockNameChars + 1) }, 'holder is longer');
    refused('queryLocks', { ...page, holder: 42 }, 'holder must be a string');
    refused('queryLocks', { ...page, datacenter: 'dc a' }, 'datacenter is not');
    refused('queryLocks', { ...page, stuckOnly: 'yes' }, 'stuckOnly must be true or false');
    refused('queryLocks', { ...page, descending: 1 }, 'descending must be true or false');
    refused('queryLocks', { ...page, serializable: true }, 'unknown field "serializable"');
  });

  it('checks lock names, release reasons and session closes', () => {
    expect(accepted('getLockDetail', { ...id, name: 'svc/db' })).toEqual({ ...id, name: 'svc/db' });
    refused('getLockDetail', { ...id, name: '' }, 'name must not be empty');
    refused('getLockDetail', { ...id, name: 'x'.repeat(LIMITS.lockNameChars + 1) }, 'name is longer');
    expect(accepted('forceRelease', { ...id, name: 'svc/db', reason: '  holder hung  ' })).toEqual({ ...id, name: 'svc/db', reason: 'holder hung' });
    refused('forceRelease', { ...id, name: 'svc/db' }, 'reason must be a string');
    refused('forceRelease', { ...id, name: 'svc/db', reason: '   ' }, 'reason must not be empty');
    refused('forceRelease', { ...id, name: 'svc/db', reason: 'x'.repeat(LIMITS.reasonChars + 1) }, 'reason is longer');
    refused('forceRelease', { ...id, name: 'svc/db', reason: 'r', force: true }, 'unknown field "force"');
    expect(accepted('closeSession', { ...id, sessionId: 's1a', reason: 'gone' })).toEqual({ ...id, sessionId: 's1a', reason: 'gone' });
    refused('closeSession', { ...id, sessionId: 's1a', reason: '' }, 'reason must not be empty');
    refused('closeSession', { ...id, sessionId: '', reason: 'r' }, 'sessionId must not be empty');
  });

  it('checks keys, values, revisions and prefixes', () => {
    expect(accepted('kvList', { ...id, prefix: '/' })).toEqual({ ...id, prefix: '/' });
    refused('kvList', { ...id }, 'prefix must be a string');
    expect(accepted('kvGet', { ...id, key: '/a/b' })).toEqual({ ...id, key: '/a/b' });
    expect(accepted('kvHistory', { ...id, key: '/a/b' })).toEqual({ ...id, key: '/a/b' });
    refused('kvGet', { ...id, key: 'x'.repeat(LIMITS.keyChars + 1) }, 'key is longer');
    const put = { ...id, key: '/a', value: '{"x":1}', expectRevision: 7 };
    expect(accepted('kvPut', put)).toEqual(put);
    expect(accepted('kvPut', { ...put, expectRevision: null, value: '' })).toEqual({ ...put, expectRevision: null, value: '' });
    expect(accepted('kvPut', { ...put, expectRevision: 0 })).toEqual({ ...put, expectRevision: 0 });
    expect(accepted('kvPut', { ...put, value: 'x'.repeat(LIMITS.valueBytes) })).toMatchObject({ key: '/a' });
    refused('kvPut', { ...put, value: 'x'.repeat(LIMITS.valueBytes + 1) }, 'value is larger than 256 KiB');
    refused('kvPut', { ...put, value: 'é'.repeat(LIMITS.valueBytes / 2 + 1) }, 'value is larger');
    refused('kvPut', { ...put, value: 42 }, 'value must be a string');
    refused('kvPut', { ...id, key: '/a', value: 'v' }, 'expectRevision must be');
    refused('kvPut', { ...put, expectRevision: -1 }, 'expectRevision must be between');
    refused('kvPut', { ...put, expectRevision: '3' }, 'expectRevision must be an integer');
    expect(accepted('kvDelete', { ...id, key: '/a', expectRevision: null })).toEqual({ ...id, key: '/a', expectRevision: null });
    refused('kvDelete', { ...id, key: '/a' }, 'expectRevision must be');
    refused('kvDelete', { ...id, key: '/a', expectRevision: null, value: 'v' }, 'unknown field "value"');
  });

  it('checks settings patches: a non-empty object of at most 64 KiB of JSON', () => {
    expect(accepted('setSettings', { ...id, patch: { stuckAfterMs: 1000, stuckAfterByPrefix: { 'svc/': 500 } } })).toEqual({ ...id, patch: { stuckAfterMs: 1000, stuckAfterByPrefix: { 'svc/': 500 } } });
    refused('setSettings', { ...id, patch: {} }, 'at least one setting');
    refused('setSettings', { ...id, patch: [1] }, 'patch must be an object');
    refused('setSettings', { ...id, patch: 'x' }, 'patch must be an object');
    refused('setSettings', { ...id, patch: { big: 'x'.repeat(LIMITS.patchBytes) } }, 'patch is larger than 64 KiB');
  });

  it('checks event queries', () => {
    const q = { ...id, since: 1, until: 2, name: 'svc/*', kind: 'lock', actor: 'admin', text: ' hung ', limit: 50 };
    expect(accepted('listEvents', q)).toEqual({ ...q, text: 'hung' });
    expect(accepted('listEvents', { ...id, text: '' })).toEqual(id);
    refused('listEvents', { ...id, since: 5, until: 4 }, 'since must not be after until');
    refused('listEvents', { ...id, limit: LIMITS.eventPage + 1 }, 'limit must be between');
    refused('listEvents', { ...id, text: 'x'.repeat(LIMITS.lockNameChars + 1) }, 'text is longer');
    refused('listEvents', { ...id, kind: 3 }, 'kind must be a string');
    refused('listEvents', { ...id, session: 's1' }, 'unknown field "session"');
  });
});
