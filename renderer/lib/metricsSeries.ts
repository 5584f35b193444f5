// Pure. Turns a connection's metrics samples into the series the metrics charts draw:
// throughput, commit latency, lock activity, elections and leader changes, and RTT per
// datacenter pair, over a chosen time window. Chart-library agnostic.

import type { MetricsSample } from '../../core/api/contract.ts';

/** Point is [time in ms since the epoch, value]; null leaves a gap. */
export type Point = readonly [number, number | null];

/** Marker is a labelled instant on a chart (a leader change). */
export interface Marker {
  readonly at: number;
  readonly label: string;
}

/** SeriesSpec is one line of a chart. */
export interface SeriesSpec {
  readonly name: string;
  readonly points: readonly Point[];
  /** Draw as a step line (counters that jump). */
  readonly step?: boolean;
  readonly dashed?: boolean;
  /** Mark each reading with a dot: a sparse series (latency with gaps) is otherwise invisible. */
  readonly dots?: boolean;
  readonly markers?: readonly Marker[];
}

/** ChartSpec is one chart: its id (for data-testid), title, unit and lines. */
export interface ChartSpec {
  readonly id: 'proposals' | 'latency' | 'locks' | 'elections' | 'rtt';
  readonly title: string;
  readonly unit: string;
  readonly series: readonly SeriesSpec[];
  /** Whole numbers only on the value axis. */
  readonly integer?: boolean;
}

/** METRIC_WINDOWS are the time windows the view offers, in ms. */
export const METRIC_WINDOWS: readonly { readonly label: string; readonly ms: number }[] = [
  { label: '5 min', ms: 5 * 60_000 },
  { label: '15 min', ms: 15 * 60_000 },
  { label: '1 hour', ms: 60 * 60_000 },
];

/** inWindow keeps the samples of the last `windowMs` before the newest one. */
export function inWindow(samples: readonly MetricsSample[], windowMs: number): MetricsSample[] {
  const last = samples[samples.length - 1];
  if (last === undefined) return [];
  const from = last.at - windowMs;
  let i = samples.length - 1;
  while (i > 0 && (samples[i - 1] as MetricsSample).at >= from) i--;
  return samples.slice(i);
}

/** leaderChanges marks each sample where the leader changed from the one before. */
export function leaderChanges(samples: readonly MetricsSample[]): Marker[] {
  const markers: Marker[] = [];
  for (let i = 1; i < samples.length; i++) {
    const prev = samples[i - 1] as MetricsSample;
    const s = samples[i] as MetricsSample;
    if (s.leaderChanges > prev.leaderChanges || s.leaderId !== prev.leaderId) {
      markers.push({ at: s.at, label: s.leaderId === null ? `no leader (term ${s.term})` : `${s.leaderId} leads (term ${s.term})` });
    }
  }
  return markers;
}

/** datacenterPairs lists every "dc-a|dc-b" key seen in the samples, sorted. */
export function datacenterPairs(samples: readonly MetricsSample[]): string[] {
  const pairs = new Set<string>();
  for (const s of samples) for (const key of Object.keys(s.rttMsByDatacenterPair)) pairs.add(key);
  return [...pairs].sort();
}

/** pairLabel names a "dc-a|dc-b" key for a legend: "dc-a ↔ dc-b", or "within dc-a" for one datacenter. */
export function pairLabel(pair: string): string {
  const [a, b] = pair.split('|');
  return a === b ? `within ${a}` : `${a} ↔ ${b}`;
}

/** metricCharts builds the five charts from samples already cut to the window. */
export function metricCharts(samples: readonly MetricsSample[]): ChartSpec[] {
  const line = (pick: (s: MetricsSample) => number | null): Point[] => samples.map((s) => [s.at, pick(s)] as const);
  const pairs = datacenterPairs(samples);
  return [
    { id: 'proposals', title: 'Proposals', unit: 'per s', series: [{ name: 'proposals/s', points: line((s) => s.proposalsPerSec) }] },
    {
      id: 'latency',
      title: 'Commit latency',
      unit: 'ms',
      series: [
        { name: 'p50', points: line((s) => s.commitLatencyMsP50), dots: true },
        { name: 'p99', points: line((s) => s.commitLatencyMsP99), dashed: true, dots: true },
      ],
    },
    {
      id: 'locks',
      title: 'Lock activity',
      unit: 'per s',
      series: [
        { name: 'acquires/s', points: line((s) => s.lockAcquiresPerSec) },
        { name: 'waits/s', points: line((s) => s.lockWaitsPerSec) },
      ],
    },
    {
      id: 'elections',
      title: 'Elections and leader changes',
      unit: 'count',
      integer: true,
      series: [
        { name: 'elections', points: line((s) => s.elections), step: true },
        { name: 'leader changes', points: line((s) => s.leaderChanges), step: true, markers: leaderChanges(samples) },
      ],
    },
    {
      id: 'rtt',
      title: 'RTT between datacenters',
      unit: 'ms',
      series: pairs.map((pair) => ({ name: pairLabel(pair), points: line((s) => s.rttMsByDatacenterPair[pair] ?? null) })),
    },
  ];
}

/** latestFigures are the newest sample's values, for the summary above the charts. */
export function latestFigures(samples: readonly MetricsSample[]): { readonly label: string; readonly id: string; readonly value: string }[] {
  const s = samples[samples.length - 1];
  if (s === undefined) return [];
  const num = (v: number | null, unit: string, digits = 1): string => (v === null || !Number.isFinite(v) ? '—' : `${v.toFixed(digits)} ${unit}`);
  return [
    { id: 'proposals', label: 'proposals', value: num(s.proposalsPerSec, '/s') },
    { id: 'p99', label: 'commit p99', value: num(s.commitLatencyMsP99, 'ms') },
    { id: 'acquires', label: 'acquires', value: num(s.lockAcquiresPerSec, '/s') },
    { id: 'waits', label: 'waits', value: num(s.lockWaitsPerSec, '/s') },
    { id: 'leader', label: 'leader', value: s.leaderId === null ? 'none' : `${s.leaderId} (term ${s.term})` },
    { id: 'elections', label: 'elections', value: String(s.elections) },
  ];
}
