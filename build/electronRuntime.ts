// Effectful (reads the file system). Finds an installed Electron runtime without loading the
// electron package, whose entry point would try to download the binary when it is missing.
// Used by `npm run dist` (to package from a local copy) and by the Electron end-to-end specs.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * electronAbi is the NODE_MODULE_VERSION of the installed electron package (its abi_version
 * file): what a native addon must be built for to load in the app. Null when unknown.
 */
export function electronAbi(): number | null {
  try {
    const packageDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
    const abi = Number(readFileSync(join(packageDir, 'abi_version'), 'utf8').trim());
    return Number.isInteger(abi) && abi > 0 ? abi : null;
  } catch {
    return null;
  }
}

/** ElectronRuntime is an Electron binary that can be run here, or why there is none. */
export type ElectronRuntime =
  | { readonly found: true; readonly executable: string; readonly distDir: string; readonly version: string }
  | { readonly found: false; readonly version: string | null; readonly reason: string };

/**
 * findElectronRuntime looks where the electron package's own launcher would: the binary named
 * in node_modules/electron/path.txt under its dist/ directory, or under
 * ELECTRON_OVERRIDE_DIST_PATH when that is set. It never downloads anything.
 */
export function findElectronRuntime(env: Readonly<Record<string, string | undefined>> = process.env): ElectronRuntime {
  let packageDir: string;
  try {
    packageDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { found: false, version: null, reason: 'the electron package is not installed' };
  }
  const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  const pathFile = join(packageDir, 'path.txt');
  const relativeBinary = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) {
    const executable = join(override, relativeBinary ?? 'electron');
    if (existsSync(executable)) return { found: true, executable, distDir: override, version };
    return { found: false, version, reason: `ELECTRON_OVERRIDE_DIST_PATH has no Electron binary (${executable} is missing)` };
  }
  if (relativeBinary === null) return { found: false, version, reason: 'electron package has no binary' };
  const distDir = join(packageDir, 'dist');
  const executable = join(distDir, relativeBinary);
  if (!existsSync(executable)) return { found: false, version, reason: `electron package has no binary (${relativeBinary} is missing from its dist directory)` };
  return { found: true, executable, distDir, version };
}
