// Unit tests for the console backend's small pieces of logic that need no cluster: the events
// view's free-text match, where a node's /metrics lives, and the sampler's scrape loop with an
// injected fetch (nodes that fail to answer are left out of an interval, not charted as zero).

import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEventView, TopologyView } from '../../../core/api/clientProtocol.ts';
import type { MetricsSample } from '../../../core/api/contract.ts';
import { MetricsSeries } from '../../../core/console/clusterMetrics.ts';
import { eventMatches } from '../../../core/console/consoleService.ts';
import { MetricsSampler, metricsUrl } from '../../../core/console/metricsSampler.ts';

const event: AuditEventView = { seq: 9, time: 1, kind: 'lock.forceRelease', name: 'jobs/nightly', sessionId: 's1f', actor: 'admin', reason: 'Holder hung', token: 4711, detail: { host: 'batch-07', pid: 321 } };

describe('eventMatches', () => {
  it.each([['forcerelease'], ['JOBS/'], ['s1f'], ['ADMIN'], ['hung'], ['4711'], ['batch-07'], ['"pid":321']])('finds %s in some field', (text) => {
    expect(eventMatches(event, text)).toBe(true);
  });

  it('does not match what no field holds, and skips null fields', () => {
    expect(eventMatches(event, 'billing')).toBe(false);
    expect(eventMatches({ ...event, name: null, reason: null, token: null, detail: {} }, 'null')).toBe(false);
  });
});

describe('metricsUrl', () => {
  it('is /metrics at the origin of the client URL, https for wss', () => {
    expect(metricsUrl('ws://127.0.0.1:7001/client')).toBe('http://127.0.0.1:7001/metrics');
    expect(metricsUrl('wss://node-1.example:443/client')).toBe('https://node-1.example/metrics');
    expect(metricsUrl('wss://node-1.example:8443/client')).toBe('https://node-1.example:8443/metrics');
  });
});

describe('MetricsSampler', () => {
  let sampler: MetricsSampler | null = null;
  afterEach(() => sampler?.stop());

  const topology: TopologyView = {
    clusterId: 'c',
    term: 2,
    leader: { id: 'n1', datacenter: 'dc-a' },
    datacenters: [
      {
        name: 'dc-a',
        preferred: false,
        nodes: [
          { id: 'n1', datacenter: 'dc-a', role: 'voter', state: 'leader', term: 2, commitIndex: 1, appliedIndex: 1, lagEntries: 0, lastContactMs: 0, clientUrl: 'ws://127.0.0.1:1/client' },
          { id: 'n2', datacenter: 'dc-a', role: 'voter', state: 'follower', term: 2, commitIndex: 1, appliedIndex: 1, lagEntries: 0, lastContactMs: 0, clientUrl: 'ws://127.0.0.1:2/client' },
          { id: 'n3', datacenter: 'dc-a', role: 'voter', state: 'down', term: 0, commitIndex: 0, appliedIndex: 0, lagEntries: 0, lastContactMs: null, clientUrl: 'ws://127.0.0.1:3/client' },
        ],
      },
    ],
    rtt: [],
    electionTimeoutMs: 1000,
    maxVoterRttMs: null,
    warnings: [],
  };

  it('scrapes every live node each interval, leaves out one that fails, and pushes samples', async () => {
    const asked: string[] = [];
    let proposals = 0;
    const samples: MetricsSample[] = [];
    sampler = new MetricsSampler({
      series: new MetricsSeries(),
      topology: () => topology,
      ca: null,
      intervalMs: 200,
      onSample: (s) => samples.push(s),
      fetch: async (url) => {
        asked.push(url);
        if (url.includes(':2/')) throw new Error('connection refused');
        proposals += 100;
        return `warden_proposals_total ${proposals}\nwarden_raft_term 2\nwarden_raft_is_leader 1\n`;
      },
    });
    sampler.start();
    const deadline = Date.now() + 5000;
    while (samples.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    sampler.stop();
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(new Set(asked)).toEqual(new Set(['http://127.0.0.1:1/metrics', 'http://127.0.0.1:2/metrics']));
    expect(samples[0]?.proposalsPerSec).toBe(0);
    expect(samples[2]?.proposalsPerSec).toBeGreaterThan(0);
    expect(samples.every((s) => s.leaderId === 'n1' && s.term === 2)).toBe(true);
  });

  it('takes no sample before the connection has a topology', async () => {
    const samples: MetricsSample[] = [];
    sampler = new MetricsSampler({ series: new MetricsSeries(), topology: () => null, ca: null, intervalMs: 200, onSample: (s) => samples.push(s), fetch: async () => '' });
    sampler.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(samples).toEqual([]);
  });
});
