// Effectful (writes files). `npm run build:electron`: bundles the desktop app's three scripts
// with esbuild into out/electron: main.js (ES module, the main process), preload.cjs (CommonJS,
// the sandboxed preload) and warden-node.js (the `warden` CLI that local cluster nodes run).
// No tsx at run time; only Electron and the runtime dependencies stay outside the bundles.

import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { BuildOptions, Metafile } from 'esbuild';
import { ESM_REQUIRE_BANNER, REPO_ROOT, buildErrorLine } from './esbuildShared.ts';

export { REPO_ROOT };

/** ELECTRON_BUNDLE_DIR is where `npm run build:electron` writes. */
export const ELECTRON_BUNDLE_DIR = join(REPO_ROOT, 'out', 'electron');

/** Electron 45 runs Node 22 in the main process and Chromium 140 in renderers. */
const NODE_TARGET = 'node22';
const PRELOAD_TARGET = 'chrome140';

/**
 * runtimeDependencies are the packages left outside the bundles and shipped in node_modules:
 * the root package.json's `dependencies` (better-sqlite3 is native and must be rebuilt for
 * Electron; ws and yaml ship as published).
 */
export function runtimeDependencies(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {});
}

/** BundleResult names the three files written. */
export interface BundleResult {
  readonly main: string;
  readonly preload: string;
  readonly nodeEntry: string;
}


function nodeBundle(entry: string, outfile: string, external: string[]): BuildOptions {
  return {
    entryPoints: [join(REPO_ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: NODE_TARGET,
    external,
    banner: { js: ESM_REQUIRE_BANNER },
    keepNames: true,
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
  };
}

/** PRELOAD_SOURCES are the only folders the preload may bundle (style guide's layering table). */
const PRELOAD_SOURCES = ['electron/preload/', 'core/api/'];

function checkPreloadInputs(metafile: Metafile): void {
  const strays = Object.keys(metafile.inputs)
    .map((input) => relative(REPO_ROOT, resolve(REPO_ROOT, input)).split('\\').join('/'))
    .filter((input) => !PRELOAD_SOURCES.some((prefix) => input.startsWith(prefix)));
  if (strays.length > 0) throw new Error(`the preload may only bundle ${PRELOAD_SOURCES.join(' and ')}, but it pulls in ${strays.join(', ')}`);
}

/**
 * bundleElectron writes the three bundles into outDir. The preload is CommonJS because a
 * sandboxed preload cannot load ES modules, and is built for the browser platform so that an
 * accidental Node import fails the build instead of failing in the sandbox.
 */
export async function bundleElectron(outDir: string = ELECTRON_BUNDLE_DIR): Promise<BundleResult> {
  await mkdir(outDir, { recursive: true });
  const external = ['electron', ...runtimeDependencies()];
  const result: BundleResult = {
    main: join(outDir, 'main.js'),
    preload: join(outDir, 'preload.cjs'),
    nodeEntry: join(outDir, 'warden-node.js'),
  };
  const [, preload] = await Promise.all([
    build(nodeBundle('electron/main/index.ts', result.main, external)),
    build({
      entryPoints: [join(REPO_ROOT, 'electron/preload/index.ts')],
      outfile: result.preload,
      bundle: true,
      platform: 'browser',
      format: 'cjs',
      target: PRELOAD_TARGET,
      external: ['electron'],
      legalComments: 'none',
      logLevel: 'silent',
      metafile: true,
    }),
    build(nodeBundle('core/cli/main.ts', result.nodeEntry, external)),
  ]);
  checkPreloadInputs(preload.metafile);
  return result;
}

async function runFromCommandLine(): Promise<void> {
  try {
    const out = await bundleElectron();
    for (const file of Object.values(out)) process.stdout.write(`wrote ${relative(REPO_ROOT, file)}\n`);
  } catch (err) {
    process.stderr.write(`build:electron: ${buildErrorLine(err)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await runFromCommandLine();
