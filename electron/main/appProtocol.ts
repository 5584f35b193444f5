// Effectful (reads files). Serves the built renderer under `app://warden/`: maps a request URL
// to a file inside the renderer directory, refusing anything that could climb out of it, and
// answers with the right content type and the CSP header.

import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { APP_HOST, APP_SCHEME } from './appUrl.ts';
import { contentSecurityPolicy } from './window.ts';
import { CONTENT_TYPES } from '../../core/console/contentTypes.ts';


/** contentTypeOf names a file's media type; unknown kinds are opaque bytes, never sniffed. */
export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * resolveAppPath maps an `app://warden/...` URL to a file under rendererDir, or null when the
 * URL is not the app's or its path could reach outside the directory: `..` or `.` segments
 * (also percent-encoded), backslashes, NUL bytes, hidden files, absolute paths in disguise.
 * `/` means index.html. Pure apart from path arithmetic, so it is tested on its own.
 */
export function resolveAppPath(rendererDir: string, rawUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST || url.username !== '' || url.password !== '') return null;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  const segments = path.split('/').filter((s) => s !== '');
  if (segments.some((s) => s.startsWith('.') || s.includes(':'))) return null;
  const root = resolve(rendererDir);
  const file = resolve(root, segments.length === 0 ? 'index.html' : segments.join('/'));
  if (!file.startsWith(root + sep)) return null;
  return file;
}

/** AppRequestHandler answers one request of the app scheme (the shape protocol.handle takes). */
export type AppRequestHandler = (request: Request) => Promise<Response>;

/**
 * createAppRequestHandler serves files from rendererDir only. Besides the URL checks of
 * resolveAppPath, the real path of the file (after symlinks) must still be inside the real
 * renderer directory, so a link planted in the build output cannot expose the disk.
 */
export function createAppRequestHandler(rendererDir: string): AppRequestHandler {
  const csp = contentSecurityPolicy();
  let realRoot: Promise<string> | null = null;
  const reply = (status: number, body: string | Uint8Array | null, type: string): Response =>
    new Response(body, {
      status,
      headers: {
        'Content-Type': type,
        'Content-Security-Policy': csp,
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-cache',
      },
    });
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, 'method not allowed', 'text/plain; charset=utf-8');
    const file = resolveAppPath(rendererDir, request.url);
    if (file === null) return reply(404, 'not found', 'text/plain; charset=utf-8');
    try {
      realRoot ??= realpath(rendererDir).catch((err: unknown) => {
        realRoot = null;
        throw err;
      });
      const [root, real] = await Promise.all([realRoot, realpath(file)]);
      if (!real.startsWith(root + sep) || !(await stat(real)).isFile()) return reply(404, 'not found', 'text/plain; charset=utf-8');
      const body = request.method === 'HEAD' ? null : await readFile(real);
      return reply(200, body, contentTypeOf(real));
    } catch {
      return reply(404, 'not found', 'text/plain; charset=utf-8');
    }
  };
}
