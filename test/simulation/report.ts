// Pure. How the simulator names seeds and reproduction commands, shared by the CLI and the suites
// so that every failure anywhere prints the same, copy-pasteable rerun line.

import type { BugName } from '../../core/raft/types.ts';

/** hex formats a seed the way rerun lines print it. */
export function hex(seed: number): string {
  return `0x${(seed >>> 0).toString(16)}`;
}

/** rerunCommand is the command that reproduces one seed (add `--trace` to see every event). */
export function rerunCommand(seed: number, bug?: BugName, virtualMs?: number): string {
  return `npm run sim -- --seed ${hex(seed)} --seeds 1${bug ? ` --bug ${bug}` : ''}${virtualMs !== undefined ? ` --virtual-ms ${virtualMs}` : ''}`;
}
