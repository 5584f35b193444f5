// Effectful (argv, stdout, child processes, exit code). The simulator's command line:
//   npm run sim -- --seeds N [--seed S] [--bug NAME] [--json] [--workers W] [--virtual-ms MS] [--lenient-jeopardy] [--datacenters] [--trace] [--verbose]
// Runs seeds S..S+N-1 (S defaults to 1; decimal or 0x-hex; --datacenters makes every one a
// datacenter seed), one status line per failing seed with
// its rerun command, then a summary. With --json the last line is one JSON object. Exit code: 0
// when no seed found a violation, 1 when one did (also with --bug, where that is the expected
// outcome: "caught" is reported on stdout), 2 on bad usage.

import type { BugName } from '../../core/raft/types.ts';
import { runSeeds, type SeedOptions } from './pool.ts';
import { hex, rerunCommand } from './report.ts';
import { runSeed, type RunResult } from './run.ts';

const BUGS: readonly BugName[] = ['vote-twice', 'commit-old-term', 'skip-log-match', 'send-before-persist', 'grant-expired-session', 'skip-lock-delay', 'unconfirmed-keepalive', 'late-read-join'];

/** CliOptions is the parsed command line. */
interface CliOptions {
  seeds: number;
  seed: number;
  bug?: BugName;
  json: boolean;
  workers: number;
  virtualMs?: number;
  strictJeopardy: boolean;
  datacenters: boolean;
  trace: boolean;
  verbose: boolean;
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run sim -- --seeds N [--seed S] [--bug NAME] [--json] [--workers W] [--virtual-ms MS] [--lenient-jeopardy] [--datacenters] [--trace] [--verbose]\n`);
  process.exit(2);
}

function parseNumber(text: string | undefined, flag: string): number {
  if (text === undefined) usage(`${flag} needs a value`);
  const value = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text.slice(2), 16) : Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) usage(`${flag}: not an unsigned 32-bit integer: ${text}`);
  return value;
}

function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { seeds: 1, seed: 1, json: false, workers: 1, strictJeopardy: true, datacenters: false, trace: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--seeds':
        options.seeds = parseNumber(argv[++i], arg);
        break;
      case '--seed':
        options.seed = parseNumber(argv[++i], arg);
        break;
      case '--bug': {
        const bug = argv[++i] as BugName;
        if (!BUGS.includes(bug)) usage(`--bug must be one of ${BUGS.join(', ')}`);
        options.bug = bug;
        break;
      }
      case '--json':
        options.json = true;
        break;
      case '--workers':
        options.workers = Math.max(1, parseNumber(argv[++i], arg));
        break;
      case '--virtual-ms':
        options.virtualMs = parseNumber(argv[++i], arg);
        break;
      case '--lenient-jeopardy':
        options.strictJeopardy = false;
        break;
      case '--datacenters':
        options.datacenters = true;
        break;
      case '--trace':
        options.trace = true;
        break;
      case '--verbose':
        options.verbose = true;
        break;
      default:
        usage(`unknown argument ${arg}`);
    }
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.trace) {
    // One seed, every event's status line: for reading a failure step by step.
    const result = runSeed(options.seed, {
      ...(options.bug ? { bug: options.bug } : {}),
      ...(options.virtualMs !== undefined ? { virtualMs: options.virtualMs } : {}),
      ...(options.strictJeopardy ? {} : { strictJeopardy: false }),
      ...(options.datacenters ? { datacenters: true } : {}),
      trace: (line) => process.stdout.write(`${line}\n`),
    });
    for (const violation of result.violations) process.stdout.write(`VIOLATION ${violation}\n`);
    process.exitCode = result.violations.length > 0 ? 1 : 0;
    return;
  }
  const seeds = Array.from({ length: options.seeds }, (_, i) => (options.seed + i) >>> 0);
  const runOptions: SeedOptions = {
    ...(options.bug ? { bug: options.bug } : {}),
    ...(options.virtualMs !== undefined ? { virtualMs: options.virtualMs } : {}),
    ...(options.strictJeopardy ? {} : { strictJeopardy: false }),
    ...(options.datacenters ? { datacenters: true } : {}),
  };
  const started = performance.now();
  const onResult = (result: RunResult): void => {
    const failed = result.violations.length > 0;
    if (failed || options.verbose) {
      const status = failed ? 'FAIL' : 'ok  ';
      process.stdout.write(
        `${status} seed=${hex(result.seed)} events=${result.events} wall=${result.wallMs.toFixed(0)}ms linearizability=${result.linearizability}` +
          `${failed ? ` ${result.violations[0]}` : ''} rerun: ${rerunCommand(result.seed, options.bug, options.virtualMs)}${options.strictJeopardy ? '' : ' --lenient-jeopardy'}${options.datacenters ? ' --datacenters' : ''}\n`,
      );
      if (failed && options.verbose) process.stdout.write(`     config: ${result.config}\n`);
    }
  };
  const results = await runSeeds(seeds, runOptions, options.workers, onResult);
  const wallMs = performance.now() - started;
  const failing = results.filter((result) => result.violations.length > 0);
  const events = results.reduce((sum, result) => sum + result.events, 0);
  const unknown = results.filter((result) => result.linearizability === 'unknown').length;
  const datacenterSeeds = results.filter((result) => (result.stats.datacenters ?? 0) > 0).length;
  // Determinism self-check: the first seed again, in this process; its trace hash must match.
  const first = results[0];
  let deterministic = true;
  if (first) {
    const again = runSeed(first.seed, runOptions);
    deterministic = again.traceHash === first.traceHash && again.events === first.events;
    if (!deterministic) process.stdout.write(`NONDETERMINISM seed=${hex(first.seed)}: trace ${first.traceHash} then ${again.traceHash}\n`);
  }
  const eventsPerSecond = Math.round(events / (wallMs / 1000));
  const virtualSeconds = results.reduce((sum, result) => sum + result.virtualMs, 0) / 1000;
  process.stdout.write(
    `${results.length} seeds, ${failing.length} with violations, ${unknown} with linearizability unknown (search budget), ` +
      `${events} events in ${(wallMs / 1000).toFixed(1)} s wall (${eventsPerSecond} events/s, ${(wallMs / Math.max(1, results.length)).toFixed(0)} ms/seed over ${options.workers} worker(s)), ` +
      `${virtualSeconds.toFixed(0)} virtual s, ${datacenterSeeds} datacenter seed(s), deterministic=${deterministic}\n`,
  );
  if (options.bug) process.stdout.write(`bug ${options.bug}: ${failing.length > 0 ? `caught first by seed=${hex(failing[0]!.seed)}` : 'NOT caught'}\n`);
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ seeds: results.length, violations: failing.length, deterministic, eventsPerSecond, datacenterSeeds, firstFailingSeed: failing[0]?.seed ?? null })}\n`,
    );
  }
  process.exitCode = failing.length > 0 || !deterministic ? 1 : 0;
}

void main();
