// Effectful. `npm run dist`: builds the renderer and the Electron bundles, stages the app in
// out/app with only its runtime dependencies, rebuilds better-sqlite3 there for Electron's ABI
// (never in the repository's node_modules, whose Node build `npm test` uses), checks the ABI,
// and packages out/app with electron-builder. `--stage` stops before packaging, leaving an app
// directory Electron can run (the Electron end-to-end specs do the same in a temporary dir).

import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { bundleElectron, ELECTRON_BUNDLE_DIR, REPO_ROOT, runtimeDependencies } from './bundleElectron.ts';
import { electronAbi, findElectronRuntime } from './electronRuntime.ts';
import type { ElectronRuntime } from './electronRuntime.ts';

/** STAGE_DIR is the app electron-builder packs (its `directories.app`). */
export const STAGE_DIR = join(REPO_ROOT, 'out', 'app');
/** RENDERER_DIR is where `npm run build:renderer` writes. */
export const RENDERER_DIR = join(REPO_ROOT, 'out', 'renderer');
/** BUILDER_CONFIG is the electron-builder configuration file. */
export const BUILDER_CONFIG = join(REPO_ROOT, 'build', 'electron-builder.yml');

/** DistError is a failure explained in one sentence; the command prints it without a stack. */
export class DistError extends Error {
  override readonly name = 'DistError';
}

interface RootPackage {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly license?: string;
  readonly dependencies?: Record<string, string>;
}

function rootPackage(): RootPackage {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as RootPackage;
}

/**
 * NATIVE_BUILD_OUTPUT is never staged: the repository's better-sqlite3 binary is built for
 * Node's ABI, and shipping it by mistake would crash the app on its first database open.
 */
const NATIVE_BUILD_OUTPUT = join('node_modules', 'better-sqlite3', 'build');

function findPackageDir(name: string, fromDir: string): string | null {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === REPO_ROOT || dirname(dir) === dir) return null;
  }
}

/**
 * copyRuntimeDependencies copies the runtime dependencies and everything they depend on, at
 * the same relative places, from the repository's node_modules into the stage. Copying (not
 * `npm install`) needs no network and ships exactly the versions the tests ran against.
 */
async function copyRuntimeDependencies(stageDir: string): Promise<string[]> {
  const copied = new Set<string>();
  const queue = runtimeDependencies().map((name) => ({ name, fromDir: REPO_ROOT, optional: false }));
  for (let next = queue.shift(); next; next = queue.shift()) {
    const dir = findPackageDir(next.name, next.fromDir);
    if (dir === null) {
      if (next.optional) continue;
      throw new DistError(`the runtime dependency ${next.name} is not installed in node_modules; run npm ci first`);
    }
    const rel = relative(REPO_ROOT, dir);
    if (copied.has(rel)) continue;
    copied.add(rel);
    await cp(dir, join(stageDir, rel), {
      recursive: true,
      // NB: nested node_modules are walked as dependencies below, not copied wholesale here.
      filter: (src) => {
        const srcRel = relative(REPO_ROOT, src);
        return srcRel !== join(rel, 'node_modules') && srcRel !== NATIVE_BUILD_OUTPUT && !srcRel.startsWith(NATIVE_BUILD_OUTPUT + sep);
      },
    });
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const name of Object.keys(pkg.dependencies ?? {})) queue.push({ name, fromDir: dir, optional: false });
    for (const name of Object.keys(pkg.optionalDependencies ?? {})) queue.push({ name, fromDir: dir, optional: true });
  }
  return [...copied].sort();
}

/** StageOptions say where the built parts are; the defaults are what `npm run build` writes. */
export interface StageOptions {
  readonly stageDir?: string;
  readonly bundleDir?: string;
  readonly rendererDir?: string;
}

/**
 * stageApp assembles out/app: electron/{main.js, preload.cjs, warden-node.js}, renderer/, a
 * package.json whose only dependencies are the runtime ones, and those packages. The layout
 * matches out/ in the repository, so electron/main/config.ts finds its parts the same way.
 */
export async function stageApp(options: StageOptions = {}): Promise<string> {
  const stageDir = options.stageDir ?? STAGE_DIR;
  const bundleDir = options.bundleDir ?? ELECTRON_BUNDLE_DIR;
  const rendererDir = options.rendererDir ?? RENDERER_DIR;
  if (!existsSync(join(rendererDir, 'index.html'))) throw new DistError(`the renderer is not built (${relative(REPO_ROOT, rendererDir)}/index.html is missing); run npm run build:renderer`);
  for (const file of ['main.js', 'preload.cjs', 'warden-node.js']) {
    if (!existsSync(join(bundleDir, file))) throw new DistError(`the Electron bundles are not built (${file} is missing); run npm run build:electron`);
  }
  await rm(stageDir, { recursive: true, force: true });
  await mkdir(join(stageDir, 'electron'), { recursive: true });
  for (const file of ['main.js', 'preload.cjs', 'warden-node.js']) await cp(join(bundleDir, file), join(stageDir, 'electron', file));
  await cp(rendererDir, join(stageDir, 'renderer'), { recursive: true });
  const root = rootPackage();
  const dependencies: Record<string, string> = {};
  for (const name of runtimeDependencies()) dependencies[name] = root.dependencies?.[name] ?? '*';
  const staged = {
    name: root.name,
    productName: 'Warden',
    version: root.version,
    description: root.description ?? 'Warden console',
    license: root.license ?? 'UNLICENSED',
    author: { name: 'Warden contributors' },
    private: true,
    type: 'module',
    main: 'electron/main.js',
    dependencies,
  };
  await writeFile(join(stageDir, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`);
  await copyRuntimeDependencies(stageDir);
  return stageDir;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
    child.once('error', (err) => rejectRun(new DistError(`could not run ${command}: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolveRun();
      else rejectRun(new DistError(`${command} ${args.join(' ')} failed (${signal ?? `exit status ${code}`})`));
    });
  });
}

const NETWORK_FAILURE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|getaddrinfo|socket hang up|network|proxy/i;

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.message}\n${err.stack ?? ''}\n${String((err as { cause?: unknown }).cause ?? '')}`;
  return String(err);
}

/**
 * explainFailure turns a failed step into the one sentence the command prints: what was being
 * fetched and why it could not be, so an offline machine gets a clear answer, not a stack.
 */
export function explainFailure(step: 'rebuild' | 'package', err: unknown, electronVersion: string, target = `${process.platform}-${process.arch}`): string {
  if (err instanceof DistError) return err.message;
  const text = errorText(err);
  const firstLine = (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 300) ?? 'unknown error';
  if (NETWORK_FAILURE.test(text)) {
    if (step === 'rebuild' || /headers|node-gyp|rebuild|prebuild/i.test(text)) {
      return `better-sqlite3 could not be rebuilt for Electron ${electronVersion} because the Electron ${electronVersion} headers (or a prebuilt better-sqlite3 for ${target}) could not be downloaded: there is no network access and no local copy (${firstLine})`;
    }
    return `electron-builder could not download the Electron ${electronVersion} runtime for ${target}: there is no network access and no installed Electron binary to package from (install the electron package's binary or set ELECTRON_OVERRIDE_DIST_PATH) (${firstLine})`;
  }
  return `${step === 'rebuild' ? 'rebuilding better-sqlite3 for Electron' : 'electron-builder'} failed: ${firstLine}`;
}

/** ADDON is better-sqlite3's native addon inside a staged app. */
const ADDON = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');

/**
 * addonAbi reads which ABI a native addon was built for from the registration symbol it
 * exports: `node_register_module_v<N>` (N is NODE_MODULE_VERSION), or 'napi' for an addon on
 * Node-API, which loads under any ABI. Null when neither is found.
 */
export function addonAbi(file: string): number | 'napi' | null {
  const text = readFileSync(file).toString('latin1');
  const match = /node_register_module_v(\d+)/.exec(text);
  if (match) return Number(match[1]);
  return text.includes('napi_register_module_v1') ? 'napi' : null;
}

/**
 * withoutNpmNodedir drops npm's `nodedir` setting from the environment node-gyp inherits.
 * With it, node-gyp compiles against that directory's Node.js headers whatever Electron version
 * it is asked for, and produces an addon the app cannot load.
 */
function withoutNpmNodedir(env: NodeJS.ProcessEnv): string[] {
  const dropped = Object.keys(env).filter((key) => key.toLowerCase() === 'npm_config_nodedir');
  for (const key of dropped) delete env[key];
  return dropped;
}

/**
 * rebuildNativeForElectron rebuilds better-sqlite3 inside the stage for Electron's ABI (a
 * prebuilt binary when one can be fetched, else from source against Electron's headers), then
 * checks the result really is for Electron's ABI before anything ships it.
 */
export async function rebuildNativeForElectron(stageDir: string, electronVersion: string): Promise<void> {
  const dropped = withoutNpmNodedir(process.env);
  if (dropped.length > 0) process.stdout.write(`dist: ignoring npm's nodedir setting for the rebuild (it would build against Node's headers)\n`);
  try {
    const { rebuild } = await import('@electron/rebuild');
    await rebuild({ buildPath: stageDir, electronVersion, force: true, onlyModules: ['better-sqlite3'] });
  } catch (err) {
    throw new DistError(explainFailure('rebuild', err, electronVersion));
  }
  const expected = electronAbi();
  const file = join(stageDir, ADDON);
  if (!existsSync(file)) throw new DistError(`rebuilding better-sqlite3 for Electron ${electronVersion} produced no ${ADDON}`);
  const found = addonAbi(file);
  if (expected !== null && found !== 'napi' && found !== expected) {
    throw new DistError(`better-sqlite3 was rebuilt for NODE_MODULE_VERSION ${found ?? 'unknown'}, but Electron ${electronVersion} needs ${expected}; the build did not use Electron's headers`);
  }
}

async function reachable(host: string, timeoutMs = 3000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(false), timeoutMs);
  });
  try {
    return await Promise.race([lookup(host).then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function electronCacheDirs(): string[] {
  if (process.env.ELECTRON_CACHE) return [process.env.ELECTRON_CACHE];
  if (process.platform === 'darwin') return [join(homedir(), 'Library', 'Caches', 'electron')];
  if (process.platform === 'win32') return [join(process.env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'electron', 'Cache')];
  return [join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'electron')];
}

/** hasCachedElectronZip says whether @electron/get already holds the Electron zip to package. */
function hasCachedElectronZip(version: string): boolean {
  const name = `electron-v${version}-${process.platform}-${process.arch}.zip`;
  for (const dir of electronCacheDirs()) {
    if (existsSync(join(dir, name))) return true;
    try {
      for (const entry of readdirSync(dir)) if (existsSync(join(dir, entry, name))) return true;
    } catch {
      // No cache directory: nothing cached.
    }
  }
  return false;
}

function hasCachedElectronHeaders(version: string): boolean {
  return existsSync(join(homedir(), '.electron-gyp', version, 'include', 'node', 'node_version.h'));
}

/**
 * missingDownloads lists what packaging would have to download but cannot: the Electron
 * headers (to rebuild better-sqlite3) and, unless an Electron runtime is installed or cached,
 * Electron itself. It looks the download hosts up once, so an offline machine is told at once
 * instead of after compiling SQLite.
 */
export async function missingDownloads(runtime: ElectronRuntime & { version: string }, forPackaging: boolean): Promise<string[]> {
  const missing: string[] = [];
  const target = `${process.platform}-${process.arch}`;
  if (!hasCachedElectronHeaders(runtime.version) && !(await reachable('www.electronjs.org'))) {
    missing.push(`the Electron ${runtime.version} headers that better-sqlite3 is compiled against`);
  }
  if (forPackaging && !runtime.found && !hasCachedElectronZip(runtime.version) && !(await reachable('github.com'))) {
    missing.push(`the Electron ${runtime.version} runtime for ${target} (${runtime.reason}, and none is in the Electron download cache)`);
  }
  return missing;
}

async function packageApp(electronVersion: string, electronDist: string | null): Promise<string[]> {
  const config = parseYaml(await readFile(BUILDER_CONFIG, 'utf8')) as Record<string, unknown>;
  const { build } = await import('electron-builder');
  try {
    return await build({
      projectDir: REPO_ROOT,
      config: { ...config, electronVersion, ...(electronDist !== null ? { electronDist } : {}) },
      publish: 'never',
    });
  } catch (err) {
    throw new DistError(explainFailure('package', err, electronVersion));
  }
}

function say(line: string): void {
  process.stdout.write(`dist: ${line}\n`);
}

async function runFromCommandLine(args: string[]): Promise<number> {
  const stageOnly = args.includes('--stage');
  const unknown = args.filter((a) => a !== '--stage');
  if (unknown.length > 0) {
    process.stderr.write(`dist: unknown option ${unknown[0]} (usage: tsx build/dist.ts [--stage])\n`);
    return 2;
  }
  try {
    say('building the renderer');
    await run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build:renderer']);
    say('bundling the main process, preload and node entry');
    await bundleElectron();
    say(`staging the app in ${relative(REPO_ROOT, STAGE_DIR)}`);
    await stageApp();
    const runtime = findElectronRuntime();
    if (runtime.version === null) throw new DistError('the electron package is not installed, so the Electron version to build for is unknown; run npm ci');
    const missing = await missingDownloads({ ...runtime, version: runtime.version }, !stageOnly);
    if (missing.length > 0) throw new DistError(`cannot ${stageOnly ? 'prepare the app' : 'package the app'} without network access: missing ${missing.join(' and ')}`);
    say(`rebuilding better-sqlite3 for Electron ${runtime.version} in the stage`);
    await rebuildNativeForElectron(STAGE_DIR, runtime.version);
    if (stageOnly) {
      say(`staged: run the app with <electron> ${relative(REPO_ROOT, STAGE_DIR)}`);
      return 0;
    }
    say(
      runtime.found
        ? `packaging with electron-builder from the local Electron ${runtime.version}`
        : `packaging with electron-builder; no local Electron runtime (${runtime.reason}), so it downloads Electron ${runtime.version}`,
    );
    const artifacts = await packageApp(runtime.version, runtime.found ? runtime.distDir : null);
    for (const file of artifacts) say(`wrote ${relative(REPO_ROOT, file)}`);
    return 0;
  } catch (err) {
    const message = err instanceof DistError ? err.message : ((err as Error)?.message ?? String(err)).split('\n')[0];
    process.stderr.write(`dist: ${message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const code = await runFromCommandLine(process.argv.slice(2));
  // NB: exit explicitly: electron-builder can leave handles open (and has been seen to end the
  // process with status 0 after a failure), and the status is what CI reads.
  process.exit(code);
}
