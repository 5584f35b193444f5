// Effectful. The client API of a node: WebSocket `/client` (bearer tokens with roles, request
// ids, typed errors, pushed watch events) and HTTP `/health`, `/ready`, `/metrics`. Writes go
// through the leader (followers answer NotLeader with the leader's address); reads are
// linearizable through ReadIndex unless the caller asks for a serializable read.

import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { ClusterStatus, KvItem, LockSortWire, Method, Methods, NodeReport, NoticeWire, PushEvent, TopologyView, WatchEvent, WireError } from '../api/clientProtocol.ts';
import { LOCK_SORT_KEYS, MAX_CLIENT_FRAME_BYTES, METHOD_ROLES, parseRequest } from '../api/clientProtocol.ts';
import type { KvEntry } from '../lock/kvStore.ts';
import { matchesPrefix, validateKey, validatePrefix } from '../lock/kvStore.ts';
import type { Command } from '../lock/commands.ts';
import type { ApplyResult, Reply } from '../lock/lockMachine.ts';
import type { Notice, Session } from '../lock/lockTable.ts';
import { validateLockName } from '../lock/lockTable.ts';
import { queryLocks, sessionViews } from '../lock/views.ts';
import type { TokenConfig } from './config.ts';
import type { WardenNode } from './wardenNode.ts';

/** ApiError carries a typed error out of a handler. */
export class ApiError extends Error {
  readonly wire: WireError;
  constructor(code: WireError['code'], message: string, extra: Partial<WireError> = {}) {
    super(message);
    this.wire = { code, message, ...extra };
  }
}

interface Watch {
  readonly id: number;
  readonly prefix: string;
  next: number;
}

interface Connection {
  readonly ws: WebSocket;
  token: TokenConfig | null;
  readonly watches: Map<number, Watch>;
  nextWatchId: number;
  /** Sessions whose notices this connection receives (attached by keep-alive or open). */
  readonly sessions: Set<string>;
}

/** Answer receives the outcome of a request served with callbacks. */
interface Answer<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (err: unknown) => void;
}

interface PendingAcquire {
  readonly conn: Connection;
  readonly resolve: (value: Methods['lock.acquire']['result']) => void;
  readonly reject: (err: ApiError) => void;
}

function toItem(e: KvEntry): KvItem {
  return { key: e.key, value: e.value, revision: e.modRevision, createRevision: e.createRevision, version: e.version };
}

function sha(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** A watcher that falls this far behind (bytes queued) is cancelled instead of buffering forever. */
const WATCH_BUFFER_LIMIT_BYTES = 8 * 1024 * 1024;

/** ClientServer serves clients of one node. */
export class ClientServer {
  private readonly node: WardenNode;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly tokenHashes: { hash: Buffer; token: TokenConfig }[];
  private readonly unsubscribe: (() => void)[];
  private readonly sessionConns = new Map<string, Set<Connection>>();
  private readonly pendingAcquires = new Map<string, PendingAcquire[]>();

  constructor(node: WardenNode) {
    this.node = node;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
    this.tokenHashes = node.config.tokens.map((t) => ({ hash: sha(t.token), token: t }));
    this.unsubscribe = [
      node.onApplied((result) => this.onApplied(result)),
      node.onRoleChange((role) => {
        if (role !== 'leader') this.failPendingAcquires();
      }),
    ];
  }

  connectionCount(): number {
    return this.connections.size;
  }

  /** attach serves HTTP routes and the /client upgrade on a server (shared with /peer or not). */
  attach(server: http.Server | https.Server): void {
    server.on('request', (req, res) => this.handleHttp(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/peer') return; // the peer transport owns this path
      if (path !== '/client') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      let token: TokenConfig | null = null;
      const header = req.headers.authorization;
      if (header !== undefined) {
        token = this.authenticate(header.replace(/^Bearer\s+/i, ''));
        if (!token) {
          socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\ninvalid token\n');
          return;
        }
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, token));
    });
  }

  private authenticate(presented: string): TokenConfig | null {
    const hash = sha(presented);
    let found: TokenConfig | null = null;
    for (const entry of this.tokenHashes) if (timingSafeEqual(hash, entry.hash)) found = entry.token;
    return found;
  }

  private handleHttp(req: IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/health':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.node.report()));
        return;
      case '/ready': {
        const ready = this.node.isReady();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready, leader: this.node.host.status().leaderId }));
        return;
      }
      case '/metrics':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.node.metrics.render());
        return;
      default:
        if (path === '/client' || path === '/peer') res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade required\n');
        else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }

  private accept(ws: WebSocket, token: TokenConfig | null): void {
    const conn: Connection = { ws, token, watches: new Map(), nextWatchId: 1, sessions: new Set() };
    this.connections.add(conn);
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.send(conn, { id: null, error: { code: 'BadRequest', message: 'binary frames are not accepted; send JSON text' } });
        return;
      }
      this.handleFrame(conn, data.toString());
    });
    ws.on('close', () => {
      this.connections.delete(conn);
      for (const sessionId of conn.sessions) this.sessionConns.get(sessionId)?.delete(conn);
      for (const [key, list] of this.pendingAcquires) {
        const kept = list.filter((p) => p.conn !== conn);
        if (kept.length === 0) this.pendingAcquires.delete(key);
        else this.pendingAcquires.set(key, kept);
      }
    });
    ws.on('error', (err) => this.node.log.log('debug', 'client connection error', { error: err.message }));
  }

  private send(conn: Connection, frame: unknown): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(frame));
  }

  private handleFrame(conn: Connection, text: string): void {
    const parsed = parseRequest(text);
    if (!parsed.ok) {
      this.send(conn, { id: parsed.id, error: parsed.error });
      return;
    }
    const { id, method, params } = parsed.request;
    try {
      if (method === 'auth') {
        const p = params as Methods['auth']['params'];
        const token = typeof p.token === 'string' ? this.authenticate(p.token) : null;
        if (!token) throw new ApiError('Unauthenticated', 'invalid token');
        conn.token = token;
        this.send(conn, { id, result: { role: token.role } });
        return;
      }
      if (!conn.token) throw new ApiError('Unauthenticated', 'send a bearer token (Authorization header or the auth method) first');
      if (!METHOD_ROLES[method].includes(conn.token.role)) throw new ApiError('PermissionDenied', `role ${conn.token.role} may not call ${method}`);
      if (method === 'lock.acquire' || method === 'lock.release') {
        this.lockWrite(conn, id, method, params as Record<string, unknown>);
        return;
      }
      this.dispatch(conn, method, params as Record<string, unknown>).then(
        (result) => this.send(conn, { id, result }),
        (err: unknown) => this.sendError(conn, id, method, err),
      );
    } catch (err) {
      this.sendError(conn, id, method, err);
    }
  }

  private sendError(conn: Connection, id: number, method: Method, err: unknown): void {
    if (err instanceof ApiError) this.send(conn, { id, error: err.wire });
    else {
      this.node.log.log('error', 'client request failed', { method, error: (err as Error).stack });
      this.send(conn, { id, error: { code: 'Internal', message: (err as Error).message } });
    }
  }

  /**
   * lockWrite serves lock.acquire and lock.release with callbacks rather than promises: they are
   * most of a busy leader's requests, and each await costs an allocation and a microtask.
   */
  private lockWrite(conn: Connection, id: number, method: 'lock.acquire' | 'lock.release', p: Record<string, unknown>): void {
    const answer: Answer<unknown> = {
      resolve: (result) => this.send(conn, { id, result }),
      reject: (err) => this.sendError(conn, id, method, err),
    };
    try {
      if (method === 'lock.acquire') return this.acquire(conn, p, answer);
      const sessionId = ClientServer.str(p, 'sessionId', 64);
      const name = ClientServer.str(p, 'name', 256);
      this.checkOwner(conn.token as TokenConfig, sessionId);
      // The release is confirmed after the rest of its batch is applied: the grants it caused go
      // out first, because the next holder is waiting and the releaser is not.
      this.proposeOk({ op: 'lock.release', stamp: Date.now(), sessionId, name }, { resolve: () => queueMicrotask(() => answer.resolve({ ok: true })), reject: answer.reject });
    } catch (err) {
      answer.reject(err);
    }
  }

  private checkPrefixAllowed(token: TokenConfig, keyOrPrefix: string): void {
    if (token.role !== 'client') return;
    if (!token.prefixes.some((p) => matchesPrefix(keyOrPrefix, p) || p === '/')) {
      throw new ApiError('PermissionDenied', `token ${token.name} may not access ${keyOrPrefix}`);
    }
  }

  private leaderHint(): WireError['leader'] {
    const leader = this.node.leaderMember();
    return leader ? { id: leader.id, clientUrl: leader.clientUrl } : null;
  }

  private requireLeader(): void {
    if (!this.node.host.isLeader()) {
      const leader = this.leaderHint();
      throw new ApiError('NotLeader', leader ? `this node is not the leader; the leader is ${leader.id}` : 'no leader is known yet; retry shortly', { leader });
    }
  }

  private linearizable(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.node.read((outcome) => {
        if (outcome.ok) resolve();
        else reject(new ApiError('Unavailable', `linearizable read failed (${outcome.reason}); retry`, { leader: this.leaderHint() }));
      });
    });
  }

  /**
   * propose proposes a command on the leader and answers with the state machine's reply.
   * `batched`: the command is in no hurry and may wait briefly to share a batch (proposeBatched).
   */
  private propose(command: Command, answer: Answer<Reply>, batched = false): void {
    this.requireLeader();
    const settle: Parameters<WardenNode['propose']>[1] = (outcome) => {
      if (outcome.ok) answer.resolve(outcome.result.reply);
      else if (outcome.reason === 'NotLeader' || outcome.reason === 'TransferInProgress') answer.reject(new ApiError('NotLeader', 'leadership moved; retry on the leader', { leader: this.leaderHint() }));
      else if (outcome.reason === 'Dropped') answer.reject(new ApiError('Unavailable', 'the write was not committed (leadership changed); it is safe to retry', { leader: this.leaderHint() }));
      else answer.reject(new ApiError('Timeout', 'the write did not complete in time; its outcome is unknown', { leader: this.leaderHint() }));
    };
    if (batched) this.node.proposeBatched(command, settle);
    else this.node.propose(command, settle);
  }

  /** proposeOk is propose with a refusal by the state machine turned into its typed error. */
  private proposeOk(command: Command, answer: Answer<Extract<Reply, { ok: true }>>, batched = false): void {
    this.propose(
      command,
      {
        resolve: (reply) => (reply.ok ? answer.resolve(reply) : answer.reject(this.replyError(reply))),
        reject: answer.reject,
      },
      batched,
    );
  }

  /** write proposes a command on the leader and resolves with the state machine's reply. */
  private write(command: Command): Promise<Reply> {
    return new Promise((resolve, reject) => this.propose(command, { resolve, reject }));
  }

  private async writeOk(command: Command): Promise<Extract<Reply, { ok: true }>> {
    const reply = await this.write(command);
    if (!reply.ok) throw this.replyError(reply);
    return reply;
  }

  private async dispatch(conn: Connection, method: Method, p: Record<string, unknown>): Promise<unknown> {
    const token = conn.token as TokenConfig;
    switch (method) {
      case 'node.report':
        return this.node.report();
      case 'status':
        return this.clusterStatus();
      case 'kv.get': {
        const key = p.key;
        const bad = validateKey(key);
        if (bad) throw new ApiError('InvalidArgument', bad);
        this.checkPrefixAllowed(token, key as string);
        if (p.serializable !== true) await this.linearizable();
        const entry = this.node.machine.kv.get(key as string);
        return { item: entry ? toItem(entry) : null, revision: this.node.machine.kv.revision } satisfies Methods['kv.get']['result'];
      }
      case 'kv.list': {
        const bad = validatePrefix(p.prefix);
        if (bad) throw new ApiError('InvalidArgument', bad);
        this.checkPrefixAllowed(token, p.prefix as string);
        const limit = p.limit === undefined ? 10_000 : p.limit;
        if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > 100_000) throw new ApiError('InvalidArgument', 'limit must be an integer from 1 to 100000');
        if (p.serializable !== true) await this.linearizable();
        return { items: this.node.machine.kv.list(p.prefix as string, limit as number).map(toItem), revision: this.node.machine.kv.revision } satisfies Methods['kv.list']['result'];
      }
      case 'kv.put': {
        const bad = validateKey(p.key);
        if (bad) throw new ApiError('InvalidArgument', bad);
        if (typeof p.value !== 'string') throw new ApiError('InvalidArgument', 'value must be a string');
        const expect = p.expectRevision ?? null;
        if (expect !== null && !(Number.isSafeInteger(expect) && (expect as number) >= 0)) throw new ApiError('InvalidArgument', 'expectRevision must be a non-negative integer or null');
        this.checkPrefixAllowed(token, p.key as string);
        const reply = (await this.writeOk({ op: 'kv.put', stamp: Date.now(), key: p.key as string, value: p.value, expectRevision: expect as number | null, session: null })) as { revision: number; prev: KvEntry | null };
        return { revision: reply.revision, prev: reply.prev ? toItem(reply.prev) : null } satisfies Methods['kv.put']['result'];
      }
      case 'kv.delete': {
        const bad = validateKey(p.key);
        if (bad) throw new ApiError('InvalidArgument', bad);
        const expect = p.expectRevision ?? null;
        if (expect !== null && !(Number.isSafeInteger(expect) && (expect as number) >= 0)) throw new ApiError('InvalidArgument', 'expectRevision must be a non-negative integer or null');
        this.checkPrefixAllowed(token, p.key as string);
        const reply = await this.write({ op: 'kv.delete', stamp: Date.now(), key: p.key as string, expectRevision: expect as number | null });
        if (!reply.ok) {
          if (reply.code === 'NotFound' && 'revision' in reply) return { revision: reply.revision, deleted: false } satisfies Methods['kv.delete']['result'];
          throw this.replyError(reply);
        }
        return { revision: (reply as { revision: number }).revision, deleted: true } satisfies Methods['kv.delete']['result'];
      }
      case 'kv.watch':
        return this.watch(conn, p);
      case 'kv.unwatch': {
        if (!Number.isSafeInteger(p.watchId)) throw new ApiError('InvalidArgument', 'watchId must be an integer');
        if (!conn.watches.delete(p.watchId as number)) throw new ApiError('NotFound', `no watch ${String(p.watchId)}`);
        return { ok: true };
      }
      case 'session.open':
      case 'session.keepAlive':
      case 'session.close':
      case 'sessions.list':
      case 'lock.check':
      case 'locks.list':
      case 'admin.forceRelease':
      case 'events.list':
      case 'settings.get':
      case 'settings.set':
        return this.dispatchLocks(conn, method, p);
      case 'topology':
        return this.topology();
      case 'member.change':
        return this.memberChange(p);
      case 'fault.network': {
        try {
          return this.node.setNetworkFaults(this.parseFaults(p));
        } catch (err) {
          if (err instanceof ApiError) throw err;
          throw new ApiError('PermissionDenied', (err as Error).message);
        }
      }
      case 'auth':
        throw new ApiError('BadRequest', 'auth is handled before dispatch');
    }
  }

  private parseFaults(p: Record<string, unknown>): Parameters<WardenNode['setNetworkFaults']>[0] {
    const out: { -readonly [K in keyof Parameters<WardenNode['setNetworkFaults']>[0]]: Parameters<WardenNode['setNetworkFaults']>[0][K] } = {};
    if (p.delayMsByDatacenter !== undefined) {
      const d = p.delayMsByDatacenter;
      if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new ApiError('InvalidArgument', 'delayMsByDatacenter must map datacenters to milliseconds');
      for (const [dc, ms] of Object.entries(d)) if (!Number.isSafeInteger(ms) || (ms as number) < 0 || (ms as number) > 10_000) throw new ApiError('InvalidArgument', `delayMsByDatacenter.${dc} must be 0-10000`);
      out.delayMsByDatacenter = d as Record<string, number>;
    }
    if (p.jitterMs !== undefined) out.jitterMs = ClientServer.int(p, 'jitterMs', 0, 10_000);
    if (p.lossPercent !== undefined) out.lossPercent = ClientServer.int(p, 'lossPercent', 0, 100);
    if (p.blockedDatacenters !== undefined) {
      if (!Array.isArray(p.blockedDatacenters) || p.blockedDatacenters.some((x) => typeof x !== 'string')) throw new ApiError('InvalidArgument', 'blockedDatacenters must be a list of names');
      out.blockedDatacenters = p.blockedDatacenters as string[];
    }
    return out;
  }

  /**
   * memberChange proposes one membership change (Raft thesis §4.1: one server at a time) and
   * resolves once it is committed and applied. The node must be one the configuration names, so
   * every member knows its addresses.
   */
  private memberChange(p: Record<string, unknown>): Promise<Methods['member.change']['result']> {
    const type = p.type;
    if (type !== 'addVoter' && type !== 'addLearner' && type !== 'promoteLearner' && type !== 'removeNode') throw new ApiError('InvalidArgument', 'type must be addVoter, addLearner, promoteLearner or removeNode');
    const node = ClientServer.str(p, 'node', 64);
    if (!this.node.members.has(node)) throw new ApiError('InvalidArgument', `${node} is not in the cluster configuration's members; add it to every node's members list first`);
    this.requireLeader();
    return new Promise((resolve, reject) => {
      this.node.host.proposeConfChange({ type, node: node as never }, (outcome) => {
        if (outcome.ok) {
          const m = this.node.host.status().membership;
          resolve({ voters: [...m.voters], learners: [...m.learners], index: outcome.index });
        } else if (outcome.reason === 'InvalidConfChange' || outcome.reason === 'ConfChangeInProgress') {
          reject(new ApiError('InvalidArgument', outcome.detail ?? outcome.reason));
        } else if (outcome.reason === 'NotLeader' || outcome.reason === 'TransferInProgress') {
          reject(new ApiError('NotLeader', 'leadership moved; retry on the leader', { leader: this.leaderHint() }));
        } else reject(new ApiError('Unavailable', `the change did not complete (${outcome.reason}); check the membership before retrying`, { leader: this.leaderHint() }));
      });
    });
  }

  /** topology groups nodes by datacenter and adds the measured RTT matrix and its warnings. */
  private async topology(): Promise<TopologyView> {
    const { status, reports } = await this.gather();
    const preferred = this.node.config.preferredDatacenters;
    const names = [...new Set(status.nodes.map((n) => n.datacenter))].sort();
    const datacenters = names.map((name) => ({ name, preferred: preferred.includes(name), nodes: status.nodes.filter((n) => n.datacenter === name) }));
    const rtt: { from: string; to: string; ms: number; measuredAt: number }[] = [];
    for (const r of reports.values()) for (const [to, sample] of Object.entries(r.rtt ?? {})) rtt.push({ from: r.id, to, ms: sample.ms, measuredAt: sample.measuredAt });
    const voters = new Set(status.nodes.filter((n) => n.role === 'voter').map((n) => n.id));
    const voterRtts = rtt.filter((x) => voters.has(x.from) && voters.has(x.to)).map((x) => x.ms);
    const maxVoterRttMs = voterRtts.length > 0 ? Math.max(...voterRtts) : null;
    const electionTimeoutMs = this.node.electionTimeoutMs();
    const warnings: string[] = [];
    if (maxVoterRttMs !== null && electionTimeoutMs < 10 * maxVoterRttMs) {
      warnings.push(`election timeout ${electionTimeoutMs} ms is under ten times the largest voter RTT (${maxVoterRttMs.toFixed(1)} ms); use the wan timeout profile or a longer election timeout`);
    }
    const down = status.nodes.filter((n) => n.state === 'down').map((n) => n.id);
    if (down.length > 0) warnings.push(`unreachable: ${down.join(', ')}`);
    return { clusterId: status.clusterId, term: status.term, leader: status.leader, datacenters, rtt, electionTimeoutMs, maxVoterRttMs, warnings };
  }

  private attachSession(conn: Connection, sessionId: string): void {
    conn.sessions.add(sessionId);
    let set = this.sessionConns.get(sessionId);
    if (!set) {
      set = new Set();
      this.sessionConns.set(sessionId, set);
    }
    set.add(conn);
  }

  private static str(p: Record<string, unknown>, key: string, max = 1024): string {
    const v = p[key];
    if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new ApiError('InvalidArgument', `${key} must be a non-empty string of at most ${max} characters`);
    return v;
  }

  private static int(p: Record<string, unknown>, key: string, min: number, max: number, fallback?: number): number {
    const v = p[key] ?? fallback;
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) throw new ApiError('InvalidArgument', `${key} must be an integer from ${min} to ${max}`);
    return v as number;
  }

  /**
   * checkOwner lets only the token that opened a session (or an admin) renew it, lock with it or
   * close it: session ids are not secrets.
   */
  private checkOwner(token: TokenConfig, sessionId: string): void {
    const session = this.node.machine.table.sessions.get(sessionId);
    if (!session || token.role === 'admin') return;
    if ((session.owner ?? '') !== token.name) throw new ApiError('PermissionDenied', `session ${sessionId} belongs to another client`);
  }

  /**
   * renewable returns the session a keep-alive may renew, or throws SessionNotFound: it is gone,
   * or this leader has already proposed its expiry (its lease lapsed, so the client must not be
   * told it is safe).
   */
  private renewable(sessionId: string): Session {
    const session = this.node.machine.table.sessions.get(sessionId);
    if (!session) throw new ApiError('SessionNotFound', `no session ${sessionId} (it expired or was closed)`);
    if (this.node.leases.isExpiring(sessionId)) throw new ApiError('SessionNotFound', `session ${sessionId} missed its TTL and is expiring`);
    return session;
  }

  private async dispatchLocks(conn: Connection, method: Method, p: Record<string, unknown>): Promise<unknown> {
    const token = conn.token as TokenConfig;
    const table = this.node.machine.table;
    const now = Date.now();
    const age = (id: string): number | null => (this.node.host.isLeader() ? this.node.leases.ageOf(id, now) : null);
    switch (method) {
      case 'session.open': {
        const settings = table.settings;
        const ttlMs = ClientServer.int(p, 'ttlMs', settings.minSessionTtlMs, settings.maxSessionTtlMs);
        const info = p.info as Record<string, unknown> | undefined;
        if (typeof info !== 'object' || info === null) throw new ApiError('InvalidArgument', 'info must be {host, pid, app, label}');
        const clean = {
          host: typeof info.host === 'string' ? info.host.slice(0, 255) : '',
          pid: Number.isSafeInteger(info.pid) ? (info.pid as number) : 0,
          app: typeof info.app === 'string' ? info.app.slice(0, 255) : '',
          label: typeof info.label === 'string' ? info.label.slice(0, 255) : '',
        };
        if (p.datacenter !== undefined && (typeof p.datacenter !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(p.datacenter))) throw new ApiError('InvalidArgument', 'datacenter must be 1-64 letters, digits, ".", "_" or "-"');
        const datacenter = (p.datacenter as string | undefined) ?? this.node.config.datacenter;
        const reply = await this.writeOk({ op: 'session.open', stamp: Date.now(), ttlMs, info: clean, owner: token.name, datacenter });
        const sessionId = (reply as { sessionId: string }).sessionId;
        this.node.leases.renew(sessionId, Date.now());
        this.attachSession(conn, sessionId);
        return { sessionId, ttlMs } satisfies Methods['session.open']['result'];
      }
      case 'session.keepAlive': {
        const sessionId = ClientServer.str(p, 'sessionId', 64);
        this.requireLeader();
        this.checkOwner(token, sessionId);
        this.renewable(sessionId);
        // The lease is renewed as the keep-alive arrives, not once it is answered: an expiry
        // check during the confirmation below must not expire a session whose keep-alive came
        // in time. NB: renewing here is safe even if this node turns out to be deposed: its
        // record only counts while it leads, and a new term grants every session a full TTL.
        this.node.leases.renew(sessionId, Date.now());
        // The answer tells the client its lease is safe, so this node must still lead: a quorum
        // confirms it (ReadIndex) after the keep-alive arrived. A deposed leader that has not
        // heard of its successor would otherwise acknowledge keep-alives that the new leader,
        // counting the TTL from its own election, never sees.
        await this.linearizable();
        const current = this.node.machine.table;
        const session = this.renewable(sessionId);
        this.attachSession(conn, sessionId);
        const locks: Methods['session.keepAlive']['result']['locks'] = [];
        for (const lock of current.locks.values()) for (const h of lock.holders) if (h.sessionId === sessionId) locks.push({ name: lock.name, token: h.token, mode: h.mode });
        return { ttlMs: session.ttlMs, locks } satisfies Methods['session.keepAlive']['result'];
      }
      case 'session.close': {
        const sessionId = ClientServer.str(p, 'sessionId', 64);
        const reason = p.reason === undefined ? null : ClientServer.str(p, 'reason', 1024);
        this.checkOwner(token, sessionId);
        // The owner closes its own session quietly; anyone else (an admin) needs a reason, audited.
        const session = table.sessions.get(sessionId);
        const own = conn.sessions.has(sessionId) || (session !== undefined && (session.owner ?? '') === token.name && reason === null);
        if (!own && reason === null) throw new ApiError('InvalidArgument', 'closing another client\'s session requires a reason');
        await this.writeOk({ op: 'session.close', stamp: Date.now(), sessionId, actor: own ? null : token.name, reason });
        return { ok: true };
      }
      case 'sessions.list': {
        if (p.ids !== undefined && (!Array.isArray(p.ids) || p.ids.length > 1000 || p.ids.some((id) => typeof id !== 'string' || id.length > 64))) throw new ApiError('InvalidArgument', 'ids must be a list of at most 1000 session ids');
        const locksLimit = p.locksLimit === undefined ? undefined : ClientServer.int(p, 'locksLimit', 0, 1_000_000);
        this.requireLeader();
        if (p.serializable !== true) await this.linearizable();
        const options = { ...(p.ids !== undefined ? { ids: p.ids as string[] } : {}), ...(locksLimit !== undefined ? { locksLimit } : {}) };
        return { sessions: sessionViews(table, age, options), now } satisfies Methods['sessions.list']['result'];
      }
      case 'lock.check': {
        const name = ClientServer.str(p, 'name', 256);
        const tokenValue = ClientServer.int(p, 'token', 0, Number.MAX_SAFE_INTEGER);
        await this.linearizable();
        const tokens = table.locks.get(name)?.holders.map((h) => h.token) ?? [];
        return { current: tokens.includes(tokenValue), tokens } satisfies Methods['lock.check']['result'];
      }
      case 'locks.list': {
        for (const key of ['prefix', 'holder', 'datacenter']) {
          if (p[key] !== undefined && (typeof p[key] !== 'string' || p[key].length > 1024)) throw new ApiError('InvalidArgument', `${key} must be a string of at most 1024 characters`);
        }
        for (const key of ['stuckOnly', 'descending', 'serializable']) if (p[key] !== undefined && typeof p[key] !== 'boolean') throw new ApiError('InvalidArgument', `${key} must be true or false`);
        if (p.sort !== undefined && !LOCK_SORT_KEYS.includes(p.sort as LockSortWire)) throw new ApiError('InvalidArgument', `sort must be one of ${LOCK_SORT_KEYS.join(', ')}`);
        const limit = ClientServer.int(p, 'limit', 1, 1_000_000, 10_000);
        const offset = ClientServer.int(p, 'offset', 0, Number.MAX_SAFE_INTEGER, 0);
        this.requireLeader();
        if (p.serializable !== true) await this.linearizable();
        // NB: read the clock after the read point, so ages are not older than the state they describe.
        const at = Date.now();
        const leading = this.node.host.status().role === 'leader';
        const view = queryLocks(table, at, (id) => (leading ? this.node.leases.ageOf(id, at) : null), {
          ...(p.prefix ? { prefix: p.prefix as string } : {}),
          ...(p.holder ? { holder: p.holder as string } : {}),
          ...(p.datacenter ? { datacenter: p.datacenter as string } : {}),
          ...(p.sort ? { sort: p.sort as LockSortWire } : {}),
          stuckOnly: p.stuckOnly === true,
          descending: p.descending === true,
          offset,
          limit,
        });
        return { ...view, now: at } satisfies Methods['locks.list']['result'];
      }
      case 'admin.forceRelease': {
        const name = ClientServer.str(p, 'name', 256);
        const nameError = validateLockName(name);
        if (nameError) throw new ApiError('InvalidArgument', nameError);
        if (typeof p.reason !== 'string' || p.reason.trim().length === 0) throw new ApiError('InvalidArgument', 'a reason is required to release a lock by force');
        const reason = ClientServer.str(p, 'reason', 1024);
        const reply = (await this.writeOk({ op: 'lock.forceRelease', stamp: Date.now(), name, reason, actor: token.name })) as unknown as { previous: { sessionId: string; token: number }[] };
        const next = (table.locks.get(name)?.holders ?? []).map((h) => ({ sessionId: h.sessionId, token: h.token }));
        return { previous: reply.previous.map((h) => ({ sessionId: h.sessionId, token: h.token })), next } satisfies Methods['admin.forceRelease']['result'];
      }
      case 'events.list': {
        const limit = ClientServer.int(p, 'limit', 1, 100_000, 1000);
        const since = p.since === undefined ? -Infinity : ClientServer.int(p, 'since', 0, Number.MAX_SAFE_INTEGER);
        const until = p.until === undefined ? Infinity : ClientServer.int(p, 'until', 0, Number.MAX_SAFE_INTEGER);
        for (const key of ['name', 'kind', 'actor']) if (p[key] !== undefined && typeof p[key] !== 'string') throw new ApiError('InvalidArgument', `${key} must be a string`);
        await this.linearizable();
        const matches = table.events.filter(
          (e) =>
            e.time >= since &&
            e.time <= until &&
            (p.name === undefined || e.name === p.name || (typeof p.name === 'string' && p.name.endsWith('*') && (e.name ?? '').startsWith(p.name.slice(0, -1)))) &&
            (p.kind === undefined || e.kind === p.kind || (typeof p.kind === 'string' && e.kind.startsWith(`${p.kind}.`))) &&
            (p.actor === undefined || e.actor === p.actor),
        );
        return { events: matches.slice(-limit) } satisfies Methods['events.list']['result'];
      }
      case 'settings.get':
        await this.linearizable();
        return { settings: { ...table.settings } };
      case 'settings.set': {
        if (typeof p.patch !== 'object' || p.patch === null || Array.isArray(p.patch)) throw new ApiError('InvalidArgument', 'patch must be an object of settings');
        const reply = (await this.writeOk({ op: 'settings.set', stamp: Date.now(), actor: token.name, patch: p.patch as Record<string, unknown> })) as unknown as { settings: Record<string, unknown> };
        return { settings: { ...reply.settings } };
      }
      default:
        throw new ApiError('UnknownMethod', `unknown method ${method}`);
    }
  }

  /**
   * acquire proposes the request and, when it is queued, waits for the entry that grants it.
   * A retried acquire (after a reconnect or a leader change) is idempotent per session and name.
   */
  private acquire(conn: Connection, p: Record<string, unknown>, answer: Answer<Methods['lock.acquire']['result']>): void {
    const sessionId = ClientServer.str(p, 'sessionId', 64);
    const name = ClientServer.str(p, 'name', 256);
    const nameError = validateLockName(name);
    if (nameError) throw new ApiError('InvalidArgument', nameError);
    if (p.mode !== 'exclusive' && p.mode !== 'shared') throw new ApiError('InvalidArgument', 'mode must be "exclusive" or "shared"');
    const mode = p.mode;
    const waitMs = ClientServer.int(p, 'waitMs', 0, this.node.machine.table.settings.maxWaitMs);
    const lockDelayMs = p.lockDelayMs === undefined || p.lockDelayMs === null ? null : ClientServer.int(p, 'lockDelayMs', 0, 3_600_000);
    this.checkOwner(conn.token as TokenConfig, sessionId);
    this.attachSession(conn, sessionId);
    const granted = (reply: Extract<Reply, { ok: true }>): void => {
      if ('kind' in reply && reply.kind === 'granted') return answer.resolve({ name, mode: reply.mode, token: reply.token });
      // Queued. The grant may already have been applied in the same batch; look before waiting.
      const lock = this.node.machine.table.locks.get(name);
      const holding = lock?.holders.find((h) => h.sessionId === sessionId);
      if (holding) return answer.resolve({ name, mode: holding.mode, token: holding.token });
      if (!lock?.waiters.some((w) => w.sessionId === sessionId)) {
        if (!this.node.machine.table.sessions.has(sessionId)) return answer.reject(new ApiError('SessionNotFound', `session ${sessionId} ended while waiting`));
        return answer.reject(new ApiError('WouldBlock', `gave up waiting for ${name} after ${waitMs} ms`));
      }
      const key = `${sessionId}\u0000${name}`;
      const list = this.pendingAcquires.get(key) ?? [];
      list.push({ conn, resolve: answer.resolve, reject: answer.reject });
      this.pendingAcquires.set(key, list);
    };
    this.proposeOk({ op: 'lock.acquire', stamp: Date.now(), sessionId, name, mode, waitMs, lockDelayMs }, { resolve: granted, reject: answer.reject }, waitMs > 0 && this.mustQueue(name, sessionId, mode));
  }

  /**
   * mustQueue says whether, as far as the applied state shows, an acquire can only be queued:
   * another session holds the lock in a conflicting mode. (A guess, for batching only: the
   * state machine decides when the entry is applied.)
   */
  private mustQueue(name: string, sessionId: string, mode: 'exclusive' | 'shared'): boolean {
    const lock = this.node.machine.table.locks.get(name);
    if (!lock || lock.holders.length === 0 || lock.holders.some((h) => h.sessionId === sessionId)) return false;
    return mode === 'exclusive' || lock.holders.some((h) => h.mode === 'exclusive');
  }

  /** settleAcquires answers the acquires waiting for this session and name; returns those it answered. */
  private settleAcquires(sessionId: string, name: string, settle: (p: PendingAcquire) => void): readonly PendingAcquire[] | null {
    const key = `${sessionId}\u0000${name}`;
    const list = this.pendingAcquires.get(key);
    if (!list) return null;
    this.pendingAcquires.delete(key);
    for (const p of list) settle(p);
    return list;
  }

  private failPendingAcquires(): void {
    const all = [...this.pendingAcquires.values()].flat();
    this.pendingAcquires.clear();
    for (const p of all) p.reject(new ApiError('NotLeader', 'leadership moved while waiting; retry the acquire on the new leader', { leader: this.leaderHint() }));
  }

  private onApplied(result: ApplyResult): void {
    this.publish(result.events);
    for (const notice of result.notices) this.deliverNotice(notice);
  }

  private deliverNotice(notice: Notice): void {
    // Connections whose waiting acquire this notice answers: the answer already tells them.
    let answered: readonly PendingAcquire[] | null = null;
    switch (notice.type) {
      case 'lockGranted':
        answered = this.settleAcquires(notice.sessionId, notice.name, (p) => p.resolve({ name: notice.name, mode: notice.mode, token: notice.token }));
        break;
      case 'lockWaitTimedOut':
        answered = this.settleAcquires(notice.sessionId, notice.name, (p) => p.reject(new ApiError('WouldBlock', `gave up waiting for ${notice.name}`)));
        break;
      case 'sessionEnded':
        for (const [key, list] of [...this.pendingAcquires]) {
          if (!key.startsWith(`${notice.sessionId}\u0000`)) continue;
          this.pendingAcquires.delete(key);
          for (const p of list) p.reject(new ApiError('SessionNotFound', `session ${notice.sessionId} ${notice.reason} while waiting`));
        }
        break;
      case 'lockLost':
        break;
    }
    const wire = notice as NoticeWire;
    for (const conn of this.sessionConns.get(notice.sessionId) ?? []) if (!answered?.some((p) => p.conn === conn)) this.send(conn, { event: 'notice', notice: wire } satisfies PushEvent);
    if (notice.type === 'sessionEnded') this.sessionConns.delete(notice.sessionId);
  }

  private replyError(reply: Extract<Reply, { ok: false }>): ApiError {
    switch (reply.code) {
      case 'CasConflict':
        return new ApiError('CasConflict', `revision mismatch: the key is at revision ${reply.current?.modRevision ?? 0}`, { current: reply.current ? toItem(reply.current) : null });
      case 'NotFound':
        return new ApiError('NotFound', 'message' in reply ? reply.message : 'no such key');
      case 'TooLarge':
        return new ApiError('TooLarge', reply.message);
      case 'WouldBlock':
        return new ApiError('WouldBlock', reply.message);
      case 'SessionNotFound':
        return new ApiError('SessionNotFound', reply.message);
      case 'NotHolder':
        return new ApiError('NotHolder', reply.message);
      default:
        return new ApiError('InvalidArgument', reply.message);
    }
  }

  private watch(conn: Connection, p: Record<string, unknown>): Methods['kv.watch']['result'] {
    const bad = validatePrefix(p.prefix);
    if (bad) throw new ApiError('InvalidArgument', bad);
    this.checkPrefixAllowed(conn.token as TokenConfig, p.prefix as string);
    const kv = this.node.machine.kv;
    const from = p.fromRevision ?? null;
    if (from !== null && !(Number.isSafeInteger(from) && (from as number) >= 1)) throw new ApiError('InvalidArgument', 'fromRevision must be a positive integer or null');
    let backlog: WatchEvent[] = [];
    if (from !== null) {
      const events = kv.eventsSince(from as number, p.prefix as string);
      if (events === null) throw new ApiError('Compacted', `revision ${String(from)} is older than the retained history (oldest ${kv.oldestWatchableRevision}); list and watch from the current revision`);
      backlog = events;
    }
    const watch: Watch = { id: conn.nextWatchId++, prefix: p.prefix as string, next: kv.revision + 1 };
    conn.watches.set(watch.id, watch);
    // The backlog rides in the response, so it reaches the client before any live event.
    return { watchId: watch.id, revision: kv.revision, events: backlog };
  }

  private push(conn: Connection, event: PushEvent): void {
    if (conn.ws.bufferedAmount > WATCH_BUFFER_LIMIT_BYTES && event.event === 'watch') {
      conn.watches.delete(event.watchId);
      this.send(conn, { event: 'watchCanceled', watchId: event.watchId, error: { code: 'Unavailable', message: 'watcher is too slow; resume from the last revision it saw' } });
      return;
    }
    this.send(conn, event);
  }

  private publish(events: readonly WatchEvent[]): void {
    if (events.length === 0) return;
    for (const conn of this.connections) {
      for (const watch of conn.watches.values()) {
        const matching = events.filter((e) => e.revision >= watch.next && matchesPrefix(e.key, watch.prefix));
        const last = events[events.length - 1] as WatchEvent;
        watch.next = Math.max(watch.next, last.revision + 1);
        if (matching.length > 0) this.push(conn, { event: 'watch', watchId: watch.id, events: matching });
      }
    }
  }

  /** clusterStatus asks every member for its report (in parallel, bounded in time) and merges them. */
  private async clusterStatus(): Promise<ClusterStatus> {
    return (await this.gather()).status;
  }

  private async gather(): Promise<{ status: ClusterStatus; reports: Map<string, NodeReport> }> {
    const self = this.node.report();
    const reports = await Promise.all(
      this.node.config.members.map((m) => (m.id === self.id ? Promise.resolve(self) : fetchReport(m.clientUrl, this.node.config.tls?.ca ?? null, 1000))),
    );
    const byId = new Map<string, NodeReport>();
    for (const r of reports) if (r) byId.set(r.id, r);
    let leader: NodeReport | null = null;
    for (const r of byId.values()) if (r.state === 'leader' && (!leader || r.term > leader.term)) leader = r;
    const members = this.node.host.status().membership;
    const nodes: ClusterStatus['nodes'][number][] = this.node.config.members.map((m) => {
      const r = byId.get(m.id);
      const role = members.voters.includes(m.id as never) ? 'voter' : members.learners.includes(m.id as never) ? 'learner' : 'none';
      if (!r) return { id: m.id, datacenter: m.datacenter, role, state: 'down', term: 0, commitIndex: 0, appliedIndex: 0, lagEntries: 0, lastContactMs: null, clientUrl: m.clientUrl };
      return {
        id: r.id,
        datacenter: r.datacenter,
        role,
        state: r.state,
        term: r.term,
        commitIndex: r.commitIndex,
        appliedIndex: r.appliedIndex,
        lagEntries: leader ? Math.max(0, leader.lastIndex - r.lastIndex, leader.commitIndex - r.appliedIndex) : 0,
        lastContactMs: r.lastContactMs,
        clientUrl: r.clientUrl,
      };
    });
    const term = Math.max(...nodes.map((n) => n.term));
    const status: ClusterStatus = {
      clusterId: this.node.config.clusterId,
      term,
      revision: leader?.revision ?? self.revision,
      leader: leader ? { id: leader.id, datacenter: leader.datacenter } : null,
      nodes,
    };
    return { status, reports: byId };
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    for (const conn of this.connections) conn.ws.terminate();
    this.connections.clear();
    this.wss.close();
  }
}

/** fetchReport GETs a member's /health, derived from its client URL; null when unreachable. */
function fetchReport(clientUrl: string, ca: string | null, timeoutMs: number): Promise<NodeReport | null> {
  const url = new URL(clientUrl);
  const secure = url.protocol === 'wss:';
  const target = `${secure ? 'https' : 'http'}://${url.host}/health`;
  return new Promise((resolve) => {
    const get = secure ? https.get : http.get;
    const req = get(target, { timeout: timeoutMs, ...(secure && ca ? { ca } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > 64 * 1024) req.destroy();
      });
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(body) as NodeReport) : null);
        } catch {
          resolve(null);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}
