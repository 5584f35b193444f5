// Test helpers. Small fakes of the Electron objects the main process and preload modules take
// by injection (webContents, session, frames), so their security behaviour runs under Node.

import type { Session, WebContents, WebFrameMain } from 'electron';

/** fakeFrame is the part of a WebFrameMain isTrustedFrame reads: its URL and its parent. */
export function fakeFrame(url: string, parent: { url: string } | null = null): WebFrameMain {
  return { url, parent } as unknown as WebFrameMain;
}

/** FakeEvent records whether a handler prevented the default action. */
export interface FakeEvent {
  readonly url: string;
  prevented: boolean;
  preventDefault(): void;
}

/** fakeEvent is a navigation or attach event whose preventDefault can be observed. */
export function fakeEvent(url = ''): FakeEvent {
  return {
    url,
    prevented: false,
    preventDefault() {
      this.prevented = true;
    },
  };
}

type HeadersListener = (
  details: { responseHeaders?: Record<string, string[]> },
  callback: (response: { responseHeaders?: Record<string, string | string[]> }) => void,
) => void;

/** FakeSession captures the handlers hardenSession installs. */
export interface FakeSession {
  permissionRequest: ((contents: unknown, permission: string, callback: (granted: boolean) => void, details: unknown) => void) | null;
  permissionCheck: ((...args: unknown[]) => boolean) | null;
  headers: HeadersListener | null;
  readonly session: Session;
}

/** fakeSession is a session that keeps the last handler of each kind for the test to call. */
export function fakeSession(): FakeSession {
  const state: Omit<FakeSession, 'session'> = { permissionRequest: null, permissionCheck: null, headers: null };
  const session = {
    setPermissionRequestHandler(handler: FakeSession['permissionRequest']) {
      state.permissionRequest = handler;
    },
    setPermissionCheckHandler(handler: FakeSession['permissionCheck']) {
      state.permissionCheck = handler;
    },
    webRequest: {
      onHeadersReceived(listener: HeadersListener) {
        state.headers = listener;
      },
    },
  };
  return Object.assign(state, { session: session as unknown as Session });
}

/** FakeContents captures the listeners and the window-open handler of one webContents. */
export interface FakeContents {
  readonly listeners: Map<string, ((event: FakeEvent) => void)[]>;
  openHandler: ((details: { url: string; disposition: string }) => { action: string }) | null;
  readonly fakeSession: FakeSession;
  readonly contents: WebContents;
  emit(event: string, payload: FakeEvent): void;
}

/** fakeContents is a webContents with its own fake session and an emit to fire its events. */
export function fakeContents(): FakeContents {
  const listeners = new Map<string, ((event: FakeEvent) => void)[]>();
  const session = fakeSession();
  const state = {
    listeners,
    openHandler: null as FakeContents['openHandler'],
    fakeSession: session,
  };
  const contents = {
    session: session.session,
    on(event: string, listener: (event: FakeEvent) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return contents;
    },
    setWindowOpenHandler(handler: FakeContents['openHandler']) {
      state.openHandler = handler;
    },
  };
  return Object.assign(state, {
    contents: contents as unknown as WebContents,
    emit(event: string, payload: FakeEvent) {
      for (const listener of listeners.get(event) ?? []) listener(payload);
    },
  });
}
