// Effectful (child processes, disk). `npm start`: builds what is stale, then opens the desktop
// app on a local three-datacenter cluster; where no Electron runtime is installed it says so in
// one line and serves the same console to a browser (`warden console --local`) instead.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElectronRuntime } from '../../build/electronRuntime.ts';
import { runConsole } from './consoleCommand.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** newestMtimeMs is the latest modification time of any file under the given paths. */
function newestMtimeMs(paths: readonly string[]): number {
  let newest = 0;
  const visit = (path: string): void => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const path of paths) visit(path);
  return newest;
}

/**
 * isStale tells whether an output must be rebuilt: it is missing or older than a source. The
 * renderer's sources include core/api, whose contract it is compiled against.
 */
export function isStale(output: string, sources: readonly string[]): boolean {
  if (!existsSync(output)) return true;
  return statSync(output).mtimeMs < newestMtimeMs(sources);
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', env });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const npmScript = (script: string): Promise<number> => run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', script]);

/** runStart is `npm start` (`warden start`); extra arguments go to `warden console`. */
export async function runStart(args: string[]): Promise<number> {
  const rendererSources = [join(ROOT, 'renderer'), join(ROOT, 'core', 'api'), join(ROOT, 'build', 'vite.renderer.config.ts')];
  if (isStale(join(ROOT, 'out', 'renderer', 'index.html'), rendererSources)) {
    process.stderr.write('warden: building the console UI (npm run build:renderer)...\n');
    const code = await npmScript('build:renderer');
    if (code !== 0) return code;
  }
  const runtime = findElectronRuntime();
  if (!runtime.found) {
    process.stderr.write(`warden: no Electron runtime (${runtime.reason}); opening the console in a browser instead\n`);
    return runConsole(['--local', ...args]);
  }
  // The app runs from a staged copy whose better-sqlite3 is built for Electron, so that the
  // repository's own build (for Node, used by npm test) is never replaced.
  if (isStale(join(ROOT, 'out', 'app', 'package.json'), [join(ROOT, 'core'), join(ROOT, 'electron'), join(ROOT, 'out', 'renderer')])) {
    process.stderr.write('warden: preparing the desktop app (npm run dist -- --stage)...\n');
    const code = await run(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'build', 'dist.ts'), '--stage']);
    if (code !== 0) return code;
  }
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  return run(runtime.executable, [join(ROOT, 'out', 'app'), '--local'], env);
}
