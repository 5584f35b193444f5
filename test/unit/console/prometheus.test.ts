// Unit tests (pure) for the console's Prometheus text parser and histogram quantiles, read
// against what a node's own metrics registry renders and against hand-written expositions.

import { describe, expect, it } from 'vitest';
import { PrometheusParseError, addBuckets, bucketDelta, buckets, histogramQuantile, parsePrometheus, value } from '../../../core/console/prometheus.ts';
import { Histogram, Registry } from '../../../core/server/metrics.ts';

describe('parsePrometheus', () => {
  it('reads what a node registry renders: gauges, counters, labelled samples and histograms', () => {
    const registry = new Registry();
    const h = new Histogram([0.001, 0.01, 0.1]);
    for (const v of [0.0005, 0.002, 0.003, 0.05, 2]) h.observe(v);
    registry.gauge('warden_raft_term', 'Current term.', () => 7);
    registry.counter('warden_proposals_total', 'Proposals.', () => 1234);
    registry.gauge('warden_peer_rtt_seconds', 'RTT.', () => [
      { labels: { peer: 'n2', datacenter: 'dc-b' }, value: 0.031 },
      { labels: { peer: 'n3', datacenter: 'dc "c"\\x' }, value: 0.052 },
    ]);
    registry.histogram('warden_proposal_commit_seconds', 'Commit.', h);
    const scrape = parsePrometheus(registry.render());
    expect(value(scrape, 'warden_raft_term')).toBe(7);
    expect(value(scrape, 'warden_proposals_total')).toBe(1234);
    expect(value(scrape, 'warden_peer_rtt_seconds', { peer: 'n2' })).toBe(0.031);
    expect(value(scrape, 'warden_peer_rtt_seconds', { datacenter: 'dc "c"\\x' })).toBe(0.052);
    expect(scrape.types.get('warden_proposal_commit_seconds')).toBe('histogram');
    expect(scrape.types.get('warden_proposals_total')).toBe('counter');
    expect(buckets(scrape, 'warden_proposal_commit_seconds')).toEqual([
      { le: 0.001, count: 1 },
      { le: 0.01, count: 3 },
      { le: 0.1, count: 4 },
      { le: Number.POSITIVE_INFINITY, count: 5 },
    ]);
    expect(value(scrape, 'warden_proposal_commit_seconds_count')).toBe(5);
  });

  it('reads special values, timestamps, escapes, CRLF line ends and blank lines', () => {
    const scrape = parsePrometheus('# HELP x a\r\n# TYPE x gauge\r\nx NaN\r\n\r\ny{a="1\\n2",b=""} +Inf 1700000000000\nz -Inf\nw 1.5e3\nv{ a = "q" , } -2\n');
    expect(Number.isNaN(value(scrape, 'x'))).toBe(true);
    expect(value(scrape, 'y', { a: '1\n2', b: '' })).toBe(Number.POSITIVE_INFINITY);
    expect(value(scrape, 'z')).toBe(Number.NEGATIVE_INFINITY);
    expect(value(scrape, 'w')).toBe(1500);
    expect(value(scrape, 'v', { a: 'q' })).toBe(-2);
    expect(value(scrape, 'missing')).toBeNull();
  });

  it.each([
    ['x{a="1"', 'unterminated'],
    ['x{a=1} 2', 'needs ="value"'],
    ['x{a="1" b="2"} 3', 'separated by commas'],
    ['x{a="1",a="2"} 3', 'given twice'],
    ['x{a="\\t"} 1', 'bad escape'],
    ['x', 'needs a value'],
    ['x 1 2 3', 'needs a value'],
    ['x one', 'bad value'],
    ['9x 1', 'metric name'],
  ])('refuses %j, naming the line', (line, message) => {
    const text = `ok 1\n${line}\n`;
    expect(() => parsePrometheus(text)).toThrow(PrometheusParseError);
    expect(() => parsePrometheus(text)).toThrow(new RegExp(`line 2: .*${message}`));
  });
});

describe('histogram quantiles', () => {
  const cumulative = [
    { le: 0.01, count: 50 },
    { le: 0.1, count: 90 },
    { le: 1, count: 100 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];

  it('interpolates inside the bucket that holds the rank, the first bucket starting at 0', () => {
    expect(histogramQuantile(0.5, cumulative)).toBeCloseTo(0.01);
    expect(histogramQuantile(0.25, cumulative)).toBeCloseTo(0.005);
    expect(histogramQuantile(0.7, cumulative)).toBeCloseTo(0.055);
    expect(histogramQuantile(0.99, cumulative)).toBeCloseTo(0.91);
  });

  it('a rank in the +Inf bucket is the largest finite bound; no observations is null', () => {
    expect(histogramQuantile(0.99, [{ le: 0.1, count: 1 }, { le: Number.POSITIVE_INFINITY, count: 10 }])).toBe(0.1);
    expect(histogramQuantile(0.5, [{ le: 0.1, count: 0 }, { le: Number.POSITIVE_INFINITY, count: 0 }])).toBeNull();
    expect(histogramQuantile(0.5, [])).toBeNull();
  });

  it('deltas describe only the interval, and a reset uses the later reading whole', () => {
    const before = [{ le: 0.01, count: 10 }, { le: Number.POSITIVE_INFINITY, count: 12 }];
    const after = [{ le: 0.01, count: 15 }, { le: Number.POSITIVE_INFINITY, count: 20 }];
    expect(bucketDelta(after, before)).toEqual([{ le: 0.01, count: 5 }, { le: Number.POSITIVE_INFINITY, count: 8 }]);
    expect(bucketDelta(before, after)).toEqual(before);
    expect(bucketDelta(after, [])).toEqual(after);
  });

  it('sums histograms of several nodes bound by bound', () => {
    expect(addBuckets([{ le: 1, count: 2 }, { le: Number.POSITIVE_INFINITY, count: 3 }], [{ le: 1, count: 5 }, { le: Number.POSITIVE_INFINITY, count: 5 }])).toEqual([
      { le: 1, count: 7 },
      { le: Number.POSITIVE_INFINITY, count: 8 },
    ]);
  });
});
