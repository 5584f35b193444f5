// Effectful. The renderer's only door to the console backend. In Electron it wraps the preload's
// `window.warden`; in a browser served by `warden console` it speaks the same API over an
// authenticated WebSocket. Replies are unwrapped here, so the rest of the renderer sees promises
// that resolve to values or reject with an ApiRequestError carrying {code, message}.

import type { KvItem } from '../../core/api/clientProtocol.ts';
import type {
  ApiErrorBody,
  ApiErrorCode,
  BridgeApi,
  CONSOLE_WS_PATH,
  EventName,
  NodeApi,
  RequestName,
  Unsubscribe,
  WsRequestFrame,
} from '../../core/api/contract.ts';

/**
 * Every request of the contract. The renderer may import only types from core/api, so the list
 * lives here; its type makes tsc fail when the contract gains or loses a request.
 */
const requests: Record<RequestName, true> = {
  getAppInfo: true,
  listConnections: true,
  saveConnection: true,
  deleteConnection: true,
  exportConnections: true,
  importConnections: true,
  openConnection: true,
  closeConnection: true,
  launchLocalCluster: true,
  stopLocalCluster: true,
  getTopology: true,
  clusterFault: true,
  queryLocks: true,
  getLockDetail: true,
  forceRelease: true,
  listSessions: true,
  closeSession: true,
  kvList: true,
  kvGet: true,
  kvPut: true,
  kvDelete: true,
  kvHistory: true,
  getSettings: true,
  setSettings: true,
  listEvents: true,
  getMetrics: true,
};

/** Every push event of the contract, checked the same way as the requests. */
const events: Record<EventName, true> = {
  onConnectionsChanged: true,
  onTopology: true,
  onLocksChanged: true,
  onKvChanges: true,
  onMetrics: true,
};

const requestNames = Object.keys(requests) as RequestName[];
const eventNames = Object.keys(events) as EventName[];

/** The console server's WebSocket path; typed as the contract's constant so drift fails tsc. */
const wsPath: typeof CONSOLE_WS_PATH = '/api';

/** Mirrors MAX_CONSOLE_FRAME_BYTES: a bigger frame would be refused by the backend anyway. */
const MAX_FRAME_BYTES = 1024 * 1024;

/** Requests that legitimately take long (a launch waits for processes and an election). */
const SLOW_REQUEST_TIMEOUTS_MS: Partial<Record<RequestName, number>> = {
  launchLocalCluster: 180_000,
  stopLocalCluster: 60_000,
  openConnection: 30_000,
  clusterFault: 30_000,
  forceRelease: 30_000,
  closeSession: 30_000,
  setSettings: 30_000,
};

/**
 * ApiRequestError is how a refused or failed request reaches renderer code: a code to switch on
 * (Unreachable, Unauthenticated, WrongCluster, ...) and a sentence to show the operator. A
 * CasConflict also carries the key as it is now (`current`, null when it was deleted), so the
 * configuration editor can show both versions without another read.
 */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  readonly code: ApiErrorCode;
  readonly current: KvItem | null | undefined;
  constructor(code: ApiErrorCode, message: string, current?: KvItem | null) {
    super(message);
    this.code = code;
    this.current = current;
  }

  /** body is the error as plain data, for stores that keep it in state. */
  get body(): ApiErrorBody {
    return this.current === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, current: this.current };
  }
}

/** kvItemOf reads a KvItem from untrusted reply data, or undefined when it is not one. */
function kvItemOf(value: unknown): KvItem | null | undefined {
  if (value === null) return null;
  if (!isObject(value)) return undefined;
  const { key, value: text, revision, createRevision, version } = value;
  if (typeof key !== 'string' || typeof text !== 'string' || typeof revision !== 'number' || typeof createRevision !== 'number' || typeof version !== 'number') return undefined;
  return { key, value: text, revision, createRevision, version };
}

/**
 * errorOf turns anything a request rejected with into an ApiErrorBody, so stores always hold a
 * code and a sentence and never an Error object (which Pinia state and devtools handle badly).
 */
export function errorOf(err: unknown): ApiErrorBody {
  if (err instanceof ApiRequestError) return err.body;
  if (err instanceof Error) return { code: 'Internal', message: err.message || 'unexpected error' };
  return { code: 'Internal', message: String(err) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * unwrapReply turns an ApiReply into its value or throws its error. A reply of any other shape
 * is an Internal error, because a bridge that sends garbage must not crash a view.
 */
export function unwrapReply<T>(reply: unknown): T {
  if (isObject(reply) && reply.ok === true) return reply.value as T;
  if (isObject(reply) && reply.ok === false && isObject(reply.error)) {
    const { code, message } = reply.error;
    throw new ApiRequestError(
      typeof code === 'string' && code !== '' ? (code as ApiErrorCode) : 'Internal',
      typeof message === 'string' && message !== '' ? message : 'the console backend refused the request',
      'current' in reply.error ? kvItemOf(reply.error.current) : undefined,
    );
  }
  throw new ApiRequestError('Internal', 'the console backend sent a malformed reply');
}

/**
 * wrapBridge adapts the preload's BridgeApi (replies as data, because Electron's IPC keeps only
 * the message of a thrown error) to the NodeApi renderer code calls (replies as values or
 * thrown ApiRequestErrors).
 */
export function wrapBridge(bridgeApi: BridgeApi): NodeApi {
  const api: Record<string, unknown> = {};
  for (const name of requestNames) {
    const call = bridgeApi[name] as (payload: unknown) => Promise<unknown>;
    api[name] = async (payload: unknown): Promise<unknown> => {
      let reply: unknown;
      try {
        reply = await call(payload);
      } catch (err) {
        throw new ApiRequestError('Internal', `${name} failed in the desktop bridge: ${errorOf(err).message}`);
      }
      return unwrapReply(reply);
    };
  }
  for (const name of eventNames) {
    const on = bridgeApi[name] as (listener: (payload: unknown) => void) => Unsubscribe;
    api[name] = (listener: (payload: unknown) => void): Unsubscribe => on(listener);
  }
  return api as NodeApi;
}

/** BridgeKind says which bridge serves the renderer; `custom` is a test's fake. */
export type BridgeKind = 'electron' | 'websocket' | 'custom';

/** BridgeState is whether requests can reach the backend right now. */
export type BridgeState = 'connecting' | 'open' | 'disconnected';

/** BridgeStatus is shown in the status bar and, when not open, in a banner with its detail. */
export interface BridgeStatus {
  readonly kind: BridgeKind;
  readonly state: BridgeState;
  /** Why the bridge is not open, and when it retries; null when open. */
  readonly detail: string | null;
}

/** ConsoleBridge is a NodeApi plus the state of the link underneath it. */
export interface ConsoleBridge {
  readonly api: NodeApi;
  status(): BridgeStatus;
  onStatus(listener: (status: BridgeStatus) => void): Unsubscribe;
  close(): void;
}

/** staticBridge is a bridge whose link cannot drop: Electron's IPC, or a test's fake API. */
function staticBridge(api: NodeApi, kind: BridgeKind): ConsoleBridge {
  const status: BridgeStatus = { kind, state: 'open', detail: null };
  return { api, status: () => status, onStatus: () => () => undefined, close: () => undefined };
}

/** WebSocketLike is the part of the browser WebSocket the bridge uses (the `ws` package has it too). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** WsBridgeOptions configures the browser bridge; tests inject the socket and short timings. */
export interface WsBridgeOptions {
  /** ws(s)://host/api?token=...; null when there is no way to reach a backend. */
  readonly url: string | null;
  /** Why url is null, shown to the operator. */
  readonly unavailableReason?: string;
  readonly createSocket?: (url: string) => WebSocketLike;
  readonly requestTimeoutMs?: number;
  readonly timeoutsMs?: Partial<Record<RequestName, number>>;
  readonly reconnectDelayMs?: { readonly initial: number; readonly max: number };
}

interface PendingRequest {
  readonly name: RequestName;
  readonly text: string;
  sent: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: ApiRequestError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

const WS_OPEN = 1;

/**
 * createWsBridge implements NodeApi over the console server's WebSocket: requests carry ids and
 * wait (bounded) for the reply with the same id; pushes go to subscribers; a dropped link is
 * re-opened with exponential backoff while the status says the backend is unreachable.
 * Requests made while the link is down wait for it, within their own timeout.
 */
export function createWsBridge(options: WsBridgeOptions): ConsoleBridge {
  const createSocket = options.createSocket ?? ((url: string) => new WebSocket(url) as unknown as WebSocketLike);
  const defaultTimeoutMs = options.requestTimeoutMs ?? 20_000;
  const timeouts = { ...SLOW_REQUEST_TIMEOUTS_MS, ...(options.timeoutsMs ?? {}) };
  const backoff = options.reconnectDelayMs ?? { initial: 250, max: 5_000 };
  const pending = new Map<number, PendingRequest>();
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>(eventNames.map((n) => [n, new Set()]));
  const statusListeners = new Set<(status: BridgeStatus) => void>();
  let status: BridgeStatus = { kind: 'websocket', state: 'connecting', detail: null };
  let socket: WebSocketLike | null = null;
  let nextId = 1;
  let attempt = 0;
  let everOpened = false;
  let closed = false;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;

  function setStatus(state: BridgeState, detail: string | null): void {
    if (status.state === state && status.detail === detail) return;
    status = { kind: 'websocket', state, detail };
    for (const listener of [...statusListeners]) listener(status);
  }

  function sendPending(entry: PendingRequest): void {
    if (socket === null || socket.readyState !== WS_OPEN) return;
    try {
      socket.send(entry.text);
      entry.sent = true;
    } catch {
      // A failed send leaves the entry unsent; it goes out after the next open.
    }
  }

  function connect(): void {
    reconnectTimer = null;
    if (closed || options.url === null) return;
    setStatus('connecting', attempt === 0 ? null : `reconnecting to the console backend (attempt ${attempt + 1})`);
    let ws: WebSocketLike;
    try {
      ws = createSocket(options.url);
    } catch (err) {
      scheduleReconnect(`cannot open a WebSocket to the console backend: ${errorOf(err).message}`);
      return;
    }
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      attempt = 0;
      everOpened = true;
      setStatus('open', null);
      const waiting = [...pending.values()].filter((p) => !p.sent);
      for (const entry of waiting) sendPending(entry);
    };
    ws.onmessage = (event) => {
      if (socket === ws) handleFrame(event.data);
    };
    ws.onerror = () => undefined;
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      for (const [id, entry] of pending) {
        if (!entry.sent) continue;
        clearTimeout(entry.timer);
        pending.delete(id);
        entry.reject(new ApiRequestError('Unavailable', `${entry.name}: the link to the console backend closed before the reply; the request may or may not have run`));
      }
      if (closed) return;
      const why = event.reason ? `: ${event.reason}` : '';
      scheduleReconnect(
        everOpened
          ? `lost the link to the console backend (code ${event.code}${why})`
          : `cannot reach the console backend (code ${event.code}${why}); is \`warden console\` running, and is the access token in the URL current?`,
      );
    };
  }

  function scheduleReconnect(detail: string): void {
    const delayMs = Math.min(backoff.max, backoff.initial * 2 ** Math.min(attempt, 16));
    attempt++;
    setStatus('disconnected', `${detail} — retrying in ${(delayMs / 1000).toFixed(1)} s`);
    reconnectTimer = setTimeout(connect, delayMs);
  }

  function handleFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      console.warn('console bridge: ignored a frame that is not JSON');
      return;
    }
    if (!isObject(frame)) return;
    if (typeof frame.id === 'number' && 'reply' in frame) {
      const entry = pending.get(frame.id);
      if (!entry) return;
      clearTimeout(entry.timer);
      pending.delete(frame.id);
      try {
        entry.resolve(unwrapReply(frame.reply));
      } catch (err) {
        entry.reject(err instanceof ApiRequestError ? err : new ApiRequestError('Internal', errorOf(err).message));
      }
      return;
    }
    if (typeof frame.event === 'string' && Object.prototype.hasOwnProperty.call(events, frame.event)) {
      const subscribers = listeners.get(frame.event as EventName);
      for (const listener of [...(subscribers ?? [])]) {
        try {
          listener(frame.payload);
        } catch (err) {
          console.error(`console bridge: a ${frame.event} listener failed`, err);
        }
      }
    }
  }

  function request(name: RequestName, payload: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (closed) {
        reject(new ApiRequestError('Unavailable', 'the console bridge is closed'));
        return;
      }
      if (options.url === null) {
        reject(new ApiRequestError('Unavailable', status.detail ?? 'no console backend'));
        return;
      }
      const id = nextId++;
      const frame: WsRequestFrame = payload === undefined ? { id, request: name } : { id, request: name, payload };
      const text = JSON.stringify(frame);
      if (new TextEncoder().encode(text).byteLength > MAX_FRAME_BYTES) {
        reject(new ApiRequestError('TooLarge', `${name}: the request is larger than ${MAX_FRAME_BYTES / 1024} KiB`));
        return;
      }
      const timeoutMs = timeouts[name] ?? defaultTimeoutMs;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new ApiRequestError('Timeout', `${name}: no reply from the console backend within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const entry: PendingRequest = { name, text, sent: false, resolve, reject, timer };
      pending.set(id, entry);
      sendPending(entry);
    });
  }

  function subscribe(name: EventName, listener: (payload: unknown) => void): Unsubscribe {
    const set = listeners.get(name) as Set<(payload: unknown) => void>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  const api: Record<string, unknown> = {};
  for (const name of requestNames) api[name] = (payload: unknown) => request(name, payload);
  for (const name of eventNames) api[name] = (listener: (payload: unknown) => void) => subscribe(name, listener);

  if (options.url === null) setStatus('disconnected', options.unavailableReason ?? 'no console backend to connect to');
  else connect();

  return {
    api: api as NodeApi,
    status: () => status,
    onStatus(listener) {
      statusListeners.add(listener);
      return () => {
        statusListeners.delete(listener);
      };
    },
    close() {
      if (closed) return;
      closed = true;
      if (reconnectTimer !== null) clearTimeout(reconnectTimer);
      const ws = socket;
      socket = null;
      ws?.close(1000, 'console closed');
      for (const entry of pending.values()) {
        clearTimeout(entry.timer);
        entry.reject(new ApiRequestError('Unavailable', `${entry.name}: the console bridge was closed`));
      }
      pending.clear();
      setStatus('disconnected', 'the console bridge was closed');
    },
  };
}

/**
 * takeAccessToken reads `?token=` from the page address and removes it from the address bar, so
 * the secret is not left in history, bookmarks or screenshots; the caller keeps it in memory.
 */
export function takeAccessToken(win: Pick<Window, 'location' | 'history'>): string | null {
  const url = new URL(win.location.href);
  const token = url.searchParams.get('token');
  if (token === null) return null;
  url.searchParams.delete('token');
  win.history.replaceState(win.history.state, '', `${url.pathname}${url.search}${url.hash}`);
  return token === '' ? null : token;
}

/** consoleSocketUrl is the WebSocket address of the console server that served this page. */
export function consoleSocketUrl(location: Pick<Location, 'protocol' | 'host'>, token: string): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}${wsPath}?token=${encodeURIComponent(token)}`;
}

/**
 * createDefaultBridge picks the bridge for this page: the preload's API when present, else the
 * WebSocket of the console server that served the page over http(s).
 * NB: it removes the token from the address; create it before the router reads the address.
 */
export function createDefaultBridge(win: Window): ConsoleBridge {
  if (win.warden) return staticBridge(wrapBridge(win.warden), 'electron');
  if (win.location.protocol !== 'http:' && win.location.protocol !== 'https:') {
    return createWsBridge({ url: null, unavailableReason: 'no console backend: open the console from the desktop app or from the URL `warden console` prints' });
  }
  const token = takeAccessToken(win);
  if (token === null) {
    return createWsBridge({ url: null, unavailableReason: 'no access token in the address: open the URL that `warden console` printed (the token is removed from the address bar once read, so a reload needs the URL again)' });
  }
  return createWsBridge({ url: consoleSocketUrl(win.location, token) });
}

let current: ConsoleBridge | null = null;

/** bridge returns the page's bridge, creating it on first use. */
export function bridge(): ConsoleBridge {
  current ??= createDefaultBridge(window);
  return current;
}

/** nodeApi is what stores call: the current bridge's NodeApi. */
export function nodeApi(): NodeApi {
  return bridge().api;
}

/** setBridge replaces the page's bridge (tests, and the disconnected-state demo); null resets it. */
export function setBridge(next: ConsoleBridge | null): void {
  if (current !== null && current !== next) current.close();
  current = next;
}

/** setNodeApi is the test seam: stores will call this fake, whose link is always open. */
export function setNodeApi(api: NodeApi | null): void {
  setBridge(api === null ? null : staticBridge(api, 'custom'));
}
