// Pure. Where the desktop app finds its parts and how it runs a cluster node: paths derived from
// the main bundle's own location (the same layout in out/ and inside the packaged app) and the
// environment overrides the app honours.

import { dirname, join } from 'node:path';
import type { NodeCommand } from '../../core/cli/localCluster.ts';

/** AppPaths are the files the main process needs next to it. */
export interface AppPaths {
  /** The built renderer (index.html and assets), served under app://warden/. */
  readonly rendererDir: string;
  /** The CommonJS preload bundle. */
  readonly preloadPath: string;
  /** The bundled `warden` CLI that local cluster nodes run as `warden-node.js node --config FILE`. */
  readonly nodeEntry: string;
}

/**
 * appPaths lays the parts out relative to the directory of main.js: `electron/{main.js,
 * preload.cjs, warden-node.js}` beside `renderer/`. That holds for out/ in the repository and for
 * the staged app that electron-builder packs, so there is one rule and no "am I packaged" branch.
 */
export function appPaths(bundleDir: string): AppPaths {
  return {
    rendererDir: join(dirname(bundleDir), 'renderer'),
    preloadPath: join(bundleDir, 'preload.cjs'),
    nodeEntry: unpackedPath(join(bundleDir, 'warden-node.js')),
  };
}

/**
 * unpackedPath turns a path inside app.asar into its twin in app.asar.unpacked. The node entry
 * and node_modules are unpacked when packaging, so a node child process runs from the plain
 * file system: it never depends on asar support in ELECTRON_RUN_AS_NODE mode or in Node's ES
 * module loader, and better-sqlite3's native addon is a real file.
 */
export function unpackedPath(path: string): string {
  return path.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
}

/**
 * nodeCommand runs a cluster node with the app's own executable in Node mode. A packaged app has
 * no separate Node.js, and the nodes must be child processes so the window never waits on
 * consensus, disk syncs or a node that hangs.
 */
export function nodeCommand(execPath: string, nodeEntry: string): NodeCommand {
  return { execPath, args: [nodeEntry], env: { ELECTRON_RUN_AS_NODE: '1' } };
}

/** USER_DATA_ENV overrides where the app keeps its database and local clusters (tests use it). */
export const USER_DATA_ENV = 'WARDEN_USER_DATA_DIR';

/** userDataOverride reads USER_DATA_ENV: an absolute directory, or null to keep Electron's default. */
export function userDataOverride(env: Readonly<Record<string, string | undefined>>): string | null {
  const dir = env[USER_DATA_ENV];
  if (dir === undefined || dir === '') return null;
  if (!/^([A-Za-z]:[\\/]|[\\/])/.test(dir)) throw new Error(`${USER_DATA_ENV} must be an absolute directory, got ${JSON.stringify(dir)}`);
  return dir;
}
