// The Electron bundles and the staged app: the preload is one CommonJS file that requires only
// electron, the main bundle is an ES module importing only Electron, built-ins and the runtime
// dependencies, and the staged app runs its node entry with nothing but its own node_modules.

import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleElectron, REPO_ROOT, runtimeDependencies } from '../../../build/bundleElectron.ts';
import type { BundleResult } from '../../../build/bundleElectron.ts';
import { addonAbi, explainFailure, stageApp } from '../../../build/dist.ts';

const run = promisify(execFile);

let base: string;
let bundle: BundleResult;
let stageDir: string;

/** importedPackages lists the bare specifiers an ES module bundle imports or requires. */
function importedPackages(code: string): string[] {
  const specs = new Set<string>();
  for (const m of code.matchAll(/^\s*import\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gm)) specs.add(m[1]!);
  for (const m of code.matchAll(/\b(?:require|import)\(\s*["']([^"']+)["']\s*\)/g)) specs.add(m[1]!);
  return [...specs].filter((s) => !s.startsWith('.') && !s.startsWith('/'));
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'warden-bundle-'));
  bundle = await bundleElectron(join(base, 'electron'));
  const rendererDir = join(base, 'renderer');
  mkdirSync(rendererDir);
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Warden</title>');
  stageDir = await stageApp({ stageDir: join(base, 'app'), bundleDir: join(base, 'electron'), rendererDir });
}, 30_000);

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('bundleElectron', () => {
  it('writes the preload as CommonJS that requires only electron', () => {
    const code = readFileSync(bundle.preload, 'utf8');
    expect(code).not.toMatch(/^\s*import\s/m);
    expect(code).not.toMatch(/\bimport\(/);
    expect(code).not.toContain('import.meta');
    const required = [...code.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(['electron']));
    expect(code).toContain('exposeInMainWorld');
  });

  it('writes the main process as an ES module importing only electron, built-ins and runtime dependencies', () => {
    const code = readFileSync(bundle.main, 'utf8');
    expect(code).toMatch(/^import .* from "electron";$/m);
    const allowed = new Set(['electron', ...runtimeDependencies()]);
    const strays = importedPackages(code).filter((spec) => {
      const bare = spec.replace(/^node:/, '');
      if (builtinModules.includes(bare) || builtinModules.includes(bare.split('/')[0]!)) return false;
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      return !allowed.has(pkg);
    });
    expect(strays).toEqual([]);
    expect(code).not.toMatch(/["']tsx(\/[^"']*)?["']/);
  });

  it('writes the node entry without electron in it', () => {
    const code = readFileSync(bundle.nodeEntry, 'utf8');
    expect(importedPackages(code)).not.toContain('electron');
  });
});

describe('stageApp', () => {
  it('writes a package.json with the main field and only the runtime dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(stageDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.main).toBe('electron/main.js');
    expect(pkg.type).toBe('module');
    expect(pkg.productName).toBe('Warden');
    expect(Object.keys(pkg.dependencies as object).sort()).toEqual(runtimeDependencies().sort());
    expect(pkg.devDependencies).toBeUndefined();
    expect(pkg.scripts).toBeUndefined();
  });

  it('stages the bundles, the renderer and the dependency closure, without the Node build of better-sqlite3', () => {
    for (const file of ['electron/main.js', 'electron/preload.cjs', 'electron/warden-node.js', 'renderer/index.html']) {
      expect(existsSync(join(stageDir, file)), file).toBe(true);
    }
    for (const dep of [...runtimeDependencies(), 'bindings', 'file-uri-to-path']) {
      expect(existsSync(join(stageDir, 'node_modules', dep, 'package.json')), dep).toBe(true);
    }
    expect(existsSync(join(stageDir, 'node_modules', 'better-sqlite3', 'build'))).toBe(false);
    expect(existsSync(join(stageDir, 'node_modules', 'better-sqlite3', 'binding.gyp'))).toBe(true);
    expect(existsSync(join(stageDir, 'node_modules', 'vitest'))).toBe(false);
  });

  it('runs the staged node entry from its own node_modules', async () => {
    const { stdout } = await run(process.execPath, [join(stageDir, 'electron', 'warden-node.js'), 'help'], { cwd: base, timeout: 15_000 });
    expect(stdout).toContain('usage: warden');
  });
});

describe('addonAbi', () => {
  it('reads the ABI of the repository better-sqlite3 addon: this Node.js', () => {
    const file = join(REPO_ROOT, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
    expect(addonAbi(file)).toBe(Number(process.versions.modules));
  });

  it('finds no ABI in a file that is not an addon', () => {
    const file = join(base, 'not-an-addon.node');
    writeFileSync(file, 'plain text');
    expect(addonAbi(file)).toBeNull();
  });
});

describe('explainFailure', () => {
  const offline = Object.assign(new Error('getaddrinfo ENOTFOUND github.com'), { code: 'ENOTFOUND' });

  it('names the Electron download when packaging fails offline', () => {
    const sentence = explainFailure('package', offline, '45.5.0', 'linux-x64');
    expect(sentence).toContain('could not download the Electron 45.5.0 runtime for linux-x64');
    expect(sentence.split('\n').length).toBe(1);
  });

  it('names the headers when the native rebuild fails offline', () => {
    const sentence = explainFailure('rebuild', offline, '45.5.0', 'linux-x64');
    expect(sentence).toContain('better-sqlite3 could not be rebuilt for Electron 45.5.0');
    expect(sentence.split('\n').length).toBe(1);
  });

  it('keeps only the first line of other failures', () => {
    const sentence = explainFailure('package', new Error('Cannot compute electron version\n    at stack line'), '45.5.0');
    expect(sentence).toBe('electron-builder failed: Cannot compute electron version');
  });
});
