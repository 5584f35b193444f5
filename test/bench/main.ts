// Effectful. `npm run bench -- <name> [--runs N] [--seconds S]`: benchmarks run as commands,
// never as timed tests. Figures go in the README with the command and the machine.

import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, bundleCli } from '../../build/bundleCli.ts';
import { runKvBench } from './kv.ts';
import { runDcBench } from './dc.ts';
import { runLocksBench } from './locks.ts';
import { runConsoleBench } from './console.ts';
import { RIVALS, runRivalsBench } from './rivals.ts';
import type { Rival } from './rivals.ts';

const { positionals, values } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' }, levels: { type: 'string' } },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
if (!(runs >= 1 && runs <= 20) || !(seconds > 0 && seconds <= 120)) {
  process.stderr.write('bench: --runs must be 1-20 and --seconds 1-120\n');
  process.exit(2);
}
const BENCHES = ['kv', 'locks', 'rivals', 'dc', 'console'];
if (!BENCHES.includes(positionals[0] ?? '')) {
  process.stderr.write('usage: npm run bench -- kv|locks|rivals|dc|console [micro|zookeeper|etcd] [--runs N] [--seconds S] [--levels 1,32,64]\n');
  process.exit(2);
}
// Nodes run as `warden node` does after `npm run build`: from the bundled CLI, not through tsx.
const cli = await bundleCli();
process.stderr.write(`bench: nodes run from ${relative(REPO_ROOT, cli.file)} (rebuilt from the sources)\n`);
const chosenLevels = values.levels?.split(',').map(Number) ?? null;
if (chosenLevels && !chosenLevels.every((n) => Number.isSafeInteger(n) && n >= 1 && n <= 1000)) {
  process.stderr.write(`bench: --levels must be client counts from 1 to 1000, separated by commas; got ${values.levels}\n`);
  process.exit(2);
}
const levels = (def: number[]): number[] => chosenLevels ?? def;

try {
  await run();
} catch (error) {
  // A bench that cannot run (a rival not installed, a cluster that never started) says why and fails.
  const e = error instanceof Error ? error : new Error(String(error));
  process.stderr.write(`bench: ${e.message.replace(/^bench: /, '')}\n`);
  process.exit(1);
}
process.exit(0);

/** run starts the named bench. */
async function run(): Promise<void> {
  switch (positionals[0]) {
    case 'kv':
      await runKvBench({ runs, seconds, levels: levels([1, 32, 64]) });
      break;
    case 'locks':
      await runLocksBench({ runs, seconds, distinct: levels([1, 8, 32, 64]), contended: levels([1, 8, 32]) });
      break;
    case 'rivals': {
      const named = positionals.slice(1);
      const unknown = named.filter((n) => !(RIVALS as readonly string[]).includes(n));
      if (unknown.length > 0) {
        process.stderr.write(`bench: rivals are ${RIVALS.join(' and ')}, not ${unknown.join(', ')}\n`);
        process.exit(2);
      }
      await runRivalsBench(named.length > 0 ? (named as Rival[]) : RIVALS, { runs, seconds, distinct: levels([1, 8, 32, 64]), contended: levels([1, 8, 32]) });
      break;
    }
    case 'dc':
      await runDcBench({ runs, seconds, clients: 32, failovers: 5 });
      break;
    case 'console':
      await runConsoleBench({ runs, microOnly: positionals[1] === 'micro' });
      break;
    default:
      process.stderr.write('usage: npm run bench -- kv|locks|rivals|dc|console [micro|zookeeper|etcd] [--runs N] [--seconds S] [--levels 1,32,64]\n');
      process.exit(2);
  }
}
