#!/usr/bin/env node
// The `warden` executable. It runs the bundled CLI (out/cli/warden.js, from `npm run build:cli`)
// while that is fresh: built after the last change to every source file it was built from
// (out/cli/inputs.json). Otherwise it registers the TypeScript loader and runs the sources, so
// an edited tree never runs stale code. WARDEN_FROM_SOURCE=1 always runs the sources.
import { readFileSync, statSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bundle = `${root}out/cli/warden.js`;

function bundleIsFresh() {
  if (process.env.WARDEN_FROM_SOURCE === '1') return false;
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(`${root}out/cli/inputs.json`, 'utf8'));
    if (!Array.isArray(inputs) || inputs.length === 0) return false;
    // NB: a new source file only matters once a file already listed imports it, which changes that file.
    return inputs.every((input) => typeof input === 'string' && statSync(`${root}${input}`).mtimeMs <= built);
  } catch {
    return false;
  }
}

if (bundleIsFresh()) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
