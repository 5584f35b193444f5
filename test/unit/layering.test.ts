// Enforces the layering table of the style guide by scanning imports, in the spirit of VS Code's
// code-layering rule: pure folders import nothing effectful and never read the clock or
// global randomness; the renderer sees only types from core/api.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function filesUnder(dir: string): string[] {
  const abs = join(root, dir);
  let entries: string[];
  try {
    entries = readdirSync(abs);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of entries) {
    const path = join(abs, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(relative(root, path)));
    else if (/\.(ts|vue)$/.test(name) && !name.endsWith('.d.ts')) out.push(relative(root, path));
  }
  return out;
}

interface ImportRef {
  readonly spec: string;
  readonly typeOnly: boolean;
}

function importsOf(file: string): ImportRef[] {
  const text = readFileSync(join(root, file), 'utf8');
  const refs: ImportRef[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const spec = m[3] ?? m[4] ?? m[5];
    if (spec) refs.push({ spec, typeOnly: Boolean(m[2]) });
  }
  return refs;
}

/** target resolves a relative import to a repository path, or returns the bare package name. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return relative(root, resolve(root, dirname(file), spec));
}

const pureFolders = ['core/util', 'core/raft', 'core/lock', 'core/node', 'core/api'];

describe('layering', () => {
  it('pure folders import only pure folders and no packages', () => {
    const allowed: Record<string, string[]> = {
      'core/util': ['core/util'],
      'core/api': ['core/util', 'core/api'],
      'core/raft': ['core/util', 'core/raft'],
      'core/lock': ['core/util', 'core/lock', 'core/api', 'core/raft'],
      'core/node': ['core/util', 'core/raft', 'core/lock', 'core/api', 'core/node'],
    };
    const problems: string[] = [];
    for (const folder of pureFolders) {
      for (const file of filesUnder(folder)) {
        for (const { spec } of importsOf(file)) {
          const to = target(file, spec);
          const ok = (allowed[folder] ?? []).some((prefix) => to === prefix || to.startsWith(`${prefix}/`));
          if (!ok) problems.push(`${file} imports ${spec}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('pure folders never read the clock, draw global randomness or start timers', () => {
    const banned = /\bDate\.now\(|new Date\(|Math\.random\(|\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(|\bperformance\.now\(|\bprocess\./;
    const problems: string[] = [];
    for (const folder of pureFolders) {
      for (const file of filesUnder(folder)) {
        const lines = readFileSync(join(root, file), 'utf8').split('\n');
        lines.forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, '');
          if (banned.test(code)) problems.push(`${file}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(problems).toEqual([]);
  });

  it('only core/storage imports better-sqlite3 and only core/transport and servers import ws', () => {
    const problems: string[] = [];
    for (const file of filesUnder('core')) {
      for (const { spec } of importsOf(file)) {
        if (spec === 'better-sqlite3' && !file.startsWith('core/storage/')) problems.push(`${file} imports better-sqlite3`);
        if (spec === 'electron') problems.push(`${file} imports electron`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('storage and transport import only ports, Raft types, util, their library and node built-ins', () => {
    const rules: Record<string, RegExp> = {
      'core/storage': /^(better-sqlite3|node:.+|core\/(node\/ports|raft\/types|util\/.+|storage\/.+)\.ts)$/,
      'core/transport': /^(ws|node:.+|core\/(node\/ports|raft\/types|util\/.+|transport\/.+)\.ts)$/,
    };
    // Storage may name the console API's types (the connection store's error codes), never its code.
    const typesOnly: Record<string, RegExp> = { 'core/storage': /^core\/api\/.+\.ts$/ };
    const problems: string[] = [];
    for (const [folder, allowed] of Object.entries(rules)) {
      for (const file of filesUnder(folder)) {
        for (const { spec, typeOnly } of importsOf(file)) {
          const to = spec.startsWith('.') ? `${target(file, spec)}` : spec;
          if (allowed.test(to) || (typeOnly && typesOnly[folder]?.test(to))) continue;
          problems.push(`${file} imports ${spec}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('the console backend imports the API, the SDK, the connection store, the local launcher, node built-ins and ws only', () => {
    const allowed = /^(ws|node:.+|core\/(api\/.+|client\/.+|storage\/connectionStore|cli\/localCluster|console\/.+)\.ts)$/;
    const problems: string[] = [];
    for (const file of filesUnder('core/console')) {
      for (const { spec } of importsOf(file)) {
        const to = spec.startsWith('.') ? target(file, spec) : spec;
        if (!allowed.test(to)) problems.push(`${file} imports ${spec}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('nothing in core imports electron or the renderer', () => {
    const problems: string[] = [];
    for (const file of filesUnder('core')) {
      for (const { spec } of importsOf(file)) {
        if (spec === 'electron' || spec.startsWith('electron/') || target(file, spec).startsWith('renderer/')) problems.push(`${file} imports ${spec}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the preload imports only core/api, electron and its own folder', () => {
    const problems: string[] = [];
    for (const file of filesUnder('electron/preload')) {
      for (const { spec } of importsOf(file)) {
        const to = target(file, spec);
        if (spec === 'electron' || to.startsWith('core/api/') || to.startsWith('electron/preload/')) continue;
        problems.push(`${file} imports ${spec}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the Electron main process never imports the renderer', () => {
    const problems: string[] = [];
    for (const file of filesUnder('electron/main')) {
      for (const { spec } of importsOf(file)) {
        if (target(file, spec).startsWith('renderer/') || spec === 'renderer' || spec.startsWith('renderer/')) problems.push(`${file} imports ${spec}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('only the Electron entry points import electron at run time; everything else imports its types', () => {
    // There is no Electron binary under Node (tests, the CLI): a runtime import elsewhere would throw.
    const entryPoints = new Set(['electron/main/index.ts', 'electron/preload/index.ts']);
    const problems: string[] = [];
    for (const folder of ['core', 'electron', 'build', 'test']) {
      for (const file of filesUnder(folder)) {
        if (entryPoints.has(file)) continue;
        for (const { spec, typeOnly } of importsOf(file)) {
          if ((spec === 'electron' || spec.startsWith('electron/')) && !typeOnly) problems.push(`${file} imports ${spec} at run time`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('the renderer imports only types from core/api and nothing from electron or node', () => {
    const problems: string[] = [];
    for (const file of filesUnder('renderer')) {
      for (const { spec, typeOnly } of importsOf(file)) {
        const to = target(file, spec);
        if (spec === 'electron' || spec.startsWith('node:')) problems.push(`${file} imports ${spec}`);
        if (to.startsWith('core/') && !(to.startsWith('core/api') && typeOnly)) problems.push(`${file} imports ${spec}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the layering scan itself finds imports (negative control)', () => {
    expect(importsOf('core/raft/raftNode.ts').map((r) => r.spec)).toContain('./raftLog.ts');
    expect(filesUnder('core/raft').length).toBeGreaterThan(3);
  });
});
