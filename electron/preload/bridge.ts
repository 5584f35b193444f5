// Pure (the IPC object comes in by injection). Builds the BridgeApi the preload exposes as
// `window.warden`: one small function per channel of core/api/contract.ts and nothing else, so
// the untrusted renderer can reach exactly the console API and no generic IPC.

import type { ContextBridge, IpcRenderer, IpcRendererEvent } from 'electron';
import { errorBody, eventChannels, eventNames, requestChannels, requestNames } from '../../core/api/contract.ts';
import type { ApiReply, BridgeApi, Unsubscribe } from '../../core/api/contract.ts';

/** BridgeIpc is the part of ipcRenderer the bridge uses. */
export type BridgeIpc = Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>;

/** BRIDGE_GLOBAL is the name the API has in the renderer: `window.warden`. */
export const BRIDGE_GLOBAL = 'warden';

function requestFunction(ipc: BridgeIpc, channel: string): (payload?: unknown) => Promise<ApiReply<unknown>> {
  return async (payload?: unknown) => {
    try {
      return (await ipc.invoke(channel, payload)) as ApiReply<unknown>;
    } catch (err) {
      // NB: invoke rejects only when the main process has no handler (still starting, or
      // shutting down); the renderer still gets a reply with a code, as for any other failure.
      return { ok: false, error: { code: 'Unavailable', message: `the console backend did not answer: ${errorBody(err).message}` } };
    }
  };
}

function eventFunction(ipc: BridgeIpc, channel: string): (listener: (payload: unknown) => void) => Unsubscribe {
  return (listener) => {
    if (typeof listener !== 'function') throw new TypeError(`${channel} needs a listener function`);
    // NB: the renderer gets the payload only; the IpcRendererEvent (with its sender) stays here.
    const relay = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
    ipc.on(channel, relay);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      ipc.removeListener(channel, relay);
    };
  };
}

/**
 * buildBridgeApi derives the API from the channel tables, so a request or event added to the
 * contract appears here without a second list to keep in step. The object is frozen: the page
 * cannot swap a function for one that talks to another channel.
 */
export function buildBridgeApi(ipc: BridgeIpc): BridgeApi {
  const api: Record<string, unknown> = {};
  for (const name of requestNames) api[name] = requestFunction(ipc, requestChannels[name]);
  for (const name of eventNames) api[name] = eventFunction(ipc, eventChannels[name]);
  return Object.freeze(api) as BridgeApi;
}

/** exposeBridge puts the API into the page's main world as `window.warden`. */
export function exposeBridge(contextBridge: Pick<ContextBridge, 'exposeInMainWorld'>, ipc: BridgeIpc): void {
  contextBridge.exposeInMainWorld(BRIDGE_GLOBAL, buildBridgeApi(ipc));
}
