// Effectful (HTTP requests, timers). Scrapes every node's /metrics of one open connection on an
// interval, at the origin of each node's client URL, and hands the scrapes to a MetricsSeries.
// Scrapes never overlap, and a node that does not answer is left out of that interval.

import http from 'node:http';
import https from 'node:https';
import type { TopologyView } from '../api/clientProtocol.ts';
import type { MetricsSample } from '../api/contract.ts';
import type { MetricsSeries, NodeScrape } from './clusterMetrics.ts';
import { parsePrometheus } from './prometheus.ts';

/** A node's exposition larger than this is refused rather than buffered. */
const MAX_METRICS_BYTES = 4 * 1024 * 1024;

/** metricsUrl is the /metrics address at the origin of a node's client URL (ws→http, wss→https). */
export function metricsUrl(clientUrl: string): string {
  const url = new URL(clientUrl);
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  return `${secure ? 'https' : 'http'}://${url.host}/metrics`;
}

/** fetchText GETs a URL with a deadline and a size bound; rejects with the reason. */
export function fetchText(target: string, ca: string | null, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const secure = target.startsWith('https:');
    const get = secure ? https.get : http.get;
    const req = get(target, { timeout: timeoutMs, ...(secure && ca !== null ? { ca } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`${target} answered HTTP ${res.statusCode ?? '?'}`));
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > MAX_METRICS_BYTES) req.destroy(new Error(`${target} sent more than ${MAX_METRICS_BYTES} bytes`));
      });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${target} did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** MetricsSamplerOptions: what to scrape, how often, and where samples go. */
export interface MetricsSamplerOptions {
  readonly series: MetricsSeries;
  /** The connection's latest topology (nodes and their client URLs, RTTs), or null. */
  readonly topology: () => TopologyView | null;
  readonly ca: string | null;
  readonly intervalMs: number;
  readonly onSample: (sample: MetricsSample) => void;
  /** Injected for tests; defaults to an HTTP(S) GET. */
  readonly fetch?: (url: string) => Promise<string>;
}

/** MetricsSampler runs one connection's scrapes until stopped. */
export class MetricsSampler {
  private readonly options: MetricsSamplerOptions;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(options: MetricsSamplerOptions) {
    this.options = options;
  }

  /** start takes a first scrape at once (the baseline for the first rates) and then every interval. */
  start(): void {
    this.options.series.restartBaseline();
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    const topology = this.options.topology();
    if (topology !== null) {
      const fetch = this.options.fetch ?? ((url: string) => fetchText(url, this.options.ca, Math.max(500, Math.min(this.options.intervalMs, 1500))));
      const nodes = topology.datacenters.flatMap((dc) => dc.nodes).filter((n) => n.state !== 'down');
      const scrapes = await Promise.all(
        nodes.map(async (node): Promise<NodeScrape | null> => {
          try {
            const text = await fetch(metricsUrl(node.clientUrl));
            return { id: node.id, at: Date.now(), scrape: parsePrometheus(text) };
          } catch {
            return null;
          }
        }),
      );
      if (this.stopped) return;
      const sample = this.options.series.add(Date.now(), scrapes.filter((s): s is NodeScrape => s !== null), topology);
      this.options.onSample(sample);
    }
    this.schedule(this.options.intervalMs);
  }
}
