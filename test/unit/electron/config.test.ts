// Where the app finds its parts, how it runs cluster nodes, the user data override, and the
// bounded shutdown of the console backend.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appPaths, nodeCommand, unpackedPath, USER_DATA_ENV, userDataOverride } from '../../../electron/main/config.ts';
import { stopRuntime } from '../../../electron/main/runtime.ts';

describe('appPaths', () => {
  it('finds the preload, node entry and renderer beside the main bundle', () => {
    const paths = appPaths(join('/repo', 'out', 'electron'));
    expect(paths).toEqual({
      rendererDir: join('/repo', 'out', 'renderer'),
      preloadPath: join('/repo', 'out', 'electron', 'preload.cjs'),
      nodeEntry: join('/repo', 'out', 'electron', 'warden-node.js'),
    });
  });

  it('runs the node entry from app.asar.unpacked in a packaged app but loads the rest from the archive', () => {
    const paths = appPaths('/opt/Warden/resources/app.asar/electron');
    expect(paths.nodeEntry).toBe('/opt/Warden/resources/app.asar.unpacked/electron/warden-node.js');
    expect(paths.preloadPath).toBe('/opt/Warden/resources/app.asar/electron/preload.cjs');
    expect(paths.rendererDir).toBe('/opt/Warden/resources/app.asar/renderer');
  });
});

describe('unpackedPath', () => {
  it('rewrites only a whole app.asar path segment', () => {
    expect(unpackedPath('C:\\Warden\\resources\\app.asar\\electron\\warden-node.js')).toBe('C:\\Warden\\resources\\app.asar.unpacked\\electron\\warden-node.js');
    expect(unpackedPath('/home/me/my.app.asar.d/electron/x.js')).toBe('/home/me/my.app.asar.d/electron/x.js');
    expect(unpackedPath('/repo/out/electron/warden-node.js')).toBe('/repo/out/electron/warden-node.js');
  });
});

describe('nodeCommand', () => {
  it('runs the app binary in Node mode on the bundled CLI', () => {
    expect(nodeCommand('/opt/Warden/warden', '/x/warden-node.js')).toEqual({
      execPath: '/opt/Warden/warden',
      args: ['/x/warden-node.js'],
      env: { ELECTRON_RUN_AS_NODE: '1' },
    });
  });
});

describe('userDataOverride', () => {
  it('keeps the default when unset or empty', () => {
    expect(userDataOverride({})).toBeNull();
    expect(userDataOverride({ [USER_DATA_ENV]: '' })).toBeNull();
  });

  it('takes an absolute directory', () => {
    expect(userDataOverride({ [USER_DATA_ENV]: '/tmp/warden-e2e' })).toBe('/tmp/warden-e2e');
    expect(userDataOverride({ [USER_DATA_ENV]: 'C:\\Temp\\w' })).toBe('C:\\Temp\\w');
  });

  it('refuses a relative directory with an error naming the variable', () => {
    expect(() => userDataOverride({ [USER_DATA_ENV]: 'data' })).toThrow(USER_DATA_ENV);
  });
});

describe('stopRuntime', () => {
  it('reports a clean close', async () => {
    expect(await stopRuntime({ close: async () => {} }, 1000)).toBe('closed');
  });

  it('gives up on a backend that does not stop in time', async () => {
    const started = Date.now();
    expect(await stopRuntime({ close: () => new Promise<void>(() => {}) }, 50)).toBe('timed out');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
