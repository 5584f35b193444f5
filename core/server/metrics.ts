// Effect-free registry of counters, gauges and histograms rendered in Prometheus text format
// (exposition format 0.0.4) for the node's /metrics endpoint.

type Labels = Readonly<Record<string, string>>;

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

/** Histogram counts observations into cumulative buckets, as Prometheus expects. */
export class Histogram {
  readonly buckets: readonly number[];
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  /** Recent raw observations, for medians in status views (bounded). */
  private readonly recent: number[] = [];

  constructor(buckets: readonly number[]) {
    this.buckets = [...buckets].sort((a, b) => a - b);
    this.counts = this.buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= (this.buckets[i] as number)) this.counts[i] = (this.counts[i] as number) + 1;
    this.recent.push(value);
    if (this.recent.length > 1024) this.recent.shift();
  }

  /** quantile estimates a quantile from recent observations (0 when there are none). */
  quantile(q: number): number {
    if (this.recent.length === 0) return 0;
    const sorted = [...this.recent].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  }

  render(name: string, labels: Labels = {}): string[] {
    const lines: string[] = [];
    this.buckets.forEach((le, i) => lines.push(`${name}_bucket${labelText({ ...labels, le: String(le) })} ${this.counts[i]}`));
    lines.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${this.count}`);
    lines.push(`${name}_sum${labelText(labels)} ${this.sum}`);
    lines.push(`${name}_count${labelText(labels)} ${this.count}`);
    return lines;
  }
}

interface Family {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly collect: () => string[];
}

/** Registry gathers metric families and renders them. */
export class Registry {
  private readonly families = new Map<string, Family>();

  /** gauge registers a value read at scrape time; `read` returns one sample or labelled samples. */
  gauge(name: string, help: string, read: () => number | readonly { labels: Labels; value: number }[]): void {
    this.families.set(name, {
      type: 'gauge',
      help,
      collect: () => {
        const v = read();
        return typeof v === 'number' ? [`${name} ${v}`] : v.map((s) => `${name}${labelText(s.labels)} ${s.value}`);
      },
    });
  }

  /** counter registers a monotonically increasing count read at scrape time. */
  counter(name: string, help: string, read: () => number): void {
    this.families.set(name, { type: 'counter', help, collect: () => [`${name} ${read()}`] });
  }

  histogram(name: string, help: string, histogram: Histogram): void {
    this.families.set(name, { type: 'histogram', help, collect: () => histogram.render(name) });
  }

  render(): string {
    const out: string[] = [];
    for (const [name, family] of this.families) {
      out.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`, ...family.collect());
    }
    return `${out.join('\n')}\n`;
  }
}
