// Effectful only in virtual time. Workload is the simulated clients: each does put/get/cas on a
// few keys against the node it believes leads (following leader hints), with a timeout, and
// records a history for the linearizability checker. Requests and replies cross a lossy,
// delayed client link; reads use ReadIndex (host.read) and then the node's local state machine.

import { assert } from '../../../core/util/assert.ts';
import type { Prng } from '../../../core/util/prng.ts';
import type { NodeId } from '../../../core/raft/types.ts';
import type { KvInput, KvOutput, Operation } from '../checkers/linearizability.ts';
import type { Cluster } from './cluster.ts';
import { encodeCommand, type KvCommand, type KvMachine, type KvResult } from './kvMachine.ts';
import { EventKind, type SimClock, type SimEvent } from './simClock.ts';

/** KvOperation is one history record: a client's request, when it was made and answered, and the answer. */
export type KvOperation = Operation<KvInput, KvOutput>;

/** WorkloadConfig shapes the clients; the swarm derives it from the seed. */
export interface WorkloadConfig {
  readonly clients: number;
  readonly keys: readonly string[];
  /** A client waits uniformly in [0, thinkMs) between operations. */
  readonly thinkMs: number;
  /** A request without an answer after this long has an unknown outcome. */
  readonly timeoutMs: number;
  /** One-way client↔node delay: base plus uniform jitter. */
  readonly linkDelayMs: number;
  readonly linkJitterMs: number;
  /** Probability that a request or a reply is lost. */
  readonly linkLossRate: number;
  /** Operation mix; puts take the rest. */
  readonly readRatio: number;
  readonly casRatio: number;
}

/** WorkloadStats counts outcomes, for reports and for the liveness phase. */
export interface WorkloadStats {
  invoked: number;
  ok: number;
  /** Definitely not applied (NotLeader, Dropped, ...), left out of the history. */
  failed: number;
  /** Outcome unknown (timeout, Unknown): in the history with ret = Infinity. */
  unknown: number;
  /** Reads that got no answer: no effect, left out of the history. */
  readsLost: number;
}

/** AttemptResult is what one request came to, as the client saw it. */
export type AttemptResult =
  | { readonly kind: 'ok'; readonly output: KvOutput }
  | { readonly kind: 'failed'; readonly hint: NodeId | null }
  | { readonly kind: 'unknown'; readonly hint: NodeId | null };

interface Client {
  readonly index: number;
  /** The history's clientId: a fresh one after every unknown outcome (the old request may still be running). */
  process: number;
  target: number;
  /** The value this client last saw per key, to make CAS sometimes succeed. */
  readonly seen: Map<string, string | null>;
  seq: number;
}

/**
 * Workload drives clients and records their history. Outcomes that are definitely "not
 * applied" are dropped from the history; outcomes nobody can know are kept as unknown, because
 * the request may still take effect later.
 */
export class Workload {
  readonly history: KvOperation[] = [];
  readonly stats: WorkloadStats = { invoked: 0, ok: 0, failed: 0, unknown: 0, readsLost: 0 };
  private readonly clock: SimClock;
  private readonly prng: Prng;
  private readonly cluster: Cluster<KvResult, KvMachine>;
  private readonly config: WorkloadConfig;
  private readonly clients: Client[] = [];
  /** Requests sent and not yet settled; `finish` turns the writes among them into unknown outcomes. */
  private readonly inflight = new Set<{ readonly client: Client; readonly input: KvInput; readonly call: number; settle(): void }>();
  private nextProcess = 0;
  private nextValue = 0;
  private running = false;

  constructor(clock: SimClock, prng: Prng, cluster: Cluster<KvResult, KvMachine>, config: WorkloadConfig) {
    assert(config.keys.length > 0 && config.clients > 0, 'a workload needs keys and clients');
    this.clock = clock;
    this.prng = prng;
    this.cluster = cluster;
    this.config = config;
  }

  /** keys are the keys clients use. */
  get keys(): readonly string[] {
    return this.config.keys;
  }

  /** timeoutMs is how long a client waits for an answer. */
  get timeoutMs(): number {
    return this.config.timeoutMs;
  }

  /** start launches the regular clients. */
  start(): void {
    this.running = true;
    for (let index = 0; index < this.config.clients; index++) {
      const client: Client = {
        index,
        process: this.nextProcess++,
        target: this.prng.int(this.cluster.nodes.length),
        seen: new Map(),
        seq: 0,
      };
      this.clients.push(client);
      this.clock.schedule(this.prng.next() * this.config.thinkMs, EventKind.client, -1, () => this.next(client));
    }
  }

  /** stop lets in-flight operations finish (or time out) but starts no new ones. */
  stop(): void {
    this.running = false;
  }

  /** busy says whether any request still waits for an answer. */
  get busy(): boolean {
    return this.inflight.size > 0;
  }

  /**
   * finish ends the history: a write still waiting for its answer may yet be applied, so it is
   * recorded as unknown; a read still waiting is dropped (it has no effect).
   */
  finish(): void {
    this.running = false;
    for (const request of [...this.inflight]) {
      request.settle();
      if (request.input.op !== 'get') this.recordUnknown(request.client, request.input, request.call);
      else this.stats.readsLost++;
    }
  }

  /**
   * probe performs one operation for the liveness phase, retrying until it succeeds or the
   * deadline passes (`deadline()` is asked each time: the liveness phase may extend it). Every
   * attempt is recorded like any client's, so the final reads take part in the linearizability check.
   */
  probe(input: KvInput, deadline: () => number, done: (output: KvOutput | null) => void): void {
    const client: Client = { index: -1, process: this.nextProcess++, target: this.prng.int(this.cluster.nodes.length), seen: new Map(), seq: 0 };
    const attempt = (): void => {
      if (this.clock.now >= deadline()) {
        done(null);
        return;
      }
      const request: KvInput = input.op === 'get' ? input : { ...input, value: this.freshValue(client) };
      this.perform(client, request, (result) => {
        if (result.kind === 'ok') {
          done(result.output);
          return;
        }
        this.retarget(client, result.hint);
        this.clock.schedule(this.config.linkDelayMs + this.prng.next() * 20, EventKind.client, -1, attempt);
      });
    };
    attempt();
  }

  private next(client: Client): void {
    if (!this.running) return;
    const key = this.prng.pick(this.config.keys);
    const roll = this.prng.next();
    let input: KvInput;
    if (roll < this.config.readRatio) {
      input = { op: 'get', key };
    } else if (roll < this.config.readRatio + this.config.casRatio) {
      const expected = this.prng.chance(0.75) ? (client.seen.get(key) ?? null) : null;
      input = { op: 'cas', key, expected, value: this.freshValue(client) };
    } else {
      input = { op: 'put', key, value: this.freshValue(client) };
    }
    this.perform(client, input, (result) => {
      if (result.kind === 'ok') {
        if (input.op === 'get') client.seen.set(key, result.output.value);
        else if (result.output.ok) client.seen.set(key, input.value);
      } else {
        this.retarget(client, result.hint);
      }
      this.clock.schedule(this.prng.next() * this.config.thinkMs, EventKind.client, -1, () => this.next(client));
    });
  }

  private freshValue(client: Client): string {
    client.seq++;
    return `v${this.nextValue++}`;
  }

  private retarget(client: Client, hint: NodeId | null): void {
    client.target = hint !== null ? this.cluster.indexOf(hint) : this.prng.int(this.cluster.nodes.length);
  }

  /**
   * perform sends one request to the client's target, waits for the reply or the timeout, records
   * the operation and reports what the client saw.
   */
  private perform(client: Client, input: KvInput, report: (result: AttemptResult) => void): void {
    const call = this.clock.now;
    const target = client.target;
    this.stats.invoked++;
    let settled = false;
    const request = {
      client,
      input,
      call,
      settle: (): void => {
        settled = true;
        this.clock.cancel(timeout);
        this.inflight.delete(request);
      },
    };
    const timeout: SimEvent = this.clock.schedule(this.config.timeoutMs, EventKind.client, -1, () => {
      request.settle();
      if (input.op === 'get') {
        this.stats.readsLost++;
        report({ kind: 'failed', hint: null });
        return;
      }
      this.recordUnknown(client, input, call);
      report({ kind: 'unknown', hint: null });
    });
    const reply = (result: AttemptResult): void => {
      this.overLink(-1, () => {
        if (settled) return; // Too late: the client already gave up, and its record says "unknown".
        request.settle();
        if (result.kind === 'ok') {
          this.stats.ok++;
          this.history.push({ clientId: client.process, input, call, ret: this.clock.now, output: result.output });
        } else if (result.kind === 'unknown') {
          this.recordUnknown(client, input, call);
        } else {
          this.stats.failed++;
        }
        report(result);
      });
    };
    this.inflight.add(request);
    this.overLink(target, () => this.execute(target, client, input, reply));
  }

  private recordUnknown(client: Client, input: KvInput, call: number): void {
    this.stats.unknown++;
    this.history.push({ clientId: client.process, input, call, ret: Infinity, output: undefined });
    // The request may still be applied later, concurrently with this client's next ones.
    client.process = this.nextProcess++;
  }

  /** execute runs a request on the node it reached; a node that is down swallows it. */
  private execute(target: number, client: Client, input: KvInput, reply: (result: AttemptResult) => void): void {
    const node = this.cluster.node(target);
    const host = node.host;
    const machine = node.machine;
    if (!host || !machine) return;
    if (input.op === 'get') {
      host.read((outcome) => {
        // NB: read the state machine now, when the read index is applied, not when the reply lands.
        if (outcome.ok) reply({ kind: 'ok', output: { ok: true, value: machine.get(input.key) } });
        else reply({ kind: 'failed', hint: outcome.leaderHint });
      });
      return;
    }
    const command: KvCommand =
      input.op === 'put'
        ? { op: 'put', key: input.key, value: input.value, clientId: client.process, seq: client.seq }
        : { op: 'cas', key: input.key, expected: input.expected, value: input.value, clientId: client.process, seq: client.seq };
    host.propose(encodeCommand(command), (outcome) => {
      if (outcome.ok) reply({ kind: 'ok', output: { ok: outcome.result.ok, value: null } });
      else if (outcome.reason === 'Unknown') reply({ kind: 'unknown', hint: outcome.leaderHint });
      // NotLeader, Dropped, TransferInProgress, ...: definitely not applied.
      else reply({ kind: 'failed', hint: outcome.leaderHint });
    });
  }

  /** overLink runs `then` after a client-link delay, unless the link loses the packet. */
  private overLink(node: number, then: () => void): void {
    if (this.prng.chance(this.config.linkLossRate)) return;
    this.clock.schedule(this.config.linkDelayMs + this.prng.next() * this.config.linkJitterMs, EventKind.client, node, then);
  }
}
