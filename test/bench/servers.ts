// Effectful. Server processes for the rivals bench: started with their output in a log file in
// their data dir, stopped with SIGTERM (SIGKILL after a grace period); a start that fails
// quotes the logs' last lines (`logTails`).

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Servers is a running local cluster of one rival. */
export interface Servers {
  readonly children: readonly ChildProcess[];
  stop(): Promise<void>;
}

/** SERVER_LOG is the file in a server's data dir that takes its output. */
const SERVER_LOG = 'server.log';

/** spawnServer starts one server process, its stdout and stderr to SERVER_LOG in `dir`. */
export function spawnServer(command: string, args: readonly string[], dir: string): ChildProcess {
  const log = openSync(join(dir, SERVER_LOG), 'a');
  try {
    const child = spawn(command, args, { stdio: ['ignore', log, log], env: { ...process.env } });
    child.on('error', (error) => process.stderr.write(`bench: ${command}: ${error.message}\n`));
    return child;
  } finally {
    closeSync(log);
  }
}

/** logTails is the last lines of each server's log, for an error that says why a start failed. */
export function logTails(dirs: readonly string[], lines = 5): string {
  return dirs
    .map((dir) => {
      let text: string;
      try {
        text = readFileSync(join(dir, SERVER_LOG), 'utf8');
      } catch {
        text = '(no log)';
      }
      return `${dir}:\n${text.trimEnd().split('\n').slice(-lines).map((l) => `  ${l}`).join('\n')}`;
    })
    .join('\n');
}

/** stopServers sends SIGTERM, then SIGKILL after 10 s, and waits for every process to exit. */
export async function stopServers(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          // NB: a process that never started (no pid) never exits either.
          if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return resolve();
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
