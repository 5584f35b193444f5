// Pure. Validation of every console API payload. The renderer is untrusted: whatever arrives
// over IPC or the console WebSocket is parsed here, by channel, into the contract's types or
// refused with a BadRequest that says which field is wrong.

import type { ApiErrorBody, ConnectionRef, EventQuery, FaultRequest, LaunchLocalRequest, LockQuery, LockSortKey, RequestMap, RequestName, SaveConnectionRequest } from './contract.ts';

/** LOCK_SORT_KEYS is the closed set of columns a lock query may sort by. */
export const LOCK_SORT_KEYS: readonly LockSortKey[] = ['name', 'mode', 'token', 'age', 'keepAlive', 'waiters', 'lockDelay', 'stuck'];

/** Validation is a parsed payload or the reason it was refused. */
export type Validation<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiErrorBody };

/** LIMITS bounds what a payload may hold, so a hostile renderer cannot exhaust the backend. */
export const LIMITS = {
  nameChars: 100,
  groupChars: 60,
  endpoints: 16,
  endpointChars: 500,
  tokenChars: 4096,
  caChars: 64 * 1024,
  importChars: 1024 * 1024,
  datacenters: 5,
  votersPerDatacenter: 5,
  nodes: 9,
  latencyMs: 2000,
  idChars: 100,
  /** Lock names, key names, prefixes and filter texts. */
  lockNameChars: 1024,
  keyChars: 1024,
  /** Rows in one page of a lock query. */
  lockPage: 1000,
  /** A forced release's or a session close's reason, as the audit log keeps it. */
  reasonChars: 500,
  /** A configuration value, in UTF-8 bytes. */
  valueBytes: 256 * 1024,
  /** A settings patch, as JSON in UTF-8 bytes. */
  patchBytes: 64 * 1024,
  eventPage: 10_000,
} as const;

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail(`${what} has an unknown field ${JSON.stringify(key).slice(0, 60)}`);
  }
}

function text(value: unknown, field: string, maxChars: number, opts: { empty?: boolean } = {}): string {
  if (typeof value !== 'string') fail(`${field} must be a string`);
  if (!opts.empty && value.trim() === '') fail(`${field} must not be empty`);
  if (value.length > maxChars) fail(`${field} is longer than ${maxChars} characters`);
  return value;
}

function int(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(`${field} must be an integer`);
  if (value < min || value > max) fail(`${field} must be between ${min} and ${max}`);
  return value;
}

function bool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') fail(`${field} must be true or false`);
  return value;
}

function connectionId(value: unknown): string {
  const id = text(value, 'connectionId', LIMITS.idChars);
  if (!/^[A-Za-z0-9._-]+$/.test(id)) fail('connectionId may hold only letters, digits, dot, dash and underscore');
  return id;
}

function datacenter(value: unknown, field: string): string {
  const name = text(value, field, LIMITS.nameChars);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) fail(`${field} is not a datacenter name`);
  return name;
}

/** endpoint checks one cluster client URL: ws:// or wss:// with a host, nothing else. */
export function parseEndpoint(value: unknown, field = 'endpoint'): string {
  const raw = text(value, field, LIMITS.endpointChars).trim();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail(`${field} ${JSON.stringify(raw).slice(0, 80)} is not a URL (expected ws://host:port/client)`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') fail(`${field} must start with ws:// or wss://, got ${url.protocol}//`);
  if (url.hostname === '') fail(`${field} has no host`);
  if (url.username || url.password) fail(`${field} must not carry credentials; use the token field`);
  return url.toString();
}

function connectionRef(payload: unknown): { connectionId: string } {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId'], 'payload');
  return { connectionId: connectionId(obj.connectionId) };
}

function nothing(payload: unknown): void {
  if (payload !== undefined && payload !== null) fail('this request takes no payload');
}

function saveConnection(payload: unknown): SaveConnectionRequest {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['id', 'name', 'group', 'endpoints', 'token', 'ca', 'readOnly'], 'payload');
  if (!Array.isArray(obj.endpoints)) fail('endpoints must be a list of ws:// or wss:// URLs');
  if (obj.endpoints.length === 0) fail('endpoints must name at least one node');
  if (obj.endpoints.length > LIMITS.endpoints) fail(`endpoints may hold at most ${LIMITS.endpoints} URLs`);
  const endpoints = obj.endpoints.map((e, i) => parseEndpoint(e, `endpoints[${i}]`));
  const out: { -readonly [K in keyof SaveConnectionRequest]: SaveConnectionRequest[K] } = {
    name: text(obj.name, 'name', LIMITS.nameChars).trim(),
    group: text(obj.group ?? '', 'group', LIMITS.groupChars, { empty: true }).trim(),
    endpoints,
    readOnly: obj.readOnly === undefined ? false : bool(obj.readOnly, 'readOnly'),
  };
  if (obj.id !== undefined) out.id = connectionId(obj.id);
  if (obj.token !== undefined) {
    const token = text(obj.token, 'token', LIMITS.tokenChars);
    if (/\s/.test(token)) fail('token must not contain whitespace');
    out.token = token;
  }
  if (obj.ca !== undefined) {
    if (obj.ca === null) out.ca = null;
    else {
      const ca = text(obj.ca, 'ca', LIMITS.caChars);
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) fail('ca must be a PEM certificate (-----BEGIN CERTIFICATE-----)');
      out.ca = ca;
    }
  }
  if (out.id === undefined && out.token === undefined) fail('token is required for a new connection');
  return out;
}

function launchLocal(payload: unknown): LaunchLocalRequest {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['name', 'dcs', 'layout', 'wanLatencyMs'], 'payload');
  const dcs = int(obj.dcs, 'dcs', 1, LIMITS.datacenters);
  if (!Array.isArray(obj.layout)) fail('layout must be a list of voter counts, one per datacenter');
  if (obj.layout.length !== dcs) fail(`layout must have ${dcs} entries, one per datacenter`);
  const layout = obj.layout.map((n, i) => int(n, `layout[${i}]`, 1, LIMITS.votersPerDatacenter));
  const total = layout.reduce((a, b) => a + b, 0);
  if (total > LIMITS.nodes) fail(`a local cluster may have at most ${LIMITS.nodes} nodes, layout has ${total}`);
  const out: { -readonly [K in keyof LaunchLocalRequest]: LaunchLocalRequest[K] } = { dcs, layout };
  if (obj.name !== undefined) out.name = text(obj.name, 'name', LIMITS.nameChars).trim();
  if (obj.wanLatencyMs !== undefined) out.wanLatencyMs = int(obj.wanLatencyMs, 'wanLatencyMs', 0, LIMITS.latencyMs);
  return out;
}

function fault(payload: unknown): FaultRequest {
  const obj = record(payload, 'payload');
  const id = connectionId(obj.connectionId);
  switch (obj.action) {
    case 'stop':
    case 'kill':
    case 'restart':
      onlyKeys(obj, ['connectionId', 'action', 'node'], 'payload');
      return { connectionId: id, action: obj.action, node: datacenter(obj.node, 'node') };
    case 'isolate':
      onlyKeys(obj, ['connectionId', 'action', 'datacenter'], 'payload');
      return { connectionId: id, action: 'isolate', datacenter: datacenter(obj.datacenter, 'datacenter') };
    case 'heal':
      onlyKeys(obj, ['connectionId', 'action'], 'payload');
      return { connectionId: id, action: 'heal' };
    case 'latency':
      onlyKeys(obj, ['connectionId', 'action', 'from', 'to', 'ms'], 'payload');
      return { connectionId: id, action: 'latency', from: datacenter(obj.from, 'from'), to: datacenter(obj.to, 'to'), ms: int(obj.ms, 'ms', 0, LIMITS.latencyMs) };
    default:
      return fail('action must be one of stop, kill, restart, isolate, heal, latency');
  }
}

function optionalText(obj: Record<string, unknown>, field: string, maxChars: number): string | undefined {
  return obj[field] === undefined ? undefined : text(obj[field], field, maxChars, { empty: true });
}

/** utf8Bytes counts a string's UTF-8 size without node:buffer (the renderer loads this file too). */
function utf8Bytes(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function reason(value: unknown): string {
  const out = text(value, 'reason', LIMITS.reasonChars);
  return out.trim();
}

function expectRevision(value: unknown): number | null {
  if (value === null) return null;
  return int(value, 'expectRevision', 0, Number.MAX_SAFE_INTEGER);
}

function queryLocks(payload: unknown): LockQuery {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId', 'prefix', 'holder', 'datacenter', 'stuckOnly', 'sort', 'descending', 'offset', 'limit'], 'payload');
  const out: { -readonly [K in keyof LockQuery]: LockQuery[K] } = {
    connectionId: connectionId(obj.connectionId),
    offset: int(obj.offset, 'offset', 0, Number.MAX_SAFE_INTEGER),
    limit: int(obj.limit, 'limit', 1, LIMITS.lockPage),
  };
  const prefix = optionalText(obj, 'prefix', LIMITS.lockNameChars);
  if (prefix !== undefined && prefix !== '') out.prefix = prefix;
  const holder = optionalText(obj, 'holder', LIMITS.lockNameChars);
  if (holder !== undefined && holder.trim() !== '') out.holder = holder.trim();
  if (obj.datacenter !== undefined && obj.datacenter !== '') out.datacenter = datacenter(obj.datacenter, 'datacenter');
  if (obj.stuckOnly !== undefined) out.stuckOnly = bool(obj.stuckOnly, 'stuckOnly');
  if (obj.descending !== undefined) out.descending = bool(obj.descending, 'descending');
  if (obj.sort !== undefined) {
    if (typeof obj.sort !== 'string' || !(LOCK_SORT_KEYS as readonly string[]).includes(obj.sort)) fail(`sort must be one of ${LOCK_SORT_KEYS.join(', ')}`);
    out.sort = obj.sort as LockSortKey;
  }
  return out;
}

function lockRef(payload: unknown): ConnectionRef & { readonly name: string } {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId', 'name'], 'payload');
  return { connectionId: connectionId(obj.connectionId), name: text(obj.name, 'name', LIMITS.lockNameChars) };
}

function forceRelease(payload: unknown): ConnectionRef & { readonly name: string; readonly reason: string } {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId', 'name', 'reason'], 'payload');
  return { connectionId: connectionId(obj.connectionId), name: text(obj.name, 'name', LIMITS.lockNameChars), reason: reason(obj.reason) };
}

function closeSession(payload: unknown): ConnectionRef & { readonly sessionId: string; readonly reason: string } {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId', 'sessionId', 'reason'], 'payload');
  return { connectionId: connectionId(obj.connectionId), sessionId: text(obj.sessionId, 'sessionId', LIMITS.idChars), reason: reason(obj.reason) };
}

function kvPrefix(payload: unknown): ConnectionRef & { readonly prefix: string } {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId', 'prefix'], 'payload');
  return { connectionId: connectionId(obj.connectionId), prefix: text(obj.prefix, 'prefix', LIMITS.keyChars) };
}

function kvKey(payload: unknown): ConnectionRef & { readonly key: string } {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId', 'key'], 'payload');
  return { connectionId: connectionId(obj.connectionId), key: text(obj.key, 'key', LIMITS.keyChars) };
}

function kvPut(payload: unknown): ConnectionRef & { readonly key: string; readonly value: string; readonly expectRevision: number | null } {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId', 'key', 'value', 'expectRevision'], 'payload');
  if (typeof obj.value !== 'string') fail('value must be a string');
  if (obj.value.length > LIMITS.valueBytes || utf8Bytes(obj.value) > LIMITS.valueBytes) fail(`value is larger than ${LIMITS.valueBytes / 1024} KiB`);
  if (obj.expectRevision === undefined) fail('expectRevision must be a revision (0: the key must not exist) or null');
  return { connectionId: connectionId(obj.connectionId), key: text(obj.key, 'key', LIMITS.keyChars), value: obj.value, expectRevision: expectRevision(obj.expectRevision) };
}

function kvDelete(payload: unknown): ConnectionRef & { readonly key: string; readonly expectRevision: number | null } {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId', 'key', 'expectRevision'], 'payload');
  if (obj.expectRevision === undefined) fail('expectRevision must be a revision or null');
  return { connectionId: connectionId(obj.connectionId), key: text(obj.key, 'key', LIMITS.keyChars), expectRevision: expectRevision(obj.expectRevision) };
}

function setSettings(payload: unknown): ConnectionRef & { readonly patch: Record<string, unknown> } {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId', 'patch'], 'payload');
  const patch = record(obj.patch, 'patch');
  if (Object.keys(patch).length === 0) fail('patch must change at least one setting');
  let json: string;
  try {
    json = JSON.stringify(patch);
  } catch {
    fail('patch must be plain JSON');
  }
  if (json.length > LIMITS.patchBytes || utf8Bytes(json) > LIMITS.patchBytes) fail(`patch is larger than ${LIMITS.patchBytes / 1024} KiB of JSON`);
  return { connectionId: connectionId(obj.connectionId), patch: JSON.parse(json) as Record<string, unknown> };
}

function listEvents(payload: unknown): EventQuery {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['connectionId', 'since', 'until', 'name', 'kind', 'actor', 'text', 'limit'], 'payload');
  const out: { -readonly [K in keyof EventQuery]: EventQuery[K] } = { connectionId: connectionId(obj.connectionId) };
  if (obj.since !== undefined) out.since = int(obj.since, 'since', 0, Number.MAX_SAFE_INTEGER);
  if (obj.until !== undefined) out.until = int(obj.until, 'until', 0, Number.MAX_SAFE_INTEGER);
  if (out.since !== undefined && out.until !== undefined && out.since > out.until) fail('since must not be after until');
  for (const field of ['name', 'kind', 'actor', 'text'] as const) {
    const value = optionalText(obj, field, LIMITS.lockNameChars);
    if (value !== undefined && value.trim() !== '') out[field] = value.trim();
  }
  if (obj.limit !== undefined) out.limit = int(obj.limit, 'limit', 1, LIMITS.eventPage);
  return out;
}

function importConnections(payload: unknown): { json: string } {
  const obj = record(payload, 'payload');
  onlyKeys(obj, ['json'], 'payload');
  return { json: text(obj.json, 'json', LIMITS.importChars) };
}

type Parsers = { readonly [K in RequestName]: (payload: unknown) => RequestMap[K]['payload'] };

const parsers: Parsers = {
  getAppInfo: nothing,
  listConnections: nothing,
  saveConnection,
  deleteConnection: connectionRef,
  exportConnections: nothing,
  importConnections,
  openConnection: connectionRef,
  closeConnection: connectionRef,
  launchLocalCluster: launchLocal,
  stopLocalCluster: connectionRef,
  getTopology: connectionRef,
  clusterFault: fault,
  queryLocks,
  getLockDetail: lockRef,
  forceRelease,
  listSessions: connectionRef,
  closeSession,
  kvList: kvPrefix,
  kvGet: kvKey,
  kvPut,
  kvDelete,
  kvHistory: kvKey,
  getSettings: connectionRef,
  setSettings,
  listEvents,
  getMetrics: connectionRef,
};

/** isRequestName tells whether a string names a request of the contract. */
export function isRequestName(name: unknown): name is RequestName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(parsers, name);
}

/** validatePayload parses one request's payload, or says in one sentence why it is refused. */
export function validatePayload<K extends RequestName>(name: K, payload: unknown): Validation<RequestMap[K]['payload']> {
  try {
    const parse = parsers[name] as (p: unknown) => RequestMap[K]['payload'];
    return { ok: true, value: parse(payload) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: { code: 'BadRequest', message: err.message } };
    throw err;
  }
}
