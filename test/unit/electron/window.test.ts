// Security settings of the console window: constructor options, the CSP, navigation and
// new-window guards, webviews and permissions, checked against fakes of webContents and session.

import { describe, expect, it } from 'vitest';
import { APP_ENTRY_URL, appSchemePrivileges, isAppUrl, isTrustedFrame } from '../../../electron/main/appUrl.ts';
import { contentSecurityPolicy, hardenSession, hardenWebContents, windowOptions } from '../../../electron/main/window.ts';
import { fakeContents, fakeEvent, fakeFrame, fakeSession } from './fakes.ts';

const EXPECTED_CSP =
  "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function harden() {
  const fake = fakeContents();
  const lines: string[] = [];
  hardenWebContents(fake.contents, isAppUrl, (line) => lines.push(line));
  return { fake, lines };
}

describe('windowOptions', () => {
  const options = windowOptions('/app/electron/preload.cjs');
  const prefs = options.webPreferences ?? {};

  it('isolates and sandboxes the renderer with no Node.js anywhere', () => {
    expect(prefs.contextIsolation).toBe(true);
    expect(prefs.sandbox).toBe(true);
    expect(prefs.nodeIntegration).toBe(false);
    expect(prefs.nodeIntegrationInWorker).toBe(false);
    expect(prefs.nodeIntegrationInSubFrames).toBe(false);
  });

  it('has no webview tag, no spellcheck, and leaves webSecurity and insecure content at their defaults', () => {
    expect(prefs.webviewTag).toBe(false);
    expect(prefs.spellcheck).toBe(false);
    expect('webSecurity' in prefs).toBe(false);
    expect('allowRunningInsecureContent' in prefs).toBe(false);
    expect('experimentalFeatures' in prefs).toBe(false);
  });

  it('loads the given preload and opens a titled, painted, reasonably sized window', () => {
    expect(prefs.preload).toBe('/app/electron/preload.cjs');
    expect(options.title).toBe('Warden');
    expect(options.backgroundColor).toMatch(/^#[0-9a-f]{6}$/i);
    expect(options.width).toBeGreaterThanOrEqual(1024);
    expect(options.height).toBeGreaterThanOrEqual(700);
    expect(options.show).toBe(false);
  });
});

describe('contentSecurityPolicy', () => {
  it('is the renderer policy plus frame-ancestors', () => {
    expect(contentSecurityPolicy()).toBe(EXPECTED_CSP);
  });

  it('allows no inline or eval script and no remote origin', () => {
    const csp = contentSecurityPolicy();
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
  });
});

describe('hardenWebContents', () => {
  it('denies window.open and target=_blank for every URL, including the app and the web', () => {
    const { fake, lines } = harden();
    for (const url of ['https://example.com/', APP_ENTRY_URL, 'file:///etc/passwd', 'javascript:alert(1)']) {
      expect(fake.openHandler?.({ url, disposition: 'foreground-tab' })).toEqual({ action: 'deny' });
    }
    expect(lines.length).toBe(4);
  });

  it.each(['will-navigate', 'will-frame-navigate', 'will-redirect'])('%s to a foreign URL is prevented', (event) => {
    const { fake, lines } = harden();
    for (const url of ['https://evil.example/', 'file:///tmp/index.html', 'app://warden/other.html', 'app://warden.evil/index.html', 'app://warden/index.html?x=1']) {
      const e = fakeEvent(url);
      fake.emit(event, e);
      expect(e.prevented, url).toBe(true);
    }
    expect(lines.every((line) => line.startsWith('prevented'))).toBe(true);
  });

  it.each(['will-navigate', 'will-frame-navigate', 'will-redirect'])('%s to the app page is allowed', (event) => {
    const { fake, lines } = harden();
    for (const url of [APP_ENTRY_URL, 'app://warden/', 'app://warden/index.html#/clusters/abc/topology']) {
      const e = fakeEvent(url);
      fake.emit(event, e);
      expect(e.prevented, url).toBe(false);
    }
    expect(lines).toEqual([]);
  });

  it('never lets a webview attach', () => {
    const { fake } = harden();
    const e = fakeEvent();
    fake.emit('will-attach-webview', e);
    expect(e.prevented).toBe(true);
  });

  it('denies every permission request and check of the session', () => {
    const { fake, lines } = harden();
    const answers: boolean[] = [];
    for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal']) {
      fake.fakeSession.permissionRequest?.(fake.contents, permission, (granted) => answers.push(granted), {});
    }
    expect(answers).toEqual([false, false, false, false, false]);
    expect(fake.fakeSession.permissionCheck?.(null, 'clipboard-sanitized-write', 'app://warden', {})).toBe(false);
    expect(lines.filter((l) => l.includes('permission')).length).toBe(5);
  });
});

describe('hardenSession', () => {
  it('sets the CSP on every response, replacing one the response carried in any letter case', () => {
    const session = fakeSession();
    hardenSession(session.session, () => {});
    let out: Record<string, string | string[]> | undefined;
    session.headers?.(
      { responseHeaders: { 'content-security-policy': ["default-src *"], 'Content-Type': ['text/html'] } },
      (response) => {
        out = response.responseHeaders;
      },
    );
    expect(out).toEqual({ 'Content-Type': ['text/html'], 'Content-Security-Policy': [EXPECTED_CSP] });
  });

  it('adds the CSP to a response without headers', () => {
    const session = fakeSession();
    hardenSession(session.session, () => {});
    let out: Record<string, string | string[]> | undefined;
    session.headers?.({}, (response) => {
      out = response.responseHeaders;
    });
    expect(out).toEqual({ 'Content-Security-Policy': [EXPECTED_CSP] });
  });
});

describe('isAppUrl', () => {
  it.each([APP_ENTRY_URL, 'app://warden/', 'app://warden/index.html#/', 'app://warden/index.html#/clusters/x/topology'])('accepts %s', (url) => {
    expect(isAppUrl(url)).toBe(true);
  });

  it.each([
    'app://warden.evil/index.html',
    'app://evil/index.html',
    'app://warden/other.html',
    'app://warden/assets/index.html',
    'app://warden/index.html?debug=1',
    'app://user@warden/index.html',
    'app://warden:8080/index.html',
    'file:///app/renderer/index.html',
    'http://127.0.0.1:5173/index.html',
    'https://warden/index.html',
    'devtools://devtools/bundled/inspector.html',
    'about:blank',
    '',
    'not a url',
  ])('refuses %s', (url) => {
    expect(isAppUrl(url)).toBe(false);
  });
});

describe('isTrustedFrame', () => {
  it('trusts only the top frame of the app page', () => {
    expect(isTrustedFrame(fakeFrame(APP_ENTRY_URL))).toBe(true);
    expect(isTrustedFrame(fakeFrame('https://evil.example/'))).toBe(false);
    expect(isTrustedFrame(fakeFrame(APP_ENTRY_URL, { url: APP_ENTRY_URL }))).toBe(false);
    expect(isTrustedFrame(null)).toBe(false);
    expect(isTrustedFrame(undefined)).toBe(false);
  });

  it('does not trust a frame that throws when read (disposed)', () => {
    const disposed = {
      get url(): string {
        throw new Error('Render frame was disposed before WebFrameMain could be accessed');
      },
      parent: null,
    };
    expect(isTrustedFrame(disposed)).toBe(false);
  });
});

describe('appSchemePrivileges', () => {
  it('registers app: as a standard, secure scheme that does not bypass the CSP', () => {
    const scheme = appSchemePrivileges();
    expect(scheme.scheme).toBe('app');
    expect(scheme.privileges?.standard).toBe(true);
    expect(scheme.privileges?.secure).toBe(true);
    expect(scheme.privileges?.bypassCSP ?? false).toBe(false);
    expect(scheme.privileges?.allowServiceWorkers ?? false).toBe(false);
  });
});
