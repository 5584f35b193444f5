// Effectful. Server processes for the rivals bench: started with their output discarded, stopped
// with SIGTERM (SIGKILL after a grace period), and waited for with a bounded poll.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** Servers is a running local cluster of one rival. */
export interface Servers {
  readonly children: readonly ChildProcess[];
  stop(): Promise<void>;
}

/** spawnServer starts one server process; `dir` (its data dir) names it in errors. */
export function spawnServer(command: string, args: readonly string[], dir: string): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env } });
  child.on('error', (error) => process.stderr.write(`bench: ${command}: ${error.message} (data dir ${dir})\n`));
  return child;
}

/** stopServers sends SIGTERM, then SIGKILL after 10 s, and waits for every process to exit. */
export async function stopServers(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** waitFor polls `ready` every 200 ms until it holds, or throws after `ms`. */
export async function waitFor(what: string, ms: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (let attempt = 0; attempt < 10_000; attempt++) {
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`bench: ${what} not ready after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
