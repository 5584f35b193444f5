// Effectful (temp dirs, child processes). The `warden` executable (core/cli/warden.js) runs the
// bundled CLI only while it is fresh: built after every source file it lists. A changed source,
// a missing or damaged list, or WARDEN_FROM_SOURCE=1 runs the TypeScript sources instead.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A repository in miniature: the real launcher, a source entry and a bundle that say which ran. */
function miniature(): { root: string; run: (env?: Record<string, string>) => string; age: (file: string, seconds: number) => void } {
  const root = mkdtempSync(join(tmpdir(), 'warden-launcher-'));
  roots.push(root);
  mkdirSync(join(root, 'core', 'cli'), { recursive: true });
  mkdirSync(join(root, 'out', 'cli'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
  copyFileSync(join(REPO, 'core', 'cli', 'warden.js'), join(root, 'core', 'cli', 'warden.js'));
  writeFileSync(join(root, 'core', 'cli', 'main.ts'), "const from: string = 'source';\nprocess.stdout.write(from);\n");
  writeFileSync(join(root, 'out', 'cli', 'warden.js'), "process.stdout.write('bundle');\n");
  writeFileSync(join(root, 'out', 'cli', 'inputs.json'), JSON.stringify(['core/cli/main.ts']));
  const age = (file: string, seconds: number): void => {
    const t = Date.now() / 1000 - seconds;
    utimesSync(join(root, file), t, t);
  };
  age('core/cli/main.ts', 60);
  const run = (env: Record<string, string> = {}): string => {
    const r = spawnSync(process.execPath, [join(root, 'core', 'cli', 'warden.js')], { env: { ...process.env, WARDEN_FROM_SOURCE: '', ...env }, encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };
  return { root, run, age };
}

describe('the warden launcher', () => {
  it('runs the bundle while it is newer than every source it lists', () => {
    const m = miniature();
    expect(m.run()).toBe('bundle');
  });

  it('runs the sources once one of them changed after the build', () => {
    const m = miniature();
    m.age('core/cli/main.ts', 0);
    m.age('out/cli/warden.js', 30);
    expect(m.run()).toBe('source');
  });

  it('runs the sources when the list is missing, damaged or names a file that is gone', () => {
    const m = miniature();
    writeFileSync(join(m.root, 'out', 'cli', 'inputs.json'), '{ not json');
    expect(m.run()).toBe('source');
    writeFileSync(join(m.root, 'out', 'cli', 'inputs.json'), JSON.stringify(['core/cli/gone.ts']));
    expect(m.run()).toBe('source');
    rmSync(join(m.root, 'out', 'cli', 'inputs.json'));
    expect(m.run()).toBe('source');
  });

  it('runs the sources when asked to', () => {
    const m = miniature();
    expect(m.run({ WARDEN_FROM_SOURCE: '1' })).toBe('source');
  });
});
