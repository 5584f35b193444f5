// Effectful (through services/nodeApi.ts) store, with the pure derivations it uses exported for
// tests. The topology store keeps the latest TopologyUpdate per open connection and derives what
// the topology view draws: datacenters with nodes, the leader, RTT per datacenter pair, health.

import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ApiErrorBody, ApiErrorCode, ConnectionId, FaultRequest, TopologyUpdate } from '../../core/api/contract.ts';
import type { TopologyView } from '../../core/api/clientProtocol.ts';
import { errorOf, nodeApi } from '../services/nodeApi.ts';

/** TopologyNode is one node as the topology reports it. */
export type TopologyNode = TopologyView['datacenters'][number]['nodes'][number];

/** NodeDisplayRole is what a node card shows: its Raft state, with learners and down nodes apart. */
export type NodeDisplayRole = 'leader' | 'follower' | 'candidate' | 'learner' | 'down';

/** A follower this many entries behind the leader counts as lagging. */
export const LAG_ENTRIES_WARN = 100;

/** NodeModel is a node plus what the view derives from it. */
export interface NodeModel extends TopologyNode {
  readonly displayRole: NodeDisplayRole;
  /** Behind the leader by LAG_ENTRIES_WARN entries or more, or silent for an election timeout. */
  readonly lagging: boolean;
}

/** DatacenterModel is one region of the picture. */
export interface DatacenterModel {
  readonly name: string;
  readonly preferred: boolean;
  readonly nodes: readonly NodeModel[];
  readonly hasLeader: boolean;
  readonly nodesDown: number;
}

/** LinkModel is the link between two datacenters: the median of every measured node-to-node RTT. */
export interface LinkModel {
  /** The two datacenters, in name order. */
  readonly a: string;
  readonly b: string;
  /** Median RTT in ms; null when no link between the two has been measured (isolated, down). */
  readonly medianMs: number | null;
  readonly samples: number;
}

/** HealthLevel is the one-word health of a cluster, as the status bar shows it. */
export type HealthLevel = 'ok' | 'degraded' | 'no-leader' | 'unknown';

/** Health is a level, its label and the reasons behind it. */
export interface Health {
  readonly level: HealthLevel;
  readonly label: string;
  readonly reasons: readonly string[];
}

/** TopologyModel is everything the topology view and status bar draw for one connection. */
export interface TopologyModel {
  readonly connectionId: ConnectionId;
  /** The last topology read; kept while later reads fail, so the picture does not vanish. */
  readonly topology: TopologyView | null;
  /** The latest read's error; the topology above is then stale. */
  readonly error: ApiErrorBody | null;
  readonly at: number;
  readonly term: number | null;
  readonly leader: { readonly id: string; readonly datacenter: string } | null;
  readonly datacenters: readonly DatacenterModel[];
  readonly links: readonly LinkModel[];
  readonly warnings: readonly string[];
  readonly health: Health;
}

/** FaultResult is the outcome of one fault action, shown under the controls. */
export interface FaultResult {
  readonly label: string;
  readonly ok: boolean;
  readonly message: string;
  readonly code: ApiErrorCode | null;
  readonly at: number;
}

/** displayRole picks the card's role: down beats everything, then leader, learner, candidate. */
export function displayRole(node: TopologyNode): NodeDisplayRole {
  if (node.state === 'down') return 'down';
  if (node.state === 'leader') return 'leader';
  if (node.role === 'learner') return 'learner';
  if (node.state === 'candidate' || node.state === 'preCandidate') return 'candidate';
  return 'follower';
}

/** isLagging says whether a live non-leader node is behind enough to call the cluster degraded. */
export function isLagging(node: TopologyNode, electionTimeoutMs: number): boolean {
  if (node.state === 'down' || node.state === 'leader') return false;
  if (node.lagEntries >= LAG_ENTRIES_WARN) return true;
  return node.lastContactMs !== null && node.lastContactMs > electionTimeoutMs;
}

/** median of a list of numbers; null for an empty list. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * A sample older than this is not a live link any more: links ping every second, so this many
 * missed pings mean the link is cut (isolated datacenter) or its far end is down.
 */
export const RTT_STALE_MS = 10_000;
/** A sample this much older than the same node's freshest sample is stale too (same clock). */
export const RTT_STALE_RELATIVE_MS = 5_000;

/** freshSamples drops samples that no longer describe a live link, judged two ways (see above). */
export function freshSamples(rtt: TopologyView['rtt'], at: number): TopologyView['rtt'] {
  const freshestByNode = new Map<string, number>();
  for (const s of rtt) freshestByNode.set(s.from, Math.max(freshestByNode.get(s.from) ?? s.measuredAt, s.measuredAt));
  return rtt.filter((s) => at - s.measuredAt <= RTT_STALE_MS && (freshestByNode.get(s.from) ?? s.measuredAt) - s.measuredAt <= RTT_STALE_RELATIVE_MS);
}

/**
 * datacenterLinks gives one link per pair of datacenters with the median of the fresh measured
 * RTTs of the node-to-node links between them, in both directions. The median, not the mean, so
 * one slow sample or one overloaded node does not move the figure the operator compares with
 * timeouts. `at` is when the topology was read, to tell live links from stale samples.
 */
export function datacenterLinks(topology: TopologyView, at: number): LinkModel[] {
  const dcOf = new Map<string, string>();
  for (const dc of topology.datacenters) for (const node of dc.nodes) dcOf.set(node.id, dc.name);
  const names = topology.datacenters.map((dc) => dc.name).sort();
  const samples = new Map<string, number[]>();
  for (const sample of freshSamples(topology.rtt, at)) {
    const from = dcOf.get(sample.from);
    const to = dcOf.get(sample.to);
    if (from === undefined || to === undefined || from === to || !Number.isFinite(sample.ms)) continue;
    const key = from < to ? `${from}\u0000${to}` : `${to}\u0000${from}`;
    const list = samples.get(key) ?? [];
    list.push(sample.ms);
    samples.set(key, list);
  }
  const links: LinkModel[] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = names[i] as string;
      const b = names[j] as string;
      const ms = samples.get(`${a}\u0000${b}`) ?? [];
      links.push({ a, b, medianMs: median(ms), samples: ms.length });
    }
  }
  return links;
}

/**
 * clusterHealth sums a cluster up in one word: no leader is worst, then degraded (a node down,
 * lagging, or campaigning while a leader exists: cut off), else ok; unknown when the console
 * cannot read the topology at all.
 */
export function clusterHealth(topology: TopologyView | null, error: ApiErrorBody | null): Health {
  if (error !== null) return { level: 'unknown', label: 'unknown', reasons: [`cannot read the topology: ${error.message} (${error.code})`] };
  if (topology === null) return { level: 'unknown', label: 'unknown', reasons: ['no topology read yet'] };
  const nodes = topology.datacenters.flatMap((dc) => dc.nodes);
  const reasons: string[] = [];
  for (const node of nodes) {
    if (node.state === 'down') reasons.push(`${node.id} (${node.datacenter}) is down`);
    else if (topology.leader !== null && (node.state === 'candidate' || node.state === 'preCandidate')) {
      reasons.push(`${node.id} (${node.datacenter}) is campaigning: it cannot hear the leader`);
    } else if (isLagging(node, topology.electionTimeoutMs)) {
      reasons.push(node.lagEntries >= LAG_ENTRIES_WARN ? `${node.id} is ${node.lagEntries} entries behind` : `${node.id} has not heard from the leader for ${node.lastContactMs} ms`);
    }
  }
  if (topology.leader === null) return { level: 'no-leader', label: 'no leader', reasons: ['no leader elected', ...reasons] };
  if (reasons.length > 0) return { level: 'degraded', label: 'degraded', reasons };
  return { level: 'ok', label: 'ok', reasons: [] };
}

/**
 * deriveTopology turns the latest update into the view's model; when that update carries only an
 * error, the last good topology (read at lastGoodAt) is drawn instead.
 */
export function deriveTopology(update: TopologyUpdate, lastGood: TopologyView | null = null, lastGoodAt = update.at): TopologyModel {
  const topology = update.topology ?? lastGood;
  const readAt = update.topology ? update.at : lastGoodAt;
  const electionTimeoutMs = topology?.electionTimeoutMs ?? Number.POSITIVE_INFINITY;
  const datacenters: DatacenterModel[] = (topology?.datacenters ?? []).map((dc) => {
    const nodes = dc.nodes.map((node) => ({ ...node, displayRole: displayRole(node), lagging: isLagging(node, electionTimeoutMs) }));
    return {
      name: dc.name,
      preferred: dc.preferred,
      nodes,
      hasLeader: nodes.some((n) => n.displayRole === 'leader'),
      nodesDown: nodes.filter((n) => n.displayRole === 'down').length,
    };
  });
  return {
    connectionId: update.connectionId,
    topology,
    error: update.error,
    at: update.at,
    term: topology?.term ?? null,
    leader: topology?.leader ?? null,
    datacenters,
    links: topology ? datacenterLinks(topology, readAt) : [],
    warnings: topology?.warnings ?? [],
    health: clusterHealth(topology, update.error),
  };
}

/** faultLabel describes a fault action in a few words, for the result list. */
export function faultLabel(request: FaultRequest): string {
  switch (request.action) {
    case 'stop':
    case 'kill':
    case 'restart':
      return `${request.action} ${request.node}`;
    case 'isolate':
      return `isolate ${request.datacenter}`;
    case 'heal':
      return 'heal';
    case 'latency':
      return `latency ${request.from} ↔ ${request.to} ${request.ms} ms`;
  }
}

/** How many fault results each connection keeps. */
const FAULT_LOG_LENGTH = 8;

interface Entry {
  readonly update: TopologyUpdate;
  readonly lastGood: TopologyView | null;
  /** When lastGood was read, so its RTT samples are judged against their own reading time. */
  readonly lastGoodAt?: number;
}

/**
 * useTopologyStore holds what the backend pushes (onTopology, about once a second per open
 * connection) and runs fault actions on local clusters, keeping their results per connection.
 */
export const useTopologyStore = defineStore('topology', () => {
  const entries = ref<Record<ConnectionId, Entry>>({});
  const loading = ref<Record<ConnectionId, boolean>>({});
  /** The fault action running per connection; controls are disabled meanwhile. */
  const faultBusy = ref<Record<ConnectionId, string>>({});
  /** Recent fault results per connection, newest first. */
  const faultLog = ref<Record<ConnectionId, FaultResult[]>>({});

  const models = computed<Record<ConnectionId, TopologyModel>>(() => {
    const out: Record<ConnectionId, TopologyModel> = {};
    for (const [id, entry] of Object.entries(entries.value)) out[id] = deriveTopology(entry.update, entry.lastGood, entry.lastGoodAt ?? entry.update.at);
    return out;
  });

  /** applyUpdate stores a pushed or fetched reading; an older reading never replaces a newer one. */
  function applyUpdate(update: TopologyUpdate): void {
    const prev = entries.value[update.connectionId];
    if (prev && prev.update.at > update.at) return;
    entries.value[update.connectionId] = update.topology
      ? { update, lastGood: update.topology, lastGoodAt: update.at }
      : { update, lastGood: prev?.lastGood ?? null, lastGoodAt: prev?.lastGoodAt ?? update.at };
  }

  /** fetch reads the topology once, for a view opened before the next push. */
  async function fetch(connectionId: ConnectionId): Promise<void> {
    loading.value[connectionId] = true;
    try {
      const topology = await nodeApi().getTopology({ connectionId });
      applyUpdate({ connectionId, topology, error: null, at: Date.now() });
    } catch (err) {
      applyUpdate({ connectionId, topology: null, error: errorOf(err), at: Date.now() });
    } finally {
      delete loading.value[connectionId];
    }
  }

  /** fault runs one fault action and records its result; the picture follows by push. */
  async function fault(request: FaultRequest): Promise<FaultResult> {
    const label = faultLabel(request);
    faultBusy.value[request.connectionId] = label;
    let result: FaultResult;
    try {
      const { message } = await nodeApi().clusterFault(request);
      result = { label, ok: true, message, code: null, at: Date.now() };
    } catch (err) {
      const error = errorOf(err);
      result = { label, ok: false, message: error.message, code: error.code, at: Date.now() };
    } finally {
      delete faultBusy.value[request.connectionId];
    }
    faultLog.value[request.connectionId] = [result, ...(faultLog.value[request.connectionId] ?? [])].slice(0, FAULT_LOG_LENGTH);
    return result;
  }

  /** forget drops a connection's readings, when it is deleted. */
  function forget(connectionId: ConnectionId): void {
    delete entries.value[connectionId];
    delete faultLog.value[connectionId];
  }

  return { entries, loading, faultBusy, faultLog, models, applyUpdate, fetch, fault, forget };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useTopologyStore, import.meta.hot));
