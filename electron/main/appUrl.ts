// Pure. The app's own origin: the privileged `app://warden/` scheme the renderer is served from,
// and the exact test of whether a URL or a frame belongs to it. Navigation guards, the IPC
// sender check and the protocol handler all ask this one module.

import type { CustomScheme, WebFrameMain } from 'electron';

/** APP_SCHEME is the custom scheme the renderer is loaded from (see electron/README.md for why). */
export const APP_SCHEME = 'app';

/** APP_HOST is the only host the app scheme serves; any other host is not the app. */
export const APP_HOST = 'warden';

/** APP_ORIGIN is the renderer's origin, what `'self'` in the CSP means. */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** APP_ENTRY_URL is the page the window loads; hash routes hang off it (`#/clusters/...`). */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * appSchemePrivileges registers `app:` as a standard, secure scheme. Standard gives it a real
 * origin (so `'self'` and relative asset URLs work and nothing else shares it, unlike file://);
 * secure makes the page a secure context; corsEnabled and supportFetchAPI let Chromium load the
 * page's `type="module"` scripts, which are fetched in CORS mode. Nothing but the app itself is
 * ever loaded in the session, so the cross-origin reads corsEnabled would permit have no other
 * origin to come from.
 */
export function appSchemePrivileges(): CustomScheme {
  return {
    scheme: APP_SCHEME,
    privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true },
  };
}

/**
 * isAppUrl says whether a URL is the app's own page: exactly `app://warden/` or
 * `app://warden/index.html`, with any hash route, no query, no credentials, no port. Being
 * exact matters: a looser prefix test would let `app://warden.evil/` or a page smuggled under
 * another path pass the navigation guard and the IPC sender check.
 */
export function isAppUrl(raw: string): boolean {
  if (typeof raw !== 'string') return false;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return (
    url.protocol === `${APP_SCHEME}:` &&
    url.host === APP_HOST &&
    url.username === '' &&
    url.password === '' &&
    url.search === '' &&
    (url.pathname === '/' || url.pathname === '/index.html')
  );
}

/**
 * isTrustedFrame says whether an IPC message comes from the app's own top-level page. A null
 * frame (navigated away or destroyed), a subframe, or any other URL is not trusted.
 */
export function isTrustedFrame(frame: Pick<WebFrameMain, 'url' | 'parent'> | null | undefined): boolean {
  if (!frame) return false;
  try {
    return frame.parent === null && isAppUrl(frame.url);
  } catch {
    // NB: a disposed WebFrameMain throws on property access; such a sender is not trusted.
    return false;
  }
}
