// The app scheme's file server: URLs map to files inside the renderer directory only, with the
// right content type and the CSP header; traversal, symlinks out and other methods are refused.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentTypeOf, createAppRequestHandler, resolveAppPath } from '../../../electron/main/appProtocol.ts';
import { contentSecurityPolicy } from '../../../electron/main/window.ts';

let base: string;
let root: string;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'warden-app-protocol-'));
  root = join(base, 'renderer');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>Warden</title>');
  writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'index-abc.css'), 'body{}');
  writeFileSync(join(base, 'secret.txt'), 'do not serve');
  symlinkSync(join(base, 'secret.txt'), join(root, 'assets', 'link.txt'));
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('resolveAppPath', () => {
  it('maps the root and files under the renderer directory', () => {
    expect(resolveAppPath(root, 'app://warden/')).toBe(join(root, 'index.html'));
    expect(resolveAppPath(root, 'app://warden/index.html#/clusters/a/topology')).toBe(join(root, 'index.html'));
    expect(resolveAppPath(root, 'app://warden/assets/index-abc.js?v=1')).toBe(join(root, 'assets', 'index-abc.js'));
  });

  it.each([
    'app://warden/..%2fsecret.txt',
    'app://warden/assets%5c..%5c..%5csecret.txt',
    'app://warden/%00index.html',
    'app://warden/.hidden',
    'app://warden/C:%2fWindows%2fwin.ini',
    'app://warden/%E0%A4%A',
    'app://other/index.html',
    'app://warden.evil/index.html',
    'app://user:pw@warden/index.html',
    'file:///etc/passwd',
    'https://warden/index.html',
    'nonsense',
  ])('refuses %s', (url) => {
    expect(resolveAppPath(root, url)).toBeNull();
  });

  it.each(['app://warden/assets/../../secret.txt', 'app://warden/%2e%2e/secret.txt', 'app://warden/assets/%2E%2E/%2e%2e/secret.txt'])(
    'keeps %s inside the directory',
    (url) => {
      // The URL parser folds `..` segments (also percent-encoded ones) at the root.
      const file = resolveAppPath(root, url);
      expect(file === null || file.startsWith(`${root}${sep}`)).toBe(true);
    },
  );
});

describe('createAppRequestHandler', () => {
  const serve = (url: string, method = 'GET') => createAppRequestHandler(root)(new Request(url, { method }));

  it('serves index.html for the root with the CSP and no sniffing', async () => {
    const res = await serve('app://warden/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(contentSecurityPolicy());
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('<title>Warden</title>');
  });

  it('serves scripts and styles with their types', async () => {
    const js = await serve('app://warden/assets/index-abc.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1)');
    const css = await serve('app://warden/assets/index-abc.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers 404 for missing files, directories, traversal and symlinks leading out', async () => {
    for (const url of ['app://warden/missing.js', 'app://warden/assets', 'app://warden/%2e%2e/secret.txt', 'app://warden/assets/link.txt']) {
      const res = await serve(url);
      expect(res.status, url).toBe(404);
      expect(await res.text()).not.toContain('do not serve');
    }
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await serve('app://warden/index.html', 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await serve('app://warden/index.html', 'POST');
    expect(post.status).toBe(405);
  });

  it('answers 404 when the renderer directory does not exist', async () => {
    const res = await createAppRequestHandler(join(base, 'nowhere'))(new Request('app://warden/index.html'));
    expect(res.status).toBe(404);
  });
});

describe('contentTypeOf', () => {
  it('never guesses: unknown kinds are opaque bytes', () => {
    expect(contentTypeOf('x.woff2')).toBe('font/woff2');
    expect(contentTypeOf('x.SVG')).toBe('image/svg+xml');
    expect(contentTypeOf('x.exe')).toBe('application/octet-stream');
    expect(contentTypeOf('README')).toBe('application/octet-stream');
  });
});
