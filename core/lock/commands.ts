// Pure. The commands Warden replicates through Raft, their binary encoding (UTF-8 JSON) and
// strict decoding. Every command carries the leader's timestamp (`stamp`), so that rules based
// on time give the same answer on every replica.

import type { LockModeWire, SessionInfoWire } from '../api/clientProtocol.ts';

/** LockMode: exclusive holders exclude everyone; shared holders coexist. */
export type LockMode = LockModeWire;

/** SessionInfo describes the client process behind a session, for people reading the console. */
export type SessionInfo = SessionInfoWire;

/** SettingsPatch changes cluster settings; see `Settings` in lockTable.ts. */
export type SettingsPatch = Readonly<Record<string, unknown>>;

/** Command is one replicated operation on the lock and configuration state machine. */
export type Command =
  | { readonly op: 'kv.put'; readonly stamp: number; readonly key: string; readonly value: string; readonly expectRevision: number | null; readonly session: string | null }
  | { readonly op: 'kv.delete'; readonly stamp: number; readonly key: string; readonly expectRevision: number | null }
  /**
   * `owner` names the token that opened the session; only it (or an admin) may use the session.
   * `datacenter` is where the node that proposed the open runs (absent in entries written before
   * it existed), so operators can tell which datacenter a lock holder lives in.
   */
  | { readonly op: 'session.open'; readonly stamp: number; readonly ttlMs: number; readonly info: SessionInfo; readonly owner?: string; readonly datacenter?: string }
  | { readonly op: 'session.close'; readonly stamp: number; readonly sessionId: string; readonly actor: string | null; readonly reason: string | null }
  /** Proposed by the leader when a session missed its TTL. */
  | { readonly op: 'session.expire'; readonly stamp: number; readonly sessionId: string }
  | { readonly op: 'lock.acquire'; readonly stamp: number; readonly sessionId: string; readonly name: string; readonly mode: LockMode; readonly waitMs: number; readonly lockDelayMs: number | null }
  | { readonly op: 'lock.release'; readonly stamp: number; readonly sessionId: string; readonly name: string }
  | { readonly op: 'lock.forceRelease'; readonly stamp: number; readonly name: string; readonly reason: string; readonly actor: string }
  /** Proposed by the leader when timed work is due (lock-delay over, waiters past their wait). */
  | { readonly op: 'clock'; readonly stamp: number }
  | { readonly op: 'settings.set'; readonly stamp: number; readonly actor: string; readonly patch: SettingsPatch };

/** DATACENTER_MAX_LENGTH bounds the datacenter a session.open entry may carry. */
export const DATACENTER_MAX_LENGTH = 64;

/** InvalidCommand is what a payload that does not decode becomes; it applies as a no-op. */
export interface InvalidCommand {
  readonly op: 'invalid';
  readonly error: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** encodeCommand serializes a command for a log entry. */
export function encodeCommand(command: Command): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

type Obj = Record<string, unknown>;

const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isNullableStr = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isNullableNat = (v: unknown): v is number | null => v === null || (Number.isSafeInteger(v) && (v as number) >= 0);

function decodeInfo(v: unknown): SessionInfo | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Obj;
  if (!isStr(o.host) || !isInt(o.pid) || !isStr(o.app) || !isStr(o.label)) return null;
  return { host: o.host, pid: o.pid, app: o.app, label: o.label };
}

/** invalid names what is wrong with a payload. A module function, not a closure: decodeCommand runs for every applied entry. */
function invalid(op: unknown, what: string): InvalidCommand {
  return { op: 'invalid', error: `${String(op)}: ${what}` };
}

/**
 * decodeCommand parses a log entry's payload. A payload that does not decode is applied as a
 * no-op with an error result (never a crash), so one bad entry cannot stop a replica.
 */
export function decodeCommand(data: Uint8Array): Command | InvalidCommand {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return { op: 'invalid', error: 'payload is not UTF-8 JSON' };
  }
  if (typeof value !== 'object' || value === null) return { op: 'invalid', error: 'payload is not an object' };
  const v = value as Obj;
  if (typeof v.stamp !== 'number' || !Number.isFinite(v.stamp)) return { op: 'invalid', error: 'missing stamp' };
  const stamp = v.stamp;
  switch (v.op) {
    case 'kv.put':
      if (!isStr(v.key) || !isStr(v.value)) return invalid(v.op, 'needs key and value');
      if (!isNullableStr(v.session)) return invalid(v.op, 'bad session');
      if (!isNullableNat(v.expectRevision)) return invalid(v.op, 'bad expectRevision');
      return { op: 'kv.put', stamp, key: v.key, value: v.value, expectRevision: v.expectRevision, session: v.session };
    case 'kv.delete':
      if (!isStr(v.key)) return invalid(v.op, 'needs key');
      if (!isNullableNat(v.expectRevision)) return invalid(v.op, 'bad expectRevision');
      return { op: 'kv.delete', stamp, key: v.key, expectRevision: v.expectRevision };
    case 'session.open': {
      const info = decodeInfo(v.info);
      if (!isInt(v.ttlMs) || !info) return invalid(v.op, 'needs ttlMs and info');
      if (v.owner !== undefined && !isStr(v.owner)) return invalid(v.op, 'bad owner');
      if (v.datacenter !== undefined && !(isStr(v.datacenter) && v.datacenter.length > 0 && v.datacenter.length <= DATACENTER_MAX_LENGTH)) return invalid(v.op, 'bad datacenter');
      return { op: 'session.open', stamp, ttlMs: v.ttlMs, info, ...(isStr(v.owner) ? { owner: v.owner } : {}), ...(isStr(v.datacenter) ? { datacenter: v.datacenter } : {}) };
    }
    case 'session.close':
      if (!isStr(v.sessionId) || !isNullableStr(v.actor) || !isNullableStr(v.reason)) return invalid(v.op, 'needs sessionId');
      return { op: 'session.close', stamp, sessionId: v.sessionId, actor: v.actor, reason: v.reason };
    case 'session.expire':
      if (!isStr(v.sessionId)) return invalid(v.op, 'needs sessionId');
      return { op: 'session.expire', stamp, sessionId: v.sessionId };
    case 'lock.acquire':
      if (!isStr(v.sessionId) || !isStr(v.name) || (v.mode !== 'exclusive' && v.mode !== 'shared') || !isInt(v.waitMs) || !isNullableNat(v.lockDelayMs)) return invalid(v.op, 'needs sessionId, name, mode, waitMs');
      return { op: 'lock.acquire', stamp, sessionId: v.sessionId, name: v.name, mode: v.mode, waitMs: v.waitMs, lockDelayMs: v.lockDelayMs };
    case 'lock.release':
      if (!isStr(v.sessionId) || !isStr(v.name)) return invalid(v.op, 'needs sessionId and name');
      return { op: 'lock.release', stamp, sessionId: v.sessionId, name: v.name };
    case 'lock.forceRelease':
      if (!isStr(v.name) || !isStr(v.reason) || !isStr(v.actor)) return invalid(v.op, 'needs name, reason and actor');
      return { op: 'lock.forceRelease', stamp, name: v.name, reason: v.reason, actor: v.actor };
    case 'clock':
      return { op: 'clock', stamp };
    case 'settings.set':
      if (!isStr(v.actor) || typeof v.patch !== 'object' || v.patch === null || Array.isArray(v.patch)) return invalid(v.op, 'needs actor and patch');
      return { op: 'settings.set', stamp, actor: v.actor, patch: v.patch as SettingsPatch };
    default:
      return { op: 'invalid', error: `unknown op ${JSON.stringify(v.op)}` };
  }
}
