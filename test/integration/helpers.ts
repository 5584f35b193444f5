// Test helper, effectful. Starts real Warden processes through the CLI on 127.0.0.1 with
// temporary data dirs, and stops everything it started. Every wait is bounded.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const WARDEN = join(ROOT, 'core/cli/warden.js');

/** LocalSummary is the --json line of `warden cluster local`. */
export interface LocalSummary {
  endpoints: string[];
  adminToken: string;
  nodes: { id: string; datacenter: string; client: string; pid: number }[];
  dataDir: string;
}

/** RunningCluster is a `warden cluster local` process and what it printed. */
export interface RunningCluster {
  readonly launcher: ChildProcess;
  readonly summary: LocalSummary;
  readonly stderr: () => string;
}

const started: ChildProcess[] = [];
const dirs: string[] = [];

/** tempDir makes a temporary directory removed by cleanup(). */
export function tempDir(prefix = 'warden-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** startLocalCluster runs `warden cluster local --json` and waits for its line (bounded). */
export async function startLocalCluster(args: string[], timeoutMs = 60_000): Promise<RunningCluster> {
  const launcher = spawn(process.execPath, [WARDEN, 'cluster', 'local', '--json', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(launcher);
  let out = '';
  let err = '';
  launcher.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const summary = await new Promise<LocalSummary>((resolveSummary, reject) => {
    const timer = setTimeout(() => reject(new Error(`cluster local printed nothing within ${timeoutMs} ms: ${err}`)), timeoutMs);
    launcher.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolveSummary(JSON.parse(out.slice(0, nl)) as LocalSummary);
        } catch (e) {
          reject(e as Error);
        }
      }
    });
    launcher.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cluster local exited with ${code}: ${err}`));
    });
  });
  return { launcher, summary, stderr: () => err };
}

/** runCli runs one `warden` command to completion and returns its output (bounded in time). */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [WARDEN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** isAlive says whether a pid still runs. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** waitFor polls a condition until it holds or the deadline passes. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** killHard sends SIGKILL to a pid and waits until it is gone. */
export async function killHard(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitFor(`pid ${pid} to exit`, () => !isAlive(pid), 10_000, 20);
}

/** stopCluster ends a launcher (SIGTERM, then SIGKILL) and any node pids still alive. */
export async function stopCluster(cluster: RunningCluster): Promise<void> {
  const { launcher, summary } = cluster;
  if (launcher.exitCode === null && launcher.signalCode === null) {
    await new Promise<void>((resolveStop) => {
      const timer = setTimeout(() => launcher.kill('SIGKILL'), 10_000);
      launcher.once('exit', () => {
        clearTimeout(timer);
        resolveStop();
      });
      launcher.kill('SIGTERM');
    });
  }
  for (const n of summary.nodes) if (isAlive(n.pid)) await killHard(n.pid);
}

/** cleanup stops every process started here and removes temporary dirs. */
export async function cleanup(): Promise<void> {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
