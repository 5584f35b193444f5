// Effectful at the edge (reads the file), pure inside. The node's YAML configuration: every
// field validated at start, and a bad file gets one clear error naming the field.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Role } from '../api/clientProtocol.ts';

/** ConfigError names the offending field (`members[2].peerUrl`) and what is wrong with it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`config field \`${field}\`: ${problem}`);
    this.field = field;
  }
}

/** MemberConfig describes one member of the cluster as every node knows it. */
export interface MemberConfig {
  readonly id: string;
  readonly datacenter: string;
  readonly role: 'voter' | 'learner';
  readonly peerUrl: string;
  readonly clientUrl: string;
}

/** TimeoutProfile chooses tick length and timeouts suited to the network (lan or wan). */
export interface Timeouts {
  readonly profile: 'lan' | 'wan';
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

/** TIMEOUT_PROFILES are the defaults: heartbeat about the RTT, election at least ten times it. */
export const TIMEOUT_PROFILES: Readonly<Record<'lan' | 'wan', Timeouts>> = {
  lan: { profile: 'lan', tickMs: 50, electionTicks: 10, heartbeatTicks: 1 },
  wan: { profile: 'wan', tickMs: 100, electionTicks: 10, heartbeatTicks: 1 },
};

/** TokenConfig is one bearer token and what it may do. */
export interface TokenConfig {
  readonly token: string;
  readonly role: Role;
  /** Key prefixes a `client` token may touch; `["/"]` for everything. */
  readonly prefixes: readonly string[];
  readonly name: string;
}

/** NodeConfig is a validated configuration. Paths are absolute. */
export interface NodeConfig {
  readonly id: string;
  readonly datacenter: string;
  readonly dataDir: string;
  readonly clusterId: string;
  readonly secret: string;
  readonly listen: { readonly peer: HostPort; readonly client: HostPort };
  readonly members: readonly MemberConfig[];
  readonly tls: { readonly cert: string; readonly key: string; readonly ca: string | null } | null;
  readonly timeouts: Timeouts;
  readonly tokens: readonly TokenConfig[];
  /** Election priority of this node (higher campaigns first). */
  readonly priority: number;
  readonly preferredDatacenters: readonly string[];
  readonly snapshotEvery: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Injected network conditions, for local test clusters only: when `enabled`, the node adds
   * the given one-way delay to peers per datacenter and accepts fault changes from admins.
   */
  readonly faults: { readonly enabled: boolean; readonly delayMsByDatacenter: Readonly<Record<string, number>>; readonly jitterMs: number; readonly lossPercent: number };
}

/** HostPort is a listen address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

type Obj = Record<string, unknown>;

function obj(value: unknown, field: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(field, 'must be a mapping');
  return value as Obj;
}

function str(o: Obj, key: string, field: string, fallback?: string): string {
  const value = o[key] ?? fallback;
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(field, fallback === undefined ? 'is required and must be a non-empty string' : 'must be a non-empty string');
  return value;
}

function int(o: Obj, key: string, field: string, fallback: number, min: number, max: number): number {
  const value = o[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ConfigError(field, `must be an integer from ${min} to ${max}`);
  return value;
}

function checkUnknown(o: Obj, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) throw new ConfigError(prefix ? `${prefix}.${key}` : key, `unknown field (known: ${known.join(', ')})`);
  }
}

function hostPort(value: unknown, field: string): HostPort {
  if (typeof value !== 'string') throw new ConfigError(field, 'must be "host:port"');
  const m = /^(.+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new ConfigError(field, `must be "host:port" with a port from 0 to 65535, got ${JSON.stringify(value)}`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

function wsUrl(value: string, field: string, path: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field, `must be a URL like ws://host:port${path}, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new ConfigError(field, 'must use ws:// or wss://');
  if (url.pathname !== path) throw new ConfigError(field, `must end with the path ${path}`);
  return value;
}

/**
 * validateConfig checks a parsed YAML document and fills in defaults. `baseDir` resolves
 * relative paths (the directory of the config file).
 */
export function validateConfig(doc: unknown, baseDir: string): NodeConfig {
  const o = obj(doc, '(document)');
  checkUnknown(o, ['id', 'datacenter', 'dataDir', 'clusterId', 'secret', 'secretFile', 'listen', 'members', 'tls', 'timeouts', 'tokens', 'priority', 'preferredDatacenters', 'snapshotEvery', 'logLevel', 'faults'], '');
  const id = str(o, 'id', 'id');
  if (!ID.test(id)) throw new ConfigError('id', 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  const datacenter = str(o, 'datacenter', 'datacenter');
  if (!ID.test(datacenter)) throw new ConfigError('datacenter', 'must be 1-64 letters, digits, ".", "_" or "-"');
  const dataDirRaw = str(o, 'dataDir', 'dataDir');
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(baseDir, dataDirRaw);
  const clusterId = str(o, 'clusterId', 'clusterId');
  if (!ID.test(clusterId)) throw new ConfigError('clusterId', 'must be 1-64 letters, digits, ".", "_" or "-"');

  let secret: string;
  if (o.secretFile !== undefined) {
    const path = str(o, 'secretFile', 'secretFile');
    try {
      secret = readFileSync(isAbsolute(path) ? path : resolve(baseDir, path), 'utf8').trim();
    } catch (err) {
      throw new ConfigError('secretFile', `cannot be read: ${(err as Error).message}`);
    }
  } else {
    secret = str(o, 'secret', 'secret');
  }
  if (secret.length < 16) throw new ConfigError(o.secretFile !== undefined ? 'secretFile' : 'secret', 'must be at least 16 characters');

  const listenObj = obj(o.listen, 'listen');
  checkUnknown(listenObj, ['peer', 'client'], 'listen');
  const listen = { peer: hostPort(listenObj.peer, 'listen.peer'), client: hostPort(listenObj.client, 'listen.client') };

  if (!Array.isArray(o.members) || o.members.length === 0) throw new ConfigError('members', 'must be a non-empty list');
  const members: MemberConfig[] = [];
  const seen = new Set<string>();
  o.members.forEach((raw, i) => {
    const field = `members[${i}]`;
    const m = obj(raw, field);
    checkUnknown(m, ['id', 'datacenter', 'role', 'peerUrl', 'clientUrl'], field);
    const mid = str(m, 'id', `${field}.id`);
    if (!ID.test(mid)) throw new ConfigError(`${field}.id`, 'must be a valid node id');
    if (seen.has(mid)) throw new ConfigError(`${field}.id`, `duplicate member id ${mid}`);
    seen.add(mid);
    const role = m.role ?? 'voter';
    if (role !== 'voter' && role !== 'learner') throw new ConfigError(`${field}.role`, 'must be "voter" or "learner"');
    members.push({
      id: mid,
      datacenter: str(m, 'datacenter', `${field}.datacenter`),
      role,
      peerUrl: wsUrl(str(m, 'peerUrl', `${field}.peerUrl`), `${field}.peerUrl`, '/peer'),
      clientUrl: wsUrl(str(m, 'clientUrl', `${field}.clientUrl`), `${field}.clientUrl`, '/client'),
    });
  });
  const self = members.find((m) => m.id === id);
  if (!self) throw new ConfigError('members', `must include this node (${id})`);
  if (self.datacenter !== datacenter) throw new ConfigError('datacenter', `differs from this node's entry in members (${self.datacenter})`);
  if (!members.some((m) => m.role === 'voter')) throw new ConfigError('members', 'must include at least one voter');

  let tls: NodeConfig['tls'] = null;
  if (o.tls !== undefined && o.tls !== null) {
    const t = obj(o.tls, 'tls');
    checkUnknown(t, ['cert', 'key', 'ca'], 'tls');
    const file = (key: string): string => {
      const p = str(t, key, `tls.${key}`);
      const abs = isAbsolute(p) ? p : resolve(baseDir, p);
      try {
        return readFileSync(abs, 'utf8');
      } catch (err) {
        throw new ConfigError(`tls.${key}`, `cannot be read: ${(err as Error).message}`);
      }
    };
    tls = { cert: file('cert'), key: file('key'), ca: t.ca === undefined ? null : file('ca') };
  }

  const tObj = o.timeouts === undefined ? {} : obj(o.timeouts, 'timeouts');
  checkUnknown(tObj, ['profile', 'tickMs', 'electionTicks', 'heartbeatTicks'], 'timeouts');
  const profileName = tObj.profile ?? 'lan';
  if (profileName !== 'lan' && profileName !== 'wan') throw new ConfigError('timeouts.profile', 'must be "lan" or "wan"');
  const base = TIMEOUT_PROFILES[profileName];
  const timeouts: Timeouts = {
    profile: profileName,
    tickMs: int(tObj, 'tickMs', 'timeouts.tickMs', base.tickMs, 1, 10_000),
    electionTicks: int(tObj, 'electionTicks', 'timeouts.electionTicks', base.electionTicks, 2, 10_000),
    heartbeatTicks: int(tObj, 'heartbeatTicks', 'timeouts.heartbeatTicks', base.heartbeatTicks, 1, 10_000),
  };
  if (timeouts.heartbeatTicks >= timeouts.electionTicks) throw new ConfigError('timeouts.heartbeatTicks', 'must be smaller than electionTicks');

  if (!Array.isArray(o.tokens) || o.tokens.length === 0) throw new ConfigError('tokens', 'must list at least one token');
  const tokens: TokenConfig[] = o.tokens.map((raw, i) => {
    const field = `tokens[${i}]`;
    const t = obj(raw, field);
    checkUnknown(t, ['token', 'role', 'prefixes', 'name'], field);
    const token = str(t, 'token', `${field}.token`);
    if (token.length < 16) throw new ConfigError(`${field}.token`, 'must be at least 16 characters');
    const role = t.role;
    if (role !== 'client' && role !== 'reader' && role !== 'admin') throw new ConfigError(`${field}.role`, 'must be "client", "reader" or "admin"');
    const prefixes = t.prefixes ?? ['/'];
    if (!Array.isArray(prefixes) || prefixes.some((p) => typeof p !== 'string' || !p.startsWith('/'))) throw new ConfigError(`${field}.prefixes`, 'must be a list of key prefixes starting with "/"');
    return { token, role, prefixes: prefixes as string[], name: typeof t.name === 'string' ? t.name : `${role}-${i}` };
  });

  const preferred = o.preferredDatacenters ?? [];
  if (!Array.isArray(preferred) || preferred.some((d) => typeof d !== 'string')) throw new ConfigError('preferredDatacenters', 'must be a list of datacenter names');
  const logLevel = o.logLevel ?? 'info';
  if (logLevel !== 'debug' && logLevel !== 'info' && logLevel !== 'warn' && logLevel !== 'error') throw new ConfigError('logLevel', 'must be debug, info, warn or error');

  const f = o.faults === undefined ? {} : obj(o.faults, 'faults');
  checkUnknown(f, ['enabled', 'delayMsByDatacenter', 'jitterMs', 'lossPercent'], 'faults');
  if (f.enabled !== undefined && typeof f.enabled !== 'boolean') throw new ConfigError('faults.enabled', 'must be true or false');
  const delays = f.delayMsByDatacenter === undefined ? {} : obj(f.delayMsByDatacenter, 'faults.delayMsByDatacenter');
  for (const [dc, ms] of Object.entries(delays)) {
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 10_000) throw new ConfigError(`faults.delayMsByDatacenter.${dc}`, 'must be an integer from 0 to 10000');
  }
  const faults = {
    enabled: f.enabled === true,
    delayMsByDatacenter: delays as Record<string, number>,
    jitterMs: int(f, 'jitterMs', 'faults.jitterMs', 0, 0, 10_000),
    lossPercent: int(f, 'lossPercent', 'faults.lossPercent', 0, 0, 100),
  };

  return {
    faults,
    id,
    datacenter,
    dataDir,
    clusterId,
    secret,
    listen,
    members,
    tls,
    timeouts,
    tokens,
    priority: int(o, 'priority', 'priority', 0, 0, 10),
    preferredDatacenters: preferred as string[],
    snapshotEvery: int(o, 'snapshotEvery', 'snapshotEvery', 10_000, 0, 10_000_000),
    logLevel,
  };
}

/** loadConfig reads and validates a YAML file. */
export function loadConfig(path: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', `cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('(document)', `is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateConfig(doc, dirname(resolve(path)));
}
