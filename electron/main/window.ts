// Effectful (Electron objects come in by injection). The console window's security settings:
// constructor options, the Content Security Policy, and the guards every webContents gets
// (no new windows, no navigation away from the app, no webviews, no permissions).

import type { BrowserWindowConstructorOptions, Session, WebContents } from 'electron';

/**
 * CSP_DIRECTIVES is the renderer's Content Security Policy, the same as the meta tag in
 * renderer/index.html. It is sent as a header too because a header also covers responses the
 * meta tag cannot (and cannot be removed by script that rewrites the document).
 */
const CSP_DIRECTIVES: readonly string[] = [
  "default-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
];

/** contentSecurityPolicy is the header value for every response of the app's session. */
export function contentSecurityPolicy(): string {
  return CSP_DIRECTIVES.join('; ');
}

/** WINDOW_BACKGROUND paints the window before the renderer's first frame, so it does not flash white. */
export const WINDOW_BACKGROUND = '#0f172a';

/**
 * windowOptions is the console window's constructor options. The renderer is untrusted: it
 * runs sandboxed, isolated from the preload, with no Node.js anywhere (not in workers, not in
 * subframes) and no `<webview>`. webSecurity is left at its default (on) on purpose.
 */
export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'Warden',
    backgroundColor: WINDOW_BACKGROUND,
    // NB: shown on 'ready-to-show' so the user never sees a blank window.
    show: false,
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
    },
  };
}

/** GuardLog receives one line per refused attempt, so a misbehaving renderer is visible. */
export type GuardLog = (line: string) => void;

/**
 * hardenSession denies every permission the page could ask for (camera, notifications,
 * clipboard reads, geolocation, ...) and sets the CSP header on every response of the session.
 * The console needs none of those permissions, so a request for one is a sign of trouble.
 */
export function hardenSession(session: Session, log: GuardLog = defaultLog): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => {
    log(`denied permission request ${JSON.stringify(permission)}`);
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
  const csp = contentSecurityPolicy();
  session.webRequest.onHeadersReceived((details, callback) => {
    // NB: header names are case-insensitive; drop any CSP already present so ours is the only one.
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(details.responseHeaders ?? {})) {
      if (name.toLowerCase() !== 'content-security-policy') headers[name] = value;
    }
    headers['Content-Security-Policy'] = [csp];
    callback({ responseHeaders: headers });
  });
}

/**
 * hardenWebContents installs the navigation guards on one webContents: window.open and
 * target=_blank are denied, navigation and redirects of any frame are prevented unless the
 * target is the app's own page, webviews are never attached, and the session's permissions are
 * denied. Called for every webContents the app creates, not only the main window's.
 */
export function hardenWebContents(contents: WebContents, isAppUrl: (url: string) => boolean, log: GuardLog = defaultLog): void {
  contents.setWindowOpenHandler(({ url }) => {
    log(`denied a new window for ${describeUrl(url)}`);
    return { action: 'deny' };
  });
  const guard = (what: string) => (event: { url: string; preventDefault(): void }) => {
    if (isAppUrl(event.url)) return;
    event.preventDefault();
    log(`prevented ${what} to ${describeUrl(event.url)}`);
  };
  contents.on('will-navigate', guard('navigation'));
  contents.on('will-frame-navigate', guard('frame navigation'));
  contents.on('will-redirect', guard('redirect'));
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('prevented a webview from attaching');
  });
  hardenSession(contents.session, log);
}

function describeUrl(url: string): string {
  return JSON.stringify(String(url).slice(0, 200));
}

function defaultLog(line: string): void {
  process.stderr.write(`warden console: ${line}\n`);
}
