// Test helper, effectful. Starts Debian's Chromium through playwright-core (never a downloaded
// browser) and `warden console` as a real process, and saves screenshots under test-output/.
// A missing browser is a failure with the command that installs it, not a skip.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { ROOT, WARDEN, tempDir } from '../integration/helpers.ts';

/** CHROMIUM is the browser the end-to-end tests drive; WARDEN_CHROMIUM overrides it. */
export const CHROMIUM = process.env.WARDEN_CHROMIUM ?? '/usr/bin/chromium';

/** SCREENSHOTS is where each view's screenshot from the e2e run is saved. */
export const SCREENSHOTS = join(ROOT, 'test-output', 'e2e');

/** launchBrowser starts headless Chromium with the flags this closed network needs. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set WARDEN_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
}

/** screenshot saves the page as test-output/e2e/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** ConsoleSummary is the --json line of `warden console`. */
export interface ConsoleSummary {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly stateDir: string;
  readonly connections: readonly { readonly id: string; readonly endpoints: readonly string[] }[];
}

/** RunningConsole is a `warden console` process and what it printed. */
export interface RunningConsole {
  readonly process: ChildProcess;
  readonly summary: ConsoleSummary;
  readonly output: () => string;
  stop(): Promise<number | null>;
}

/**
 * startConsole runs `warden console --port 0 --json ...` and waits (bounded) for its line. With
 * `viaNpmStart` it runs `npm start -- ...` instead, exactly as a user types it.
 */
export async function startConsole(args: readonly string[], options: { viaNpmStart?: boolean; timeoutMs?: number } = {}): Promise<RunningConsole> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const stateDir = tempDir('warden-console-e2e-');
  const consoleArgs = ['--port', '0', '--json', '--state-dir', stateDir, ...args];
  const [command, argv] = options.viaNpmStart
    ? ['npm', ['start', '--silent', '--', ...consoleArgs]]
    : [process.execPath, [WARDEN, 'console', ...consoleArgs]];
  // NB: `npm start` runs in its own process group and is stopped as a terminal's Ctrl-C does,
  // with SIGINT to the whole group: npm's shell does not pass a signal sent to npm alone on.
  const child = spawn(command, argv, {
    detached: options.viaNpmStart === true,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WARDEN_CONSOLE_STATE: stateDir },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const summary = await new Promise<ConsoleSummary>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`warden console printed no --json line within ${timeoutMs} ms; stderr: ${err.slice(-2000)}`)), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.trim().startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as ConsoleSummary);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`warden console exited with ${code} before printing its URL; stderr: ${err.slice(-2000)}`));
    });
  });
  return {
    process: child,
    summary,
    output: () => out + err,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        const hard = setTimeout(() => {
          if (options.viaNpmStart && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          else child.kill('SIGKILL');
        }, 30_000);
        // The status as a shell reports it: 128 + the signal's number for a process a signal ended.
        child.once('exit', (code, signal) => {
          clearTimeout(hard);
          resolve(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : signal === 'SIGKILL' ? 137 : null));
        });
        if (options.viaNpmStart && child.pid !== undefined) process.kill(-child.pid, 'SIGINT');
        else child.kill('SIGTERM');
      }),
  };
}
