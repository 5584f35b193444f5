// Effectful. The desktop app's console backend: the one ConsoleBackend implementation from
// core/console, set up for Electron (state in the app's user data directory, local cluster nodes
// run as child processes of the app's own executable in Node mode), and a bounded shutdown.

import type { ConsoleBackend, ConsoleEventSource } from '../../core/api/contract.ts';
import { createConsoleService } from '../../core/console/consoleService.ts';
import { nodeCommand } from './config.ts';

/** ConsoleRuntime is the backend the IPC bridge serves, plus its shutdown. */
export type ConsoleRuntime = ConsoleBackend & ConsoleEventSource & { close(): Promise<void> };

/** RuntimeOptions come from the composition root (app paths, process facts). */
export interface RuntimeOptions {
  /** The app's user data directory: saved connections live in its SQLite database. */
  readonly stateDir: string;
  readonly version: string;
  /** The app's executable; it runs cluster nodes with ELECTRON_RUN_AS_NODE=1. */
  readonly execPath: string;
  /** The bundled `warden` CLI (out/electron/warden-node.js). */
  readonly nodeEntry: string;
}

/**
 * startRuntime creates the backend. Launched local clusters are not saved connections, so
 * their data stays in the backend's default temporary directory, removed when it closes,
 * instead of piling up in the user data directory.
 */
export async function startRuntime(options: RuntimeOptions): Promise<ConsoleRuntime> {
  return await createConsoleService({
    stateDir: options.stateDir,
    bridge: 'electron',
    version: options.version,
    nodeCommand: nodeCommand(options.execPath, options.nodeEntry),
  });
}

/**
 * stopRuntime closes the backend (stopping local cluster nodes, closing connections and the
 * database) but gives up after timeoutMs, so quitting the app can never hang on a stuck node.
 * Node processes also exit on their own when the app goes (WARDEN_EXIT_WITH_PARENT).
 */
export async function stopRuntime(runtime: Pick<ConsoleRuntime, 'close'>, timeoutMs: number): Promise<'closed' | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout('timed out'), timeoutMs);
  });
  try {
    return await Promise.race([runtime.close().then(() => 'closed' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
