// Effectful. CLI commands for sessions, locks, events and settings: `warden lock acquire` holds
// a lock while a command runs (as `consul lock` does), passing the fencing token to it and
// killing it if the lock is lost; the rest list, inspect and repair.

import { spawn } from 'node:child_process';
import type { WardenClient } from '../client/index.ts';
import { UsageError } from './args.ts';

type Print = (json: boolean, value: unknown, human: () => string) => void;

function ms(value: number | null): string {
  if (value === null) return '-';
  if (value < 1000) return `${value}ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)}s`;
  if (value < 3_600_000) return `${Math.floor(value / 60_000)}m${Math.floor((value % 60_000) / 1000)}s`;
  return `${(value / 3_600_000).toFixed(1)}h`;
}

/** seconds parses a duration in seconds (decimals allowed) into milliseconds. */
export function seconds(name: string, value: string | undefined, fallbackMs: number, maxMs: number): number {
  if (value === undefined) return fallbackMs;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`--${name} takes seconds, got ${JSON.stringify(value)}`);
  const out = Math.round(Number(value) * 1000);
  if (out > maxMs) throw new UsageError(`--${name} must be at most ${maxMs / 1000} seconds`);
  return out;
}

/**
 * holdWhileRunning acquires `name`, runs `command` with WARDEN_LOCK_TOKEN set, kills it if the
 * lock is lost, and releases when it exits. Returns the exit status to use.
 */
export async function holdWhileRunning(client: WardenClient, name: string, command: string[], opts: { shared: boolean; waitMs: number; ttlMs: number; json: boolean }): Promise<number> {
  const session = await client.openSession({ ttlMs: opts.ttlMs, info: { app: command[0] ?? 'warden', label: `warden lock acquire ${name}` } });
  const lock = await session.acquire(name, { mode: opts.shared ? 'shared' : 'exclusive', waitMs: opts.waitMs });
  const say = (line: string): void => void process.stderr.write(`warden: ${line}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify({ event: 'acquired', name, token: lock.token, sessionId: session.id })}\n`);
  else say(`acquired ${name} (token ${lock.token}); running ${command.join(' ')}`);
  const child = spawn(command[0] as string, command.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, WARDEN_LOCK_TOKEN: String(lock.token), WARDEN_LOCK_NAME: name, WARDEN_SESSION_ID: session.id },
  });
  let lost: string | null = null;
  const kill = (why: string): void => {
    if (lost !== null) return;
    lost = why;
    say(`lock lost (${why}); stopping the command`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  };
  session.on('lockLost', (e) => {
    if (e.name === name) kill(`${e.reason}${e.actor ? ` by ${e.actor}` : ''}${e.detail ? `: ${e.detail}` : ''}`);
  });
  session.on('expired', (e) => kill(`session ${e.reason}`));
  session.on('jeopardy', () => say('no keep-alive answer for half the TTL: the lock may be lost soon'));
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  if (lost === null) {
    await lock.release().catch(() => undefined);
  }
  await session.close().catch(() => undefined);
  if (lost !== null) {
    if (opts.json) process.stdout.write(`${JSON.stringify({ event: 'lost', name, token: lock.token, reason: lost })}\n`);
    return 3;
  }
  return exit.code ?? 128 + 1;
}

/** runLockCommand implements `warden lock list|release|check`. */
export async function runLockCommand(client: WardenClient, sub: string | undefined, args: string[], opts: { json: boolean; stuck: boolean; prefix: string | undefined; force: boolean; reason: string | undefined }, print: Print): Promise<number> {
  switch (sub) {
    case 'list': {
      const locks = await client.locks.list({ ...(opts.prefix ? { prefix: opts.prefix } : {}), stuckOnly: opts.stuck });
      print(opts.json, locks, () => {
        if (locks.length === 0) return opts.stuck ? 'no stuck locks' : 'no locks';
        const lines = ['NAME                          MODE       TOKEN   HOLDER                      AGE     KEEPALIVE  WAITERS  DELAY   STUCK'];
        for (const l of locks) {
          const h = l.holders[0];
          const holder = h ? `${h.sessionId} ${h.client ? `${h.client.host}:${h.client.pid}` : ''}`.trim() : '-';
          lines.push(
            `${l.name.padEnd(29)} ${(l.mode ?? '-').padEnd(10)} ${String(h?.token ?? '-').padEnd(7)} ${holder.slice(0, 27).padEnd(27)} ${ms(h?.heldMs ?? null).padEnd(7)} ${ms(h?.keepAliveAgeMs ?? null).padEnd(10)} ${String(l.waiters.length).padEnd(8)} ${ms(l.lockDelayLeftMs || null).padEnd(7)} ${l.stuckReasons.join(',') || '-'}`,
          );
        }
        return lines.join('\n');
      });
      return 0;
    }
    case 'release': {
      const name = args[0];
      if (!name) throw new UsageError('usage: warden lock release NAME --force --reason TEXT');
      if (!opts.force) throw new UsageError('only a holder can release normally; to take a lock away from its holder use --force --reason TEXT (admin)');
      if (!opts.reason || opts.reason.trim().length === 0) throw new UsageError('--reason TEXT is required with --force: the release is audited');
      const result = await client.admin.forceRelease(name, { reason: opts.reason });
      print(opts.json, result, () => {
        const prev = result.previous.map((p) => `${p.sessionId} (token ${p.token})`).join(', ');
        const next = result.next.length ? `; now held by ${result.next.map((n) => `${n.sessionId} (token ${n.token})`).join(', ')}` : '; no waiter took it';
        return `released ${name} from ${prev}${next}`;
      });
      return 0;
    }
    case 'check': {
      const [name, token] = args;
      if (!name || !token || !/^\d+$/.test(token)) throw new UsageError('usage: warden lock check NAME TOKEN');
      const current = await client.checkSequencer(name, Number(token));
      print(opts.json, { name, token: Number(token), current }, () => (current ? `token ${token} is current for ${name}` : `token ${token} is NOT current for ${name}`));
      return current ? 0 : 1;
    }
    default:
      throw new UsageError('usage: warden lock acquire|list|release|check ...');
  }
}

/** runSessionCommand implements `warden session list|close`. */
export async function runSessionCommand(client: WardenClient, sub: string | undefined, args: string[], opts: { json: boolean; reason: string | undefined }, print: Print): Promise<number> {
  switch (sub) {
    case 'list': {
      const sessions = await client.listSessions();
      print(opts.json, sessions, () => {
        if (sessions.length === 0) return 'no sessions';
        const lines = ['ID          TTL      KEEPALIVE  JEOPARDY  CLIENT                        LOCKS'];
        for (const s of sessions) {
          lines.push(
            `${s.id.padEnd(11)} ${ms(s.ttlMs).padEnd(8)} ${ms(s.keepAliveAgeMs).padEnd(10)} ${(s.jeopardy ? 'yes' : 'no').padEnd(9)} ${`${s.info.host}:${s.info.pid} ${s.info.app}`.slice(0, 29).padEnd(29)} ${s.locks.map((l) => `${l.name}#${l.token}`).join(',') || '-'}`,
          );
        }
        return lines.join('\n');
      });
      return 0;
    }
    case 'close': {
      const id = args[0];
      if (!id) throw new UsageError('usage: warden session close ID --reason TEXT');
      if (!opts.reason) throw new UsageError('--reason TEXT is required: closing another client\'s session is audited');
      await client.admin.closeSession(id, { reason: opts.reason });
      print(opts.json, { closed: id }, () => `closed ${id}`);
      return 0;
    }
    default:
      throw new UsageError('usage: warden session list|close ...');
  }
}

/** parseTime accepts milliseconds since the epoch, an ISO date, or a relative "-10m"/"-2h". */
export function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const rel = /^-(\d+)(s|m|h|d)$/.exec(value);
  if (rel) return Date.now() - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--${name} must be ms since the epoch, an ISO time, or relative like -10m`);
  return t;
}

/** runEventsCommand implements `warden events`. */
export async function runEventsCommand(client: WardenClient, opts: { json: boolean; name?: string | undefined; kind?: string | undefined; actor?: string | undefined; since?: number | undefined; until?: number | undefined; limit: number }, print: Print): Promise<number> {
  const events = await client.events.list({
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.kind ? { kind: opts.kind } : {}),
    ...(opts.actor ? { actor: opts.actor } : {}),
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.until !== undefined ? { until: opts.until } : {}),
    limit: opts.limit,
  });
  print(opts.json, events, () =>
    events
      .map((e) => `${new Date(e.time).toISOString()}  ${e.kind.padEnd(18)} ${(e.name ?? '').padEnd(24)} ${(e.sessionId ?? '').padEnd(8)} ${e.token ?? ''}${e.actor ? `  by ${e.actor}` : ''}${e.reason ? `: ${e.reason}` : ''}`)
      .join('\n') || 'no events',
  );
  return 0;
}
