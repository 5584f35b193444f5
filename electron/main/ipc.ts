// Effectful (Electron objects come in by injection). The main process side of the console's
// IPC bridge: one ipcMain handler per request channel of core/api/contract.ts, each checking the
// sender frame and validating the payload before the backend sees it, and one forwarder per push
// event to the app's windows. Types only from 'electron', so it runs under Node in tests.

import type { IpcMain, IpcMainInvokeEvent, WebContents, WebFrameMain } from 'electron';
import { errorBody, eventChannels, eventNames, requestChannels, requestNames } from '../../core/api/contract.ts';
import type { ApiReply, ConsoleBackend, ConsoleEventSource, EventMap, EventName, RequestName, Unsubscribe } from '../../core/api/contract.ts';
import { validatePayload } from '../../core/api/validate.ts';

/** PushTarget is where pushes go: a window's webContents (only what forwarding needs). */
export type PushTarget = Pick<WebContents, 'isDestroyed' | 'send' | 'mainFrame'>;

/** IpcOptions are the bridge's collaborators, all injected. */
export interface IpcOptions {
  readonly ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  readonly backend: ConsoleBackend & ConsoleEventSource;
  /** Whether a message's sender frame is the app's own page (see appUrl.ts isTrustedFrame). */
  readonly isTrustedSender: (frame: WebFrameMain | null) => boolean;
  /** The webContents that may receive pushes, asked afresh for every push. */
  readonly targets: () => Iterable<PushTarget>;
  /** One line per refused message or failed push; stderr by default. */
  readonly log?: (line: string) => void;
}

/** Dispose removes every handler and subscription registerIpc made. Safe to call twice. */
export type Dispose = () => void;

/**
 * registerIpc wires the backend to ipcMain. Every request is answered with an ApiReply, never
 * a thrown error, because Electron keeps only the message of an error thrown across IPC and the
 * renderer needs the code. Order of checks: sender first (an untrusted frame learns nothing, not
 * even whether its payload was well-formed), then payload, then the backend.
 */
export function registerIpc(options: IpcOptions): Dispose {
  const { ipcMain, backend, isTrustedSender, targets } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`warden console: ${line}\n`));

  for (const name of requestNames) {
    const channel = requestChannels[name];
    ipcMain.handle(channel, (event: IpcMainInvokeEvent, ...args: unknown[]) => answer(name, event, args));
  }

  async function answer(name: RequestName, event: IpcMainInvokeEvent, args: unknown[]): Promise<ApiReply<unknown>> {
    const frame = senderFrameOf(event);
    if (!isTrustedSender(frame)) {
      log(`refused ${requestChannels[name]} from ${frame === null ? 'a frame that is gone' : `untrusted frame ${describe(frame)}`}`);
      return { ok: false, error: { code: 'PermissionDenied', message: 'this window may not use the console API' } };
    }
    if (args.length > 1) return { ok: false, error: { code: 'BadRequest', message: 'a request carries one payload' } };
    const parsed = validatePayload(name, args[0]);
    if (!parsed.ok) return { ok: false, error: parsed.error };
    try {
      const call = backend[name] as (payload: unknown) => Promise<unknown>;
      return { ok: true, value: await call.call(backend, parsed.value) };
    } catch (err) {
      const error = errorBody(err);
      if (error.code === 'Internal') log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return { ok: false, error };
    }
  }

  function broadcast(channel: string, payload: unknown): void {
    for (const contents of targets()) {
      try {
        // NB: isDestroyed first: reading mainFrame of a destroyed webContents throws.
        if (contents.isDestroyed() || !isTrustedSender(contents.mainFrame)) continue;
        contents.send(channel, payload);
      } catch (err) {
        log(`could not push ${channel}: ${(err as Error).message}`);
      }
    }
  }

  function forward<K extends EventName>(name: K): Unsubscribe {
    const channel = eventChannels[name];
    return backend.subscribe(name, (payload: EventMap[K]) => broadcast(channel, payload));
  }

  const subscriptions = eventNames.map((name) => forward(name));

  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    for (const name of requestNames) ipcMain.removeHandler(requestChannels[name]);
    for (const unsubscribe of subscriptions) unsubscribe();
  };
}

function senderFrameOf(event: IpcMainInvokeEvent): WebFrameMain | null {
  try {
    return event.senderFrame ?? null;
  } catch {
    return null;
  }
}

function describe(frame: WebFrameMain): string {
  try {
    return JSON.stringify(String(frame.url).slice(0, 200));
  } catch {
    return '(unreadable)';
  }
}
