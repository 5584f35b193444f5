// Effectful. The composition root of a headless node: SQLite storage, WebSocket peer links,
// the Raft host, the lock and configuration state machine, timers, the HTTP endpoints and the
// client API. `warden node` and the local cluster launcher both run exactly this.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { NetworkFaults, NodeReport } from '../api/clientProtocol.ts';
import { encodeCommand } from '../lock/commands.ts';
import type { Command } from '../lock/commands.ts';
import type { ApplyResult } from '../lock/lockMachine.ts';
import { LeaderDuties, settledOf } from '../lock/leaderDuties.ts';
import type { LeaseKeeper } from '../lock/leases.ts';
import { LockMachine } from '../lock/lockMachine.ts';
import { COMMIT_HOLD_MS, NodeHost } from '../node/nodeHost.ts';
import type { ProposalOutcome, ReadOutcome } from '../node/nodeHost.ts';
import type { Message, NodeId, RaftConfig } from '../raft/types.ts';
import { nodeId } from '../raft/types.ts';
import { Prng } from '../util/prng.ts';
import { SqliteLogStorage } from '../storage/sqliteLogStorage.ts';
import { WsTransport } from '../transport/wsTransport.ts';
import type { RttSample } from '../transport/wsTransport.ts';
import { ClientServer } from './clientServer.ts';
import type { MemberConfig, NodeConfig } from './config.ts';
import { TIMEOUT_PROFILES } from './config.ts';
import type { Logger } from './log.ts';
import { Histogram, Registry } from './metrics.ts';

/** ProposalTimeout is the outcome of a proposal that found no answer before its deadline. */
type ProposalTimeout = { readonly ok: false; readonly reason: 'Timeout'; readonly leaderHint: NodeId | null };

/** The longest a proposeBatched command waits for company (see there). */
const BATCH_WAIT_MS = 2;

interface PendingProposal {
  readonly callback: (outcome: ProposalOutcome<ApplyResult> | ProposalTimeout) => void;
  /** performance.now() when proposed, for the commit latency histogram. */
  readonly started: number;
  /** Date.now() after which the outcome is reported as unknown. */
  readonly deadline: number;
  done: boolean;
}

/** WardenNode is a running node. */
export class WardenNode {
  readonly config: NodeConfig;
  readonly id: NodeId;
  readonly machine = new LockMachine();
  readonly host: NodeHost<ApplyResult>;
  readonly storage: SqliteLogStorage;
  readonly transport: WsTransport;
  readonly metrics = new Registry();
  readonly fsyncSeconds = new Histogram([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
  readonly commitSeconds = new Histogram([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]);
  readonly log: Logger;
  readonly members: ReadonlyMap<string, MemberConfig>;
  readonly counters = { proposals: 0, proposalsFailed: 0, applied: 0, leaderChanges: 0, elections: 0 };
  private readonly appliedListeners = new Set<(result: ApplyResult) => void>();
  private readonly roleListeners = new Set<(role: string) => void>();
  private readonly duties = new LeaderDuties();
  private lastRole = 'follower';
  /** Proposals awaiting their outcome here; a deposed leader answers them at once (outcome unknown). */
  private readonly pendingProposals = new Set<PendingProposal>();
  private lastPlacementCheck = 0;
  /** The tick length in force: the configured one, or the cluster setting's profile. */
  private tickMs: number;
  /** Injected network faults (local clusters only). */
  private faults: NetworkFaults;
  private readonly servers: (http.Server | https.Server)[] = [];
  private clientServer!: ClientServer;
  private tickTimer: NodeJS.Timeout | null = null;
  /** Commands waiting in proposeBatched, in arrival order. */
  private deferred: { readonly command: Command; readonly callback: (outcome: ProposalOutcome<ApplyResult> | ProposalTimeout) => void }[] = [];
  private deferTimer: NodeJS.Timeout | null = null;
  private lastLeaderContact = Date.now();
  private lastLeaderId: string | null = null;
  private lastTerm = 0;
  private closed = false;
  /** Addresses actually bound (ports may have been 0 in tests). */
  peerAddress: AddressInfo | null = null;
  clientAddress: AddressInfo | null = null;

  private constructor(config: NodeConfig, log: Logger) {
    this.config = config;
    this.id = nodeId(config.id);
    this.log = log;
    this.tickMs = config.timeouts.tickMs;
    this.members = new Map(config.members.map((m) => [m.id, m]));
    const bootstrap = {
      voters: config.members.filter((m) => m.role === 'voter').map((m) => nodeId(m.id)).sort(),
      learners: config.members.filter((m) => m.role === 'learner').map((m) => nodeId(m.id)).sort(),
    };
    this.storage = SqliteLogStorage.open({
      dataDir: config.dataDir,
      clusterId: config.clusterId,
      nodeId: this.id,
      bootstrap,
      onFsync: (ms) => this.fsyncSeconds.observe(ms / 1000),
      // The WAL's fsync runs on libuv's thread pool, so the event loop keeps serving clients and
      // peers while the disk flushes; Readys still complete only once durable.
      backgroundSync: { onFailure: (error) => this.storageFailed(error) },
    });
    const peers = new Map<NodeId, string>();
    for (const m of config.members) if (m.id !== config.id) peers.set(nodeId(m.id), m.peerUrl);
    this.faults = { delayMsByDatacenter: { ...config.faults.delayMsByDatacenter }, jitterMs: config.faults.jitterMs, lossPercent: config.faults.lossPercent, blockedDatacenters: [] };
    const transport = new WsTransport({
      self: this.id,
      clusterId: config.clusterId,
      secret: config.secret,
      peers,
      ...(config.tls?.ca ? { tls: { ca: config.tls.ca } } : {}),
      maxPayloadBytes: 4 * 1024 * 1024,
      onMessage: (m) => this.onPeerMessage(m),
      log: (level, msg, fields) => this.log.log(level, msg, { component: 'transport', ...fields }),
      linkDelayMs: (to) => this.linkDelayMs(to),
    });
    this.transport = transport;
    const preferred = config.preferredDatacenters;
    const raftConfig: RaftConfig = {
      id: this.id,
      electionTicks: config.timeouts.electionTicks,
      heartbeatTicks: config.timeouts.heartbeatTicks,
      // Earlier preferred datacenters campaign first: each place down waits one more election timeout.
      priority: config.priority + (preferred.includes(config.datacenter) ? preferred.length - preferred.indexOf(config.datacenter) : 0),
      maxPriority: config.priority + preferred.length,
      preVote: true,
      checkQuorum: true,
      maxEntriesPerMessage: 512,
      maxBytesPerMessage: 1024 * 1024,
      maxInflightMessages: 256,
    };
    const seed = randomBytes(4).readUInt32LE(0);
    this.host = new NodeHost<ApplyResult>({
      config: raftConfig,
      storage: this.storage,
      // Injected faults drop messages here; delays are applied per link by the transport.
      transport: { send: (messages) => transport.send(messages.filter((m) => this.canReach(m.to))) },
      random: new Prng(seed),
      snapshotEvery: config.snapshotEvery,
      schedule: (run) => setImmediate(run),
      holdCommitOnly: (release) => {
        const timer = setTimeout(release, COMMIT_HOLD_MS);
        return () => clearTimeout(timer);
      },
      stateMachine: {
        apply: (entry) => this.machine.applyCommand(entry.data, entry.index),
        snapshot: () => this.machine.snapshot(),
        restore: (data, meta) => this.machine.restore(data, meta),
      },
      onApplied: (_entry, result) => {
        this.counters.applied++;
        if (result) for (const listener of this.appliedListeners) listener(result);
      },
    });
    this.registerMetrics();
  }

  /** start opens storage, binds listeners and starts ticking. */
  static async start(config: NodeConfig, log: Logger): Promise<WardenNode> {
    const node = new WardenNode(config, log);
    try {
      await node.listen();
    } catch (err) {
      await node.close();
      throw err;
    }
    node.tickTimer = setInterval(() => node.tick(), node.tickMs);
    node.log.log('info', 'node started', { peer: node.peerAddress, client: node.clientAddress, term: node.host.status().term });
    return node;
  }

  private async listen(): Promise<void> {
    const make = (): http.Server | https.Server => (this.config.tls ? https.createServer({ cert: this.config.tls.cert, key: this.config.tls.key }) : http.createServer());
    const bind = (server: http.Server | https.Server, host: string, port: number): Promise<AddressInfo> =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    const { peer, client } = this.config.listen;
    const peerServer = make();
    this.servers.push(peerServer);
    this.transport.attach(peerServer);
    this.clientServer = new ClientServer(this);
    const shared = peer.host === client.host && peer.port === client.port;
    const clientServer = shared ? peerServer : make();
    if (!shared) this.servers.push(clientServer);
    this.clientServer.attach(clientServer);
    this.peerAddress = await bind(peerServer, peer.host, peer.port);
    this.clientAddress = shared ? this.peerAddress : await bind(clientServer, client.host, client.port);
    // Dial every peer now, so that round-trip times are measured on every link.
    this.transport.start();
  }

  /**
   * followTimeoutProfile applies the replicated `timeoutProfile` setting: profiles differ in
   * tick length only (the tick counts are the same), so switching restarts the tick timer.
   */
  private followTimeoutProfile(): void {
    const profile = this.machine.table.settings.timeoutProfile;
    const wanted = profile === null ? this.config.timeouts.tickMs : TIMEOUT_PROFILES[profile].tickMs;
    if (wanted === this.tickMs || this.tickTimer === null) return;
    this.log.log('info', 'timeout profile changed by cluster settings', { profile, tickMs: wanted });
    this.tickMs = wanted;
    clearInterval(this.tickTimer);
    this.tickTimer = setInterval(() => this.tick(), wanted);
  }

  private tick(): void {
    this.followTimeoutProfile();
    this.host.tick();
    this.expireProposals(Date.now());
    const s = this.host.status();
    if (s.role !== this.lastRole) {
      // A leader that steps down cannot tell whether its uncommitted entries will survive: say
      // so now rather than after the proposal deadline, so clients retry on the new leader.
      if (this.lastRole === 'leader') for (const pending of [...this.pendingProposals]) this.giveUp(pending);
      this.lastRole = s.role;
      for (const listener of this.roleListeners) listener(s.role);
    }
    if (s.role === 'leader') this.leaderDuties(s.term);
    else this.duties.stepDown();
    if (s.term !== this.lastTerm) {
      this.lastTerm = s.term;
      this.counters.elections++;
    }
    if (s.leaderId !== this.lastLeaderId) {
      this.lastLeaderId = s.leaderId;
      if (s.leaderId !== null) this.counters.leaderChanges++;
      this.log.log('info', 'leader changed', { leader: s.leaderId, term: s.term, role: s.role });
    }
  }

  /**
   * leaderDuties runs on every tick of the leader: grant every session a full TTL on taking
   * office, propose expiry for sessions that missed their TTL, and propose a clock entry when
   * timed lock work (lock-delay over, waits past their deadline) is due.
   */
  private leaderDuties(term: number): void {
    const now = Date.now();
    for (const duty of this.duties.tick(this.machine.table, term, now, this.tickMs)) {
      if (duty.command.op === 'session.expire') this.log.log('info', 'session missed its TTL; proposing expiry', { sessionId: duty.command.sessionId });
      this.propose(duty.command, (outcome) => duty.settled(settledOf(outcome)));
    }
    this.placeLeader(now);
  }

  /** leases is the leader's keep-alive record; meaningful only while this node leads. */
  get leases(): LeaseKeeper {
    return this.duties.leases;
  }

  /**
   * placeLeader hands leadership to a voter in a preferred datacenter once one is caught up,
   * when this leader is elsewhere (Raft thesis §3.10 leadership transfer).
   */
  private placeLeader(now: number): void {
    const preferred = this.config.preferredDatacenters;
    const rank = (dc: string): number => (preferred.includes(dc) ? preferred.indexOf(dc) : preferred.length);
    if (preferred.length === 0 || rank(this.config.datacenter) === 0) return;
    if (now - this.lastPlacementCheck < this.electionTimeoutMs()) return;
    this.lastPlacementCheck = now;
    const s = this.host.status();
    if (s.transferee !== null) return;
    for (const dc of preferred.slice(0, rank(this.config.datacenter))) {
      for (const [id, pr] of s.progress) {
        if (id === this.id || this.datacenterOf(id) !== dc || !s.membership.voters.includes(id)) continue;
        if (pr.matchIndex === s.lastIndex && pr.recentActive) {
          this.log.log('info', 'handing leadership to a preferred datacenter', { to: id, datacenter: dc });
          this.host.transferLeadership(id);
          return;
        }
      }
    }
  }

  /**
   * storageFailed stops a node whose storage can no longer make writes durable (a background
   * fsync failed): it must neither acknowledge nor vote again (Raft §5: persist before
   * responding). The error is then rethrown outside any handler, so that `warden node` exits and
   * a supervisor restarts it, exactly as a failed synchronous write does.
   */
  private storageFailed(error: Error): void {
    if (this.closed) return;
    this.log.log('error', 'storage failed; stopping the node', { error: error.message, code: (error as { code?: string }).code });
    this.host.stop();
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    setImmediate(() => {
      throw error;
    });
  }

  /** onRoleChange subscribes to changes of this node's Raft role. */
  onRoleChange(listener: (role: string) => void): () => void {
    this.roleListeners.add(listener);
    return () => this.roleListeners.delete(listener);
  }

  private datacenterOf(id: string): string {
    return this.members.get(id)?.datacenter ?? '';
  }

  /** Injected latency, jitter and loss apply between datacenters only, never within one. */
  private linkDelayMs(to: string): number {
    const dc = this.datacenterOf(to);
    if (dc === this.config.datacenter) return 0;
    const base = this.faults.delayMsByDatacenter[dc] ?? 0;
    const jitter = this.faults.jitterMs > 0 ? Math.random() * this.faults.jitterMs : 0;
    return base + jitter;
  }

  /**
   * reachableRtt is the transport's RTT per peer, without peers in an isolated datacenter: the
   * isolation fault drops Raft traffic here, above the transport, whose pings still get through;
   * a cut link reports no round trip, as a real one would not.
   */
  private reachableRtt(): Map<NodeId, RttSample> {
    const rtt = this.transport.rtt();
    if (this.faults.blockedDatacenters.length === 0) return rtt;
    for (const peer of [...rtt.keys()]) if (this.faults.blockedDatacenters.includes(this.datacenterOf(peer))) rtt.delete(peer);
    return rtt;
  }

  private canReach(peer: string): boolean {
    const dc = this.datacenterOf(peer);
    if (dc === this.config.datacenter) return true;
    if (this.faults.blockedDatacenters.includes(dc)) return false;
    return this.faults.lossPercent === 0 || Math.random() * 100 >= this.faults.lossPercent;
  }

  /** networkFaults is the current injected network condition. */
  networkFaults(): NetworkFaults {
    return this.faults;
  }

  /** setNetworkFaults changes injected faults; refused unless the config enabled fault injection. */
  setNetworkFaults(patch: Partial<NetworkFaults>): NetworkFaults {
    if (!this.config.faults.enabled) throw new RangeError('fault injection is not enabled on this node (faults.enabled in its config)');
    this.faults = {
      delayMsByDatacenter: patch.delayMsByDatacenter ? { ...patch.delayMsByDatacenter } : this.faults.delayMsByDatacenter,
      jitterMs: patch.jitterMs ?? this.faults.jitterMs,
      lossPercent: patch.lossPercent ?? this.faults.lossPercent,
      blockedDatacenters: patch.blockedDatacenters ? [...patch.blockedDatacenters] : this.faults.blockedDatacenters,
    };
    this.log.log('warn', 'network faults changed', { faults: this.faults });
    return this.faults;
  }

  private onPeerMessage(m: Message): void {
    if (this.faults.blockedDatacenters.length > 0 && this.faults.blockedDatacenters.includes(this.datacenterOf(m.from))) return;
    if (m.type === 'AppendEntries' || m.type === 'Heartbeat' || m.type === 'InstallSnapshot') this.lastLeaderContact = Date.now();
    this.host.receive(m);
  }

  /** onApplied subscribes to results of applied commands (watch events); returns an unsubscribe. */
  onApplied(listener: (result: ApplyResult) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  /**
   * propose replicates a command and reports its outcome, with a deadline. NB: the deadline is
   * checked on every tick rather than with a timer per proposal (one timer per write was a
   * measurable share of a busy leader's time); it fires at most one tick late.
   */
  propose(command: Command, callback: (outcome: ProposalOutcome<ApplyResult> | ProposalTimeout) => void): void {
    if (this.deferred.length > 0) this.flushDeferred();
    this.proposeNow(command, callback);
  }

  /**
   * proposeBatched proposes a command that is in no hurry, such as an acquire that can only
   * queue behind the lock's holder: it waits for the next proposal (and goes just before it, so
   * arrival order is kept) or BATCH_WAIT_MS, whichever comes first. On a contended lock it then
   * shares a batch, and a flush, with the holder's release instead of taking one of its own that
   * the release would queue behind.
   */
  proposeBatched(command: Command, callback: (outcome: ProposalOutcome<ApplyResult> | ProposalTimeout) => void): void {
    this.deferred.push({ command, callback });
    this.deferTimer ??= setTimeout(() => this.flushDeferred(), BATCH_WAIT_MS);
  }

  private flushDeferred(): void {
    if (this.deferTimer) clearTimeout(this.deferTimer);
    this.deferTimer = null;
    const deferred = this.deferred;
    this.deferred = [];
    for (const d of deferred) this.proposeNow(d.command, d.callback);
  }

  private proposeNow(command: Command, callback: (outcome: ProposalOutcome<ApplyResult> | ProposalTimeout) => void): void {
    this.counters.proposals++;
    const pending: PendingProposal = { callback, started: performance.now(), deadline: Date.now() + this.electionTimeoutMs() * 5, done: false };
    this.pendingProposals.add(pending);
    this.host.propose(encodeCommand(command), (outcome) => this.settleProposal(pending, outcome));
  }

  private settleProposal(pending: PendingProposal, outcome: ProposalOutcome<ApplyResult> | ProposalTimeout): void {
    if (pending.done) return;
    pending.done = true;
    this.pendingProposals.delete(pending);
    if (outcome.ok) this.commitSeconds.observe((performance.now() - pending.started) / 1000);
    else this.counters.proposalsFailed++;
    pending.callback(outcome);
  }

  private giveUp(pending: PendingProposal): void {
    this.settleProposal(pending, { ok: false, reason: 'Timeout', leaderHint: this.host.status().leaderId });
  }

  /** expireProposals answers proposals past their deadline: their outcome is unknown. */
  private expireProposals(now: number): void {
    for (const pending of this.pendingProposals) if (pending.deadline <= now) this.giveUp(pending);
  }


  /** read waits for a linearizable read point (ReadIndex), with a deadline. */
  read(callback: (outcome: ReadOutcome) => void): void {
    this.host.read(callback);
  }

  /** electionTimeoutMs is the base election timeout in milliseconds. */
  electionTimeoutMs(): number {
    return this.config.timeouts.electionTicks * this.tickMs;
  }

  /** leaderMember returns the current leader's member entry, if a leader is known. */
  leaderMember(): MemberConfig | null {
    const leader = this.host.status().leaderId;
    return leader === null ? null : (this.members.get(leader) ?? null);
  }

  /** report is this node's own account of itself (served at /health and by node.report). */
  report(): NodeReport {
    const s = this.host.status();
    const self = this.members.get(this.config.id) as MemberConfig;
    return {
      id: this.config.id,
      datacenter: this.config.datacenter,
      role: s.membership.voters.includes(this.id) ? 'voter' : s.membership.learners.includes(this.id) ? 'learner' : 'none',
      state: s.role,
      term: s.term,
      commitIndex: s.commitIndex,
      appliedIndex: this.host.applied,
      lastIndex: s.lastIndex,
      leaderId: s.leaderId,
      lastContactMs: s.role === 'leader' ? 0 : s.leaderId === null ? null : Date.now() - this.lastLeaderContact,
      clientUrl: self.clientUrl,
      revision: this.machine.kv.revision,
      rtt: Object.fromEntries([...this.reachableRtt()].map(([peer, r]) => [peer, { ms: Math.round(r.smoothedMs * 100) / 100, measuredAt: r.measuredAt }])),
      electionTimeoutMs: this.electionTimeoutMs(),
      heartbeatIntervalMs: this.config.timeouts.heartbeatTicks * this.tickMs,
    };
  }

  /** ready says whether this node can serve: it knows a leader and has applied what it committed. */
  isReady(): boolean {
    const s = this.host.status();
    return s.leaderId !== null && this.host.applied >= s.commitIndex;
  }

  private registerMetrics(): void {
    const m = this.metrics;
    m.gauge('warden_raft_term', 'Current Raft term.', () => this.host.status().term);
    m.gauge('warden_raft_commit_index', 'Highest log index known to be committed.', () => this.host.status().commitIndex);
    m.gauge('warden_raft_applied_index', 'Highest log index applied to the state machine.', () => this.host.applied);
    m.gauge('warden_raft_last_index', 'Index of the last log entry.', () => this.host.status().lastIndex);
    m.gauge('warden_raft_is_leader', '1 if this node is the leader.', () => (this.host.status().role === 'leader' ? 1 : 0));
    m.gauge('warden_raft_has_leader', '1 if this node knows a leader.', () => (this.host.status().leaderId === null ? 0 : 1));
    m.counter('warden_raft_elections_total', 'Term changes seen by this node.', () => this.counters.elections);
    m.counter('warden_raft_leader_changes_total', 'Leader changes seen by this node.', () => this.counters.leaderChanges);
    m.counter('warden_proposals_total', 'Commands proposed through this node.', () => this.counters.proposals);
    m.counter('warden_proposals_failed_total', 'Proposals that failed or timed out.', () => this.counters.proposalsFailed);
    m.counter('warden_applied_entries_total', 'Committed entries applied on this node.', () => this.counters.applied);
    m.histogram('warden_storage_fsync_seconds', 'Duration of one durable storage batch (SQLite transaction with fsync).', this.fsyncSeconds);
    m.histogram('warden_proposal_commit_seconds', 'Time from proposal to apply on the proposing node.', this.commitSeconds);
    m.gauge('warden_peer_rtt_seconds', 'Smoothed round-trip time of each peer link.', () =>
      [...this.reachableRtt()].map(([peer, r]) => ({ labels: { peer, datacenter: this.members.get(peer)?.datacenter ?? '' }, value: r.smoothedMs / 1000 })),
    );
    m.gauge('warden_kv_keys', 'Keys in the configuration namespace.', () => this.machine.kv.size);
    m.gauge('warden_kv_revision', 'Global revision of the configuration namespace.', () => this.machine.kv.revision);
    m.gauge('warden_client_connections', 'Open client connections.', () => this.clientServer?.connectionCount() ?? 0);
    // Every replica applies every entry, so each node counts the whole cluster's lock traffic.
    const locks = { acquires: 0, waits: 0 };
    this.onApplied((result) => {
      const reply = result.reply;
      if (reply.ok && 'kind' in reply) {
        if (reply.kind === 'granted') locks.acquires++;
        else if (reply.kind === 'queued') locks.waits++;
      }
      for (const notice of result.notices) if (notice.type === 'lockGranted') locks.acquires++;
    });
    m.counter('warden_lock_acquires_total', 'Lock grants applied on this node (at once or from the queue).', () => locks.acquires);
    m.counter('warden_lock_waits_total', 'Acquisitions applied on this node that had to queue behind a holder.', () => locks.waits);
    m.gauge('warden_locks_held', 'Locks with at least one holder.', () => {
      let held = 0;
      for (const lock of this.machine.table.locks.values()) if (lock.holders.length > 0) held++;
      return held;
    });
    m.gauge('warden_sessions', 'Open sessions.', () => this.machine.table.sessions.size);
  }

  /** close stops timers, closes connections and storage. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.deferTimer) clearTimeout(this.deferTimer);
    this.host.stop();
    this.clientServer?.close();
    await this.transport.close();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections?.();
            s.close(() => resolve());
          }),
      ),
    );
    this.storage.close();
    this.log.log('info', 'node stopped');
  }
}
