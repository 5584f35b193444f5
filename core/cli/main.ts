// Effectful. The `warden` command line: run a node, launch a local cluster, and talk to a
// cluster (status, kv). Every error exits non-zero with one clear line; --json prints machine-
// readable output.

import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { connect, WardenError } from '../client/index.ts';
import type { WardenClient } from '../client/index.ts';
import { ConfigError, loadConfig } from '../server/config.ts';
import { createLogger } from '../server/log.ts';
import { WardenNode } from '../server/wardenNode.ts';
import { parseIntOption, resolveTarget, UsageError } from './args.ts';
import { holdWhileRunning, parseTime, runEventsCommand, runLockCommand, runSessionCommand, seconds } from './lockCommands.ts';
import { LocalCluster, parseLatency } from './localCluster.ts';
import { runStart } from './startCommand.ts';

const USAGE = `usage: warden <command> [options]

commands:
  node --config FILE                 run one node (headless)
  cluster local [--dcs 3] [--layout 2,2,1] [--base-port N] [--data DIR] [--wan-latency MS|DC1:DC2=MS,...]
                [--wan-jitter MS] [--wan-loss PCT] [--preferred DC,...] [--learners N] [--json]
                                     run a local cluster in the foreground until Ctrl-C
  cluster fault stop|kill|restart NODE | isolate DC | heal | latency DC1 DC2 MS --data DIR
                                     fault controls of a running local cluster
  topology [--json]                  datacenters, nodes, leader, lag and measured RTTs
  member add NODE [--learner] | member promote NODE | member remove NODE
                                     one membership change at a time (admin)
  status [--json]                    leader, term and every node's state and lag
  kv get KEY                         read a key (linearizable)
  kv put KEY VALUE [--expect-revision N]
  kv del KEY [--expect-revision N]
  kv list [PREFIX] [--limit N]
  kv watch PREFIX [--from-revision N] [--count N]
  lock acquire NAME [--shared] [--wait S] [--ttl S] -- COMMAND...
                                     hold a lock while COMMAND runs (token in WARDEN_LOCK_TOKEN)
  lock list [--stuck] [--prefix P]   holders, tokens, ages, waiters, lock-delay, stuck reasons
  lock release NAME --force --reason TEXT
                                     take a stuck lock away (admin, audited)
  lock check NAME TOKEN              is TOKEN the current holder's fencing token?
  session list | session close ID --reason TEXT
  events [--name N] [--kind K] [--actor A] [--since T] [--until T] [--limit N]
  settings get | settings set KEY=VALUE...
  console [--port 7420] [--local | --endpoints URLS --token T] [--ca FILE] [--state-dir DIR] [--json]
                                     the web console: prints a URL (with its access token) to open;
                                     --local launches a 2,2,1 three-datacenter cluster for it;
                                     saved connections live in --state-dir (default
                                     $WARDEN_CONSOLE_STATE or ~/.config/warden-console)
  start [console options]            npm start: the desktop app on a local cluster, or, without an
                                     Electron runtime, \`console --local\` in a browser

cluster options: --endpoints URL[,URL...] (or WARDEN_ENDPOINTS), --token T (or WARDEN_TOKEN),
  --ca FILE (or WARDEN_CA) for wss:// endpoints with a private CA, --json`;

const common = {
  endpoints: { type: 'string' },
  token: { type: 'string' },
  ca: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

function parse<O extends ParseArgsConfig['options']>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...common, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
}

async function withClient<T>(values: { endpoints?: string | undefined; token?: string | undefined; ca?: string | undefined }, run: (client: WardenClient) => Promise<T>): Promise<T> {
  const target = resolveTarget(values, process.env);
  const client = await connect(target);
  try {
    return await run(client);
  } finally {
    await client.close();
  }
}

async function runNode(args: string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string' } });
  if (!values.config) throw new UsageError('warden node needs --config FILE');
  const config = loadConfig(values.config);
  const log = createLogger(config.logLevel, { node: config.id, dc: config.datacenter });
  const node = await WardenNode.start(config, log);
  await new Promise<void>((resolveStop) => {
    const stop = (): void => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (process.env.WARDEN_EXIT_WITH_PARENT === '1' && process.connected) process.once('disconnect', stop);
  });
  await node.close();
  // The IPC channel to a launcher would keep the process alive; leave now that all is closed.
  if (process.connected) process.disconnect();
  return 0;
}

async function runClusterLocal(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    dcs: { type: 'string' },
    layout: { type: 'string' },
    'base-port': { type: 'string' },
    data: { type: 'string' },
    'wan-latency': { type: 'string' },
    preferred: { type: 'string' },
    learners: { type: 'string' },
    'wan-jitter': { type: 'string' },
    'wan-loss': { type: 'string' },
  });
  if (positionals[0] === 'fault') return runClusterFault(positionals.slice(1), values.data, values.json);
  if (positionals[0] !== 'local') throw new UsageError('usage: warden cluster local [--dcs 3] [--layout 2,2,1] [--base-port N] [--data DIR] [--wan-latency ...] [--json]');
  const dcs = parseIntOption('dcs', values.dcs, values.layout ? values.layout.split(',').length : 3, 1, 26);
  let layout: number[] | null = null;
  if (values.layout) {
    layout = values.layout.split(',').map((s) => parseIntOption('layout', s.trim(), 0, 0, 15));
  }
  const basePort = values['base-port'] === undefined ? null : parseIntOption('base-port', values['base-port'], 0, 1024, 65000);
  const latency = values['wan-latency'] === undefined ? null : parseLatency(values['wan-latency']);
  const preferred = values.preferred ? values.preferred.split(',').map((x) => x.trim()).filter(Boolean) : [];
  const learners = parseIntOption('learners', values.learners, 0, 0, 5);
  const jitterMs = parseIntOption('wan-jitter', values['wan-jitter'], 0, 0, 10_000);
  const lossPercent = parseIntOption('wan-loss', values['wan-loss'], 0, 0, 100);
  const cluster = await LocalCluster.open({ dcs, layout, basePort, dataDir: values.data ?? null, host: '127.0.0.1', latency, preferred, learners, jitterMs, lossPercent });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (!values.json) process.stderr.write('stopping the local cluster...\n');
    cluster.stopControl();
    await cluster.stopAll();
    // A data dir the launcher made up is removed; one named with --data is kept for a restart.
    if (values.data === undefined) (await import('node:fs')).rmSync(cluster.dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  if (!values.json) process.stderr.write(`starting ${cluster.spec.nodes.length} nodes in ${cluster.dataDir}...\n`);
  cluster.startAll();
  await cluster.startControl();
  try {
    await cluster.waitForLeader(60_000);
  } catch (err) {
    await cluster.stopAll();
    throw err;
  }
  const summary = cluster.summary();
  print(values.json, summary, () =>
    [
      `local cluster ready (${cluster.spec.clusterId}); data in ${summary.dataDir}`,
      ...summary.nodes.map((n) => `  ${n.id}  ${n.datacenter}  ${n.client}  pid ${n.pid}`),
      '',
      `export WARDEN_ENDPOINTS=${summary.endpoints.join(',')}`,
      `export WARDEN_TOKEN=${summary.adminToken}`,
      '',
      'press Ctrl-C to stop',
    ].join('\n'),
  );
  await new Promise(() => undefined);
  return 0;
}

async function runClusterFault(args: string[], data: string | undefined, json: boolean): Promise<number> {
  const [action, ...rest] = args;
  if (!action) throw new UsageError('usage: warden cluster fault stop|kill|restart NODE | isolate DC | heal | latency DC1 DC2 MS --data DIR');
  const dir = data ?? process.env.WARDEN_LOCAL_DATA;
  if (!dir) throw new UsageError('pass --data DIR (the local cluster\'s data directory, printed at start) or set WARDEN_LOCAL_DATA');
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  let control: { url: string };
  let spec: { adminToken: string };
  try {
    control = JSON.parse(readFileSync(join(dir, 'control.json'), 'utf8')) as { url: string };
    spec = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as { adminToken: string };
  } catch {
    throw new UsageError(`no running local cluster found in ${dir} (control.json and cluster.json are written by \`warden cluster local\`)`);
  }
  let res: Response;
  try {
    res = await fetch(`${control.url}/fault`, { method: 'POST', headers: { authorization: `Bearer ${spec.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ action, args: rest }), signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new Error(`the local cluster in ${dir} is not running (${(err as Error).message})`, { cause: err });
  }
  const body = (await res.json()) as { ok?: boolean; message?: string; error?: string };
  if (!res.ok) {
    if (res.status === 400) throw new UsageError(body.error ?? 'bad request');
    throw new Error(body.error ?? `control server answered ${res.status}`);
  }
  print(json, body, () => body.message ?? 'ok');
  return 0;
}

async function runTopology(args: string[]): Promise<number> {
  const { values } = parse(args, {});
  const t = await withClient(values, (c) => c.topology());
  print(values.json, t, () => {
    const lines = [`cluster ${t.clusterId}  term ${t.term}  leader ${t.leader ? `${t.leader.id} (${t.leader.datacenter})` : 'none'}  election timeout ${t.electionTimeoutMs} ms`];
    for (const dc of t.datacenters) {
      lines.push(`${dc.name}${dc.preferred ? ' (preferred)' : ''}`);
      for (const n of dc.nodes) lines.push(`  ${n.id.padEnd(8)} ${n.role.padEnd(8)} ${n.state.padEnd(12)} term ${String(n.term).padEnd(5)} commit ${String(n.commitIndex).padEnd(8)} applied ${String(n.appliedIndex).padEnd(8)} lag ${String(n.lagEntries).padEnd(5)} ${n.lastContactMs === null ? '' : `contact ${n.lastContactMs}ms`}`);
    }
    const dcOf = new Map(t.datacenters.flatMap((d) => d.nodes.map((n) => [n.id, d.name] as const)));
    const pairs = new Map<string, number[]>();
    for (const r of t.rtt) {
      const a = dcOf.get(r.from) ?? '?';
      const b = dcOf.get(r.to) ?? '?';
      const key = a < b ? `${a} <-> ${b}` : `${b} <-> ${a}`;
      pairs.set(key, [...(pairs.get(key) ?? []), r.ms]);
    }
    lines.push('RTT (median of links, ms)');
    for (const [key, values] of [...pairs].sort()) {
      const sorted = values.sort((x, y) => x - y);
      lines.push(`  ${key.padEnd(22)} ${(sorted[Math.floor(sorted.length / 2)] as number).toFixed(1)}`);
    }
    for (const w of t.warnings) lines.push(`warning: ${w}`);
    return lines.join('\n');
  });
  return 0;
}

async function runMember(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { learner: { type: 'boolean', default: false } });
  const [sub, node] = positionals;
  if (!node || !['add', 'remove', 'promote'].includes(sub ?? '')) throw new UsageError('usage: warden member add NODE [--learner] | member promote NODE | member remove NODE');
  const type = sub === 'add' ? (values.learner ? 'addLearner' : 'addVoter') : sub === 'promote' ? 'promoteLearner' : 'removeNode';
  const result = await withClient(values, (c) => c.changeMember(type, node));
  print(values.json, result, () => `voters: ${result.voters.join(', ')}; learners: ${result.learners.join(', ') || '-'}`);
  return 0;
}

async function runStatus(args: string[]): Promise<number> {
  const { values } = parse(args, {});
  const status = await withClient(values, (c) => c.status());
  print(values.json, status, () => {
    const lines = [`cluster ${status.clusterId}  term ${status.term}  revision ${status.revision}  leader ${status.leader ? `${status.leader.id} (${status.leader.datacenter})` : 'none'}`];
    lines.push('ID        DATACENTER  ROLE     STATE        TERM  COMMIT   APPLIED  LAG   LAST-CONTACT');
    for (const n of status.nodes) {
      lines.push(
        `${n.id.padEnd(9)} ${n.datacenter.padEnd(11)} ${n.role.padEnd(8)} ${n.state.padEnd(12)} ${String(n.term).padEnd(5)} ${String(n.commitIndex).padEnd(8)} ${String(n.appliedIndex).padEnd(8)} ${String(n.lagEntries).padEnd(5)} ${n.lastContactMs === null ? '-' : `${n.lastContactMs}ms`}`,
      );
    }
    return lines.join('\n');
  });
  return 0;
}

async function runKv(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    'expect-revision': { type: 'string' },
    'from-revision': { type: 'string' },
    limit: { type: 'string' },
    count: { type: 'string' },
  });
  const [sub, key, value] = positionals;
  const expect = values['expect-revision'] === undefined ? undefined : parseIntOption('expect-revision', values['expect-revision'], 0, 0, Number.MAX_SAFE_INTEGER);
  switch (sub) {
    case 'get': {
      if (!key) throw new UsageError('usage: warden kv get KEY');
      const item = await withClient(values, (c) => c.kv.get(key));
      if (!item) {
        if (values.json) print(true, null, () => '');
        else process.stderr.write(`warden: ${key} not found\n`);
        return values.json ? 0 : 1;
      }
      print(values.json, item, () => item.value);
      return 0;
    }
    case 'put': {
      if (!key || value === undefined) throw new UsageError('usage: warden kv put KEY VALUE [--expect-revision N]');
      const result = await withClient(values, (c) => c.kv.put(key, value, expect === undefined ? {} : { expectRevision: expect }));
      print(values.json, result, () => `OK revision ${result.revision}`);
      return 0;
    }
    case 'del':
    case 'delete': {
      if (!key) throw new UsageError('usage: warden kv del KEY');
      const deleted = await withClient(values, (c) => c.kv.delete(key, expect === undefined ? {} : { expectRevision: expect }));
      print(values.json, { deleted }, () => (deleted ? 'deleted' : 'not found'));
      return 0;
    }
    case 'list': {
      const prefix = key ?? '/';
      const limit = values.limit === undefined ? undefined : parseIntOption('limit', values.limit, 1000, 1, 100_000);
      const items = await withClient(values, (c) => c.kv.list(prefix, limit === undefined ? {} : { limit }));
      print(values.json, items, () => items.map((i) => `${i.key}\t${i.value}\t(rev ${i.revision})`).join('\n'));
      return 0;
    }
    case 'watch': {
      if (!key) throw new UsageError('usage: warden kv watch PREFIX [--from-revision N] [--count N]');
      const from = values['from-revision'] === undefined ? undefined : parseIntOption('from-revision', values['from-revision'], 1, 1, Number.MAX_SAFE_INTEGER);
      const count = values.count === undefined ? Infinity : parseIntOption('count', values.count, 1, 1, 1_000_000);
      const target = resolveTarget(values, process.env);
      const client = await connect(target);
      const watcher = await client.kv.watch(key, from === undefined ? {} : { fromRevision: from });
      let seen = 0;
      const done = new Promise<void>((resolveDone) => {
        process.once('SIGINT', () => resolveDone());
        process.once('SIGTERM', () => resolveDone());
        watcher.on('error', (err) => {
          process.stderr.write(`warden: watch ended: ${err.code}: ${err.message}\n`);
          resolveDone();
        });
        watcher.on('event', (e) => {
          print(values.json, e, () => `${e.type} ${e.key}${e.value === null ? '' : ` ${e.value}`} (rev ${e.revision})`);
          if (++seen >= count) resolveDone();
        });
      });
      await done;
      await watcher.close();
      client.close();
      return 0;
    }
    default:
      throw new UsageError('usage: warden kv get|put|del|list|watch ...');
  }
}

async function runLock(args: string[]): Promise<number> {
  const dash = args.indexOf('--');
  const own = dash >= 0 ? args.slice(0, dash) : args;
  const command = dash >= 0 ? args.slice(dash + 1) : [];
  const { values, positionals } = parse(own, {
    shared: { type: 'boolean', default: false },
    wait: { type: 'string' },
    ttl: { type: 'string' },
    stuck: { type: 'boolean', default: false },
    prefix: { type: 'string' },
    force: { type: 'boolean', default: false },
    reason: { type: 'string' },
  });
  const [sub, ...rest] = positionals;
  if (sub === 'acquire') {
    const name = rest[0];
    if (!name || command.length === 0) throw new UsageError('usage: warden lock acquire NAME [--shared] [--wait S] [--ttl S] -- COMMAND...');
    const waitMs = seconds('wait', values.wait, 24 * 3_600_000, 24 * 3_600_000);
    const ttlMs = seconds('ttl', values.ttl, 10_000, 3_600_000);
    const target = resolveTarget(values, process.env);
    const client = await connect(target);
    try {
      return await holdWhileRunning(client, name, command, { shared: values.shared, waitMs, ttlMs, json: values.json });
    } finally {
      await client.close();
    }
  }
  return withClient(values, (c) => runLockCommand(c, sub, rest, { json: values.json, stuck: values.stuck, prefix: values.prefix, force: values.force, reason: values.reason }, print));
}

async function runSession(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { reason: { type: 'string' } });
  const [sub, ...rest] = positionals;
  return withClient(values, (c) => runSessionCommand(c, sub, rest, { json: values.json, reason: values.reason }, print));
}

async function runEvents(args: string[]): Promise<number> {
  const { values } = parse(args, { name: { type: 'string' }, kind: { type: 'string' }, actor: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, limit: { type: 'string' } });
  const limit = parseIntOption('limit', values.limit, 100, 1, 100_000);
  return withClient(values, (c) =>
    runEventsCommand(c, { json: values.json, name: values.name, kind: values.kind, actor: values.actor, since: parseTime('since', values.since), until: parseTime('until', values.until), limit }, print),
  );
}

async function runSettings(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  const [sub, ...pairs] = positionals;
  if (sub === 'get') {
    const settings = await withClient(values, (c) => c.admin.getSettings());
    print(values.json, settings, () => Object.entries(settings).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n'));
    return 0;
  }
  if (sub === 'set') {
    if (pairs.length === 0) throw new UsageError('usage: warden settings set KEY=VALUE...');
    const patch: Record<string, unknown> = {};
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`expected KEY=VALUE, got ${JSON.stringify(pair)}`);
      const raw = pair.slice(eq + 1);
      let value: unknown = raw;
      try {
        value = JSON.parse(raw);
      } catch {
        // A bare word stays a string.
      }
      patch[pair.slice(0, eq)] = value;
    }
    const settings = await withClient(values, (c) => c.admin.setSettings(patch));
    print(values.json, settings, () => `updated: ${Object.keys(patch).join(', ')}`);
    return 0;
  }
  throw new UsageError('usage: warden settings get | settings set KEY=VALUE...');
}

/** main runs the CLI and returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'node':
        return await runNode(rest);
      case 'cluster':
        return await runClusterLocal(rest);
      case 'status':
        return await runStatus(rest);
      case 'topology':
        return await runTopology(rest);
      case 'member':
        return await runMember(rest);
      case 'start':
        return await runStart(rest);
      case 'console':
        // Loaded on demand: only the console needs its server, backend and database.
        return await (await import('./consoleCommand.ts')).runConsole(rest);
      case 'kv':
        return await runKv(rest);
      case 'lock':
        return await runLock(rest);
      case 'session':
        return await runSession(rest);
      case 'events':
        return await runEvents(rest);
      case 'settings':
        return await runSettings(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`warden: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`warden: ${err.message}\n`);
      return 2;
    }
    if (err instanceof WardenError) {
      process.stderr.write(`warden: ${err.code}: ${err.message}\n`);
      return 1;
    }
    const e = err as Error & { code?: string };
    if (e && e.name === 'StorageError') {
      process.stderr.write(`warden: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`warden: ${e?.message ?? String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
if (process.argv[2] !== 'node' && process.argv[2] !== 'cluster') {
  // Client commands are done; do not wait for sockets to linger.
  process.exit(process.exitCode);
}
