// Effectful (processes, sockets, disk). `warden console`: the console in a browser. Starts the
// console backend and its HTTP+WebSocket server on 127.0.0.1, optionally launches a local cluster
// or opens a remote one, prints the URL to open, and runs until SIGINT/SIGTERM.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startConsoleServer } from '../console/consoleServer.ts';
import type { RunningConsoleServer } from '../console/consoleServer.ts';
import { createConsoleService } from '../console/consoleService.ts';
import type { ConsoleService } from '../console/consoleService.ts';
import type { ConnectionSummary } from '../api/contract.ts';
import { parseIntOption, resolveTarget, UsageError } from './args.ts';

/** DEFAULT_CONSOLE_PORT is where `warden console` listens unless told otherwise. */
export const DEFAULT_CONSOLE_PORT = 7420;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * consoleStateDir is where saved connections live: $WARDEN_CONSOLE_STATE, else
 * $XDG_CONFIG_HOME/warden-console, else ~/.config/warden-console (the XDG default).
 */
export function consoleStateDir(env: NodeJS.ProcessEnv): string {
  if (env.WARDEN_CONSOLE_STATE) return resolve(env.WARDEN_CONSOLE_STATE);
  const config = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(config, 'warden-console');
}

/**
 * consoleStaticDir is the built renderer: out/renderer of this checkout, or
 * $WARDEN_CONSOLE_STATIC_DIR (tests and packagers point it elsewhere).
 */
export function consoleStaticDir(env: NodeJS.ProcessEnv): string {
  return env.WARDEN_CONSOLE_STATIC_DIR ? resolve(env.WARDEN_CONSOLE_STATIC_DIR) : join(ROOT, 'out', 'renderer');
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** runConsole runs `warden console` and returns the exit status once it is stopped. */
export async function runConsole(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        local: { type: 'boolean', default: false },
        endpoints: { type: 'string' },
        token: { type: 'string' },
        ca: { type: 'string' },
        'state-dir': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: warden console [--port N] [--local | --endpoints URLS --token T] [--ca FILE] [--state-dir DIR] [--json]`);
  }
  const port = parseIntOption('port', values.port, DEFAULT_CONSOLE_PORT, 0, 65535);
  if (values.local && values.endpoints !== undefined) throw new UsageError('pass either --local or --endpoints, not both');
  if (values.endpoints === undefined && (values.token !== undefined || values.ca !== undefined)) throw new UsageError('--token and --ca go with --endpoints');
  const target = values.endpoints === undefined ? null : resolveTarget(values, process.env);
  const staticDir = consoleStaticDir(process.env);
  if (!existsSync(join(staticDir, 'index.html'))) {
    process.stderr.write(`warden: the console's web UI is not built (${join(staticDir, 'index.html')} is missing); run \`npm run build:renderer\` first\n`);
    return 2;
  }
  const stateDir = values['state-dir'] === undefined ? consoleStateDir(process.env) : resolve(values['state-dir']);
  const json = values.json;
  const say = (line: string): void => {
    if (!json) process.stderr.write(`${line}\n`);
  };

  let signalled = false;
  const stopped = new Promise<void>((resolveStop) => {
    const stop = (): void => {
      signalled = true;
      resolveStop();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

  const service: ConsoleService = createConsoleService({ stateDir, bridge: 'browser', version: packageVersion() });
  let server: RunningConsoleServer | null = null;
  try {
    try {
      server = await startConsoleServer({ service, port, staticDir });
    } catch (err) {
      if ((err as { code?: string }).code === 'EADDRINUSE') throw new Error(`port ${port} on 127.0.0.1 is in use; pass --port N (0 picks a free port)`, { cause: err });
      throw err;
    }
    let route = '/';
    if (values.local) {
      const off = service.subscribe('onConnectionsChanged', progressPrinter(say));
      say(`launching a local 3-datacenter cluster (2,2,1) for the console...`);
      const launched = await Promise.race([service.launchLocalCluster({ name: 'local', dcs: 3, layout: [2, 2, 1] }), stopped.then(() => null)]);
      off();
      if (launched === null) return 0;
      route = `/clusters/${launched.id}/topology`;
    } else if (target !== null) {
      const added = service.addRemote({ name: new URL(target.endpoints[0] as string).host, endpoints: target.endpoints, token: target.token, ca: target.ca ?? null });
      say(`connecting to ${target.endpoints.join(', ')}...`);
      let opened: ConnectionSummary | null;
      try {
        opened = await Promise.race([service.openConnection({ connectionId: added.id }), stopped.then(() => null)]);
      } catch (err) {
        const e = err as { code?: string; message?: string };
        throw new Error(`cannot open the cluster: ${e.code ?? 'Error'}: ${e.message ?? String(err)}`, { cause: err });
      }
      if (opened === null) return 0;
      route = `/clusters/${opened.id}/topology`;
    }
    if (signalled) return 0;
    const url = server.urlFor(route);
    if (json) {
      const connections = await service.listConnections();
      process.stdout.write(`${JSON.stringify({ url, port: server.port, token: server.token, stateDir, connections })}\n`);
    } else {
      process.stdout.write(`Warden console: ${url}\n`);
      say(`saved connections: ${stateDir}; press Ctrl-C to stop`);
    }
    await stopped;
    say('stopping the console...');
    return 0;
  } finally {
    await server?.close();
    await service.close();
  }
}

/** progressPrinter prints a local launch's stages to stderr, each once. */
function progressPrinter(say: (line: string) => void): (list: ConnectionSummary[]) => void {
  let last = '';
  return (list) => {
    const launch = list.find((c) => c.kind === 'local')?.launch;
    if (!launch) return;
    const line = `  ${launch.stage}: ${launch.message}`;
    if (line === last) return;
    last = line;
    say(line);
  };
}
