// Pure. A small parser for the Prometheus text exposition format (0.0.4), enough for what the
// console reads from a node's /metrics: families with their TYPE, samples with labels, and
// quantiles estimated from cumulative histogram buckets the way histogram_quantile does.

/** Sample is one line of a scrape: a metric name, its labels and its value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Scrape is a parsed exposition: every sample, and each family's declared type. */
export interface Scrape {
  readonly samples: readonly Sample[];
  readonly types: ReadonlyMap<string, string>;
}

/** PrometheusParseError says which line of an exposition could not be read, and why. */
export class PrometheusParseError extends Error {
  override readonly name = 'PrometheusParseError';
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:]*/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** parseValue reads a sample value, including the format's NaN and signed infinities. */
function parseValue(text: string, line: number): number {
  switch (text) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new PrometheusParseError(line, `bad value ${JSON.stringify(text.slice(0, 40))}`);
  return Number(text);
}

/** parseLabels reads `{a="x",b="y"}` from `text` at `start` (the brace); returns them and where it ended. */
function parseLabels(text: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    const name = LABEL_NAME.exec(text.slice(i))?.[0];
    if (name === undefined) throw new PrometheusParseError(line, 'bad label name');
    i += name.length;
    while (text[i] === ' ') i++;
    if (text[i] !== '=') throw new PrometheusParseError(line, `label ${name} needs ="value"`);
    i++;
    while (text[i] === ' ') i++;
    if (text[i] !== '"') throw new PrometheusParseError(line, `label ${name} needs ="value"`);
    i++;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new PrometheusParseError(line, `unterminated value of label ${name}`);
      i++;
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i];
        i++;
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new PrometheusParseError(line, `bad escape in label ${name}`);
      } else value += c;
    }
    if (Object.hasOwn(labels, name)) throw new PrometheusParseError(line, `label ${name} given twice`);
    labels[name] = value;
    while (text[i] === ' ') i++;
    if (text[i] === ',') i++;
    else if (text[i] === undefined) throw new PrometheusParseError(line, 'unterminated labels');
    else if (text[i] !== '}') throw new PrometheusParseError(line, 'labels must be separated by commas');
  }
}

/**
 * parsePrometheus reads an exposition. Comments other than TYPE are skipped; a malformed line is
 * a PrometheusParseError naming it, since a node that answers garbage should say so rather than
 * chart zeros.
 */
export function parsePrometheus(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = (lines[n] as string).replace(/\r$/, '');
    const lineNo = n + 1;
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)\s*$/.exec(trimmed);
      if (m) types.set(m[1] as string, m[2] as string);
      continue;
    }
    const name = NAME.exec(trimmed)?.[0];
    if (name === undefined) throw new PrometheusParseError(lineNo, 'a sample must start with a metric name');
    let i = name.length;
    let labels: Record<string, string> = {};
    if (trimmed[i] === '{') {
      const parsed = parseLabels(trimmed, i, lineNo);
      labels = parsed.labels;
      i = parsed.end;
    }
    const rest = trimmed.slice(i).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw new PrometheusParseError(lineNo, 'a sample needs a value (and at most a timestamp)');
    samples.push({ name, labels, value: parseValue(rest[0] as string, lineNo) });
  }
  return { samples, types };
}

/** value returns the first sample named `name` whose labels include `match`, or null. */
export function value(scrape: Scrape, name: string, match: Readonly<Record<string, string>> = {}): number | null {
  for (const s of scrape.samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) return s.value;
  }
  return null;
}

/** Bucket is one cumulative histogram bucket: the count of observations at most `le`. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/** buckets reads a histogram's cumulative buckets (`<name>_bucket{le=...}`), sorted by bound. */
export function buckets(scrape: Scrape, name: string): Bucket[] {
  const out: Bucket[] = [];
  for (const s of scrape.samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le;
    if (le === undefined) continue;
    out.push({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count: s.value });
  }
  return out.sort((a, b) => a.le - b.le);
}

/**
 * histogramQuantile estimates the q-quantile of cumulative buckets by linear interpolation inside
 * the bucket that holds it, as Prometheus' histogram_quantile does: the first bucket is taken to
 * start at 0, and a quantile that falls in the +Inf bucket is the largest finite bound. Null when
 * there are no observations.
 */
export function histogramQuantile(q: number, cumulative: readonly Bucket[]): number | null {
  if (cumulative.length === 0) return null;
  const total = (cumulative[cumulative.length - 1] as Bucket).count;
  if (!(total > 0)) return null;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of cumulative) {
    if (b.count >= rank && b.count > lowerCount) {
      if (b.le === Number.POSITIVE_INFINITY) return lowerBound;
      return lowerBound + ((b.le - lowerBound) * (rank - lowerCount)) / (b.count - lowerCount);
    }
    lowerBound = b.le === Number.POSITIVE_INFINITY ? lowerBound : b.le;
    lowerCount = b.count;
  }
  return lowerBound;
}

/**
 * bucketDelta subtracts an earlier reading of the same histogram from a later one, so quantiles
 * describe only the interval between. Bounds missing from the earlier reading count from 0; a
 * bucket that went down means the node restarted, and the later reading is used whole.
 */
export function bucketDelta(later: readonly Bucket[], earlier: readonly Bucket[]): Bucket[] {
  const before = new Map(earlier.map((b) => [b.le, b.count]));
  const reset = later.some((b) => b.count < (before.get(b.le) ?? 0));
  return later.map((b) => ({ le: b.le, count: reset ? b.count : b.count - (before.get(b.le) ?? 0) }));
}

/** addBuckets sums histograms with the same bounds (one per node) into one. */
export function addBuckets(a: readonly Bucket[], b: readonly Bucket[]): Bucket[] {
  const sum = new Map<number, number>();
  for (const x of [...a, ...b]) sum.set(x.le, (sum.get(x.le) ?? 0) + x.count);
  return [...sum].map(([le, count]) => ({ le, count })).sort((x, y) => x.le - y.le);
}
