// Tests of lib/kvTree.ts: keys split on '/' into folders and keys, visible rows for expanded
// folders, ancestors of a key, and the key rule for new keys.

import { describe, expect, it } from 'vitest';
import { ancestorsOf, buildKvTree, keyProblem, visibleRows } from '../../../renderer/lib/kvTree.ts';

const keys = ['/config/billing/db.url', '/config/billing/limits.json', '/config/search', '/config/search/timeout', '/flags/dark-mode'];

describe('buildKvTree', () => {
  it('makes folders of shared prefixes, in name order, with key counts', () => {
    const tree = buildKvTree(keys);
    expect(tree.map((n) => n.path)).toEqual(['/config', '/flags']);
    const config = tree[0];
    expect(config?.keyCount).toBe(4);
    expect(config?.isKey).toBe(false);
    expect(config?.children.map((c) => c.path)).toEqual(['/config/billing', '/config/search']);
    const search = config?.children[1];
    expect(search?.isKey).toBe(true);
    expect(search?.children.map((c) => c.segment)).toEqual(['timeout']);
  });

  it('lists only the rows under expanded folders', () => {
    const tree = buildKvTree(keys);
    expect(visibleRows(tree, new Set()).map((r) => r.node.path)).toEqual(['/config', '/flags']);
    const rows = visibleRows(tree, new Set(['/config', '/config/billing']));
    expect(rows.map((r) => r.node.path)).toEqual(['/config', '/config/billing', '/config/billing/db.url', '/config/billing/limits.json', '/config/search', '/flags']);
    expect(rows.find((r) => r.node.path === '/config/search')).toMatchObject({ expanded: false, hasChildren: true });
  });
});

describe('key helpers', () => {
  it('ancestorsOf lists the folders above a key', () => {
    expect(ancestorsOf('/config/billing/db.url')).toEqual(['/config', '/config/billing']);
    expect(ancestorsOf('/top')).toEqual([]);
  });

  it('keyProblem mirrors the cluster rule', () => {
    expect(keyProblem('/config/app/feature.flag')).toBeNull();
    expect(keyProblem('')).toMatch(/give the key a name/);
    expect(keyProblem('config/app')).toMatch(/looks like \/a\/b\/c/);
    expect(keyProblem('/config//app')).toMatch(/looks like/);
    expect(keyProblem('/config/app/')).toMatch(/looks like/);
    expect(keyProblem(`/${'a'.repeat(600)}`)).toMatch(/at most 512/);
  });
});
