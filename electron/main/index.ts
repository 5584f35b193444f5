// Effectful. The desktop app's composition root: lifecycle, the app scheme, session hardening,
// the console backend, the IPC bridge and the window. Nothing else in the app calls `app` or
// creates windows; everything it wires is defined (and tested) in the modules it imports.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, protocol, session } from 'electron';
import { createAppRequestHandler } from './appProtocol.ts';
import { APP_ENTRY_URL, APP_SCHEME, appSchemePrivileges, isAppUrl, isTrustedFrame } from './appUrl.ts';
import { appPaths, userDataOverride } from './config.ts';
import { registerIpc } from './ipc.ts';
import type { Dispose } from './ipc.ts';
import { startRuntime, stopRuntime } from './runtime.ts';
import type { ConsoleRuntime } from './runtime.ts';
import { hardenSession, hardenWebContents, windowOptions } from './window.ts';

/** How long quitting waits for local cluster nodes to stop before leaving them to exit on their own. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

const paths = appPaths(dirname(fileURLToPath(import.meta.url)));

// NB: these three must run before 'ready': privileged schemes, the global sandbox and the user
// data path cannot be changed once Chromium has started.
protocol.registerSchemesAsPrivileged([appSchemePrivileges()]);
app.enableSandbox();
const userData = userDataOverride(process.env);
if (userData !== null) app.setPath('userData', userData);

let runtime: ConsoleRuntime | null = null;
let disposeIpc: Dispose | null = null;
let mainWindow: BrowserWindow | null = null;
let shutdown: 'running' | 'stopping' | 'stopped' = 'running';

function log(line: string): void {
  process.stderr.write(`warden console: ${line}\n`);
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow(windowOptions(paths.preloadPath));
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  win.webContents.on('render-process-gone', (_event, details) => log(`renderer process gone: ${details.reason}`));
  win.loadURL(APP_ENTRY_URL).catch((err: unknown) => {
    log(`could not load the console page: ${(err as Error).message}`);
    // NB: 'ready-to-show' may never come for a page that failed; show what there is.
    if (!win.isDestroyed()) win.show();
  });
  return win;
}

async function start(): Promise<void> {
  for (const [what, file] of [
    ['page', join(paths.rendererDir, 'index.html')],
    ['preload script', paths.preloadPath],
    ['node entry', paths.nodeEntry],
  ] as const) {
    if (!existsSync(file)) throw new Error(`the console's ${what} is missing (${file}); run npm run build`);
  }
  protocol.handle(APP_SCHEME, createAppRequestHandler(paths.rendererDir));
  hardenSession(session.defaultSession, log);
  runtime = await startRuntime({
    stateDir: app.getPath('userData'),
    version: app.getVersion(),
    execPath: process.execPath,
    nodeEntry: paths.nodeEntry,
  });
  disposeIpc = registerIpc({
    ipcMain,
    backend: runtime,
    isTrustedSender: isTrustedFrame,
    targets: () => BrowserWindow.getAllWindows().map((w) => w.webContents),
    log,
  });
  mainWindow = createWindow();
  // `npm start` and `warden-console --local` open on a local three-datacenter cluster; the window
  // shows its launch progress in the connection list.
  if (process.argv.includes('--local')) {
    runtime.launchLocalCluster({ name: 'local', dcs: 3, layout: [2, 2, 1] }).catch((err: unknown) => log(`the local cluster did not start: ${(err as Error).message}`));
  }
}

if (!app.requestSingleInstanceLock()) {
  // Another console is running: it owns the database and the local clusters; it gets focus.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, isAppUrl, log));
  app.on('window-all-closed', () => {
    // macOS convention: the app stays in the dock until the user quits it.
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (runtime !== null && shutdown === 'running' && BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
  });
  app.on('before-quit', (event) => {
    if (runtime === null || shutdown === 'stopped') return;
    // NB: quitting is held until the backend has stopped the local cluster's nodes, then resumed.
    event.preventDefault();
    if (shutdown === 'stopping') return;
    shutdown = 'stopping';
    disposeIpc?.();
    stopRuntime(runtime, SHUTDOWN_TIMEOUT_MS)
      .then((outcome) => {
        if (outcome === 'timed out') log(`the console backend did not stop within ${SHUTDOWN_TIMEOUT_MS} ms; quitting anyway`);
      })
      .catch((err: unknown) => log(`stopping the console backend failed: ${(err as Error).message}`))
      .finally(() => {
        shutdown = 'stopped';
        app.quit();
      });
  });
  app
    .whenReady()
    .then(start)
    .catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      log(`could not start: ${message}`);
      dialog.showErrorBox('Warden could not start', message);
      app.exit(1);
    });
}
