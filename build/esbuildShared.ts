// Pure, apart from reading this module's own location. What the esbuild scripts in build/ share:
// the repository root, the banner ES module bundles for Node need, and one line for a failed build.

import { fileURLToPath } from 'node:url';

/** REPO_ROOT is the repository root (this file lives in build/). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * ESM_REQUIRE_BANNER goes first in an ES module bundle for Node: CommonJS code inside it may call
 * require() for a built-in, and esbuild's shim uses a `require` in scope when there is one.
 */
export const ESM_REQUIRE_BANNER = "import { createRequire as __wardenCreateRequire } from 'node:module';\nconst require = __wardenCreateRequire(import.meta.url);";

/** buildErrorLine is one line for a failed build: esbuild's first error and where, or the message. */
export function buildErrorLine(err: unknown): string {
  const e = err as Error & { errors?: { text: string; location?: { file: string; line: number } | null }[] };
  const first = e.errors?.[0];
  const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
  return first ? first.text + where : e.message;
}
