// Component tests of ConfigView with real store actions against a fake NodeApi: the key tree,
// JSON and YAML validation that blocks saving, the diff before saving, compare-and-set at the
// shown revision, a conflict shown with both versions and resolved by reload or overwrite, new
// keys, and the settings editor.

import { flushPromises, type VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionSummary } from '../../../core/api/contract.ts';
import type { KvItem } from '../../../core/api/clientProtocol.ts';
import { ApiRequestError, setNodeApi } from '../../../renderer/services/nodeApi.ts';
import { useConfigStore } from '../../../renderer/stores/config.ts';
import ConfigView from '../../../renderer/views/ConfigView.vue';
import { connection, fakeNodeApi, type FakeNodeApi } from './fixtures.ts';
import { mountWithStores } from './mountHelpers.ts';

const byId = (id: string): string => `[data-testid="${id}"]`;
const mounted: VueWrapper[] = [];
const item = (key: string, value: string, revision: number): KvItem => ({ key, value, revision, createRevision: 2, version: 3 });

afterEach(() => {
  while (mounted.length > 0) mounted.pop()?.unmount();
  setNodeApi(null);
});

const limitsJson = '{\n  "max": 5,\n  "burst": 10\n}\n';

function configApi(overrides: Parameters<typeof fakeNodeApi>[0] = {}): FakeNodeApi {
  const items = [item('/config/app/limits.json', limitsJson, 10), item('/config/app/db.url', 'pg://a', 4), item('/flags/dark-mode', 'true', 7)];
  return fakeNodeApi({
    kvList: async () => ({ items, revision: 12, truncated: false }),
    kvGet: async ({ key }) => ({ item: items.find((i) => i.key === key) ?? null, revision: 12 }),
    kvHistory: async () => ({ changes: [{ type: 'put', key: '/config/app/limits.json', value: limitsJson, prevValue: '{"max": 4}', revision: 10 }], since: 3 }),
    getSettings: async () => ({ settings: { lockDelayMs: 10_000, stuckAfterMs: 300_000 } }),
    kvPut: async ({ key, value }) => ({ item: item(key, value, 13) }),
    setSettings: async ({ patch }) => ({ settings: { lockDelayMs: 10_000, stuckAfterMs: 300_000, ...patch } }),
    ...overrides,
  });
}

async function mountConfig(api: FakeNodeApi, conn: ConnectionSummary = connection({ id: 'c1', state: 'open', role: 'admin' })) {
  setNodeApi(api);
  const { wrapper } = await mountWithStores(ConfigView, { connections: [conn] }, { route: '/clusters/c1/config', props: { id: 'c1' }, realActions: true });
  mounted.push(wrapper as VueWrapper);
  await flushPromises();
  return wrapper;
}

async function selectKey(wrapper: VueWrapper, key: string): Promise<void> {
  await wrapper.get(`${byId(`kv-node-${key}`)} .label`).trigger('click');
  await flushPromises();
}

describe('ConfigView: tree and editor', () => {
  it('shows the namespace as a tree of folders and keys, fully open when small', async () => {
    const wrapper = await mountConfig(configApi());
    expect(wrapper.find(byId('kv-tree')).exists()).toBe(true);
    expect(wrapper.get(byId('kv-node-/config')).attributes('data-key')).toBe('false');
    expect(wrapper.get(byId('kv-node-/config/app')).attributes('aria-expanded')).toBe('true');
    expect(wrapper.get(byId('kv-node-/config/app/limits.json')).attributes('data-key')).toBe('true');
    await wrapper.get(byId('kv-toggle-/config/app')).trigger('click');
    expect(wrapper.find(byId('kv-node-/config/app/limits.json')).exists()).toBe(false);
    expect(wrapper.get(byId('kv-count')).text()).toBe('3 keys');
  });

  it('opens the key named in the address, and puts the selected key there', async () => {
    setNodeApi(configApi());
    const { wrapper, router } = await mountWithStores(ConfigView, { connections: [connection({ id: 'c1', state: 'open', role: 'admin' })] }, { route: '/clusters/c1/config?key=/flags/dark-mode', props: { id: 'c1' }, realActions: true });
    mounted.push(wrapper as VueWrapper);
    await flushPromises();
    expect(wrapper.get(byId('kv-panel')).attributes('data-key')).toBe('/flags/dark-mode');
    await selectKey(wrapper as VueWrapper, '/config/app/db.url');
    await flushPromises();
    expect(router.currentRoute.value.query.key).toBe('/config/app/db.url');
  });

  it('opens a key with its value, revision, guessed format and history', async () => {
    const wrapper = await mountConfig(configApi());
    await selectKey(wrapper, '/config/app/limits.json');
    expect((wrapper.get(byId('kv-editor')).element as HTMLTextAreaElement).value).toBe(limitsJson);
    expect(wrapper.get(byId('kv-revision')).attributes('data-revision')).toBe('10');
    expect((wrapper.get(byId('kv-format')).element as HTMLSelectElement).value).toBe('json');
    expect(wrapper.get(byId('kv-save')).attributes('disabled')).toBeDefined();
    expect(wrapper.get(byId('kv-history-entry')).attributes('data-revision')).toBe('10');
  });

  it('blocks saving invalid JSON and invalid YAML, with the problem and its line', async () => {
    const wrapper = await mountConfig(configApi());
    await selectKey(wrapper, '/config/app/limits.json');
    await wrapper.get(byId('kv-editor')).setValue('{\n  "max": 6,\n}\n');
    expect(wrapper.get(byId('kv-error')).text()).toMatch(/^JSON: /);
    expect(wrapper.get(byId('kv-error')).attributes('data-line')).toBe('3');
    expect(wrapper.get(byId('kv-save')).attributes('disabled')).toBeDefined();
    await wrapper.get(byId('kv-format')).setValue('yaml');
    await wrapper.get(byId('kv-editor')).setValue('max: [6\nburst: 10\n');
    expect(wrapper.get(byId('kv-error')).text()).toMatch(/^YAML: /);
    expect(wrapper.get(byId('kv-save')).attributes('disabled')).toBeDefined();
    await wrapper.get(byId('kv-editor')).setValue('max: 6\nburst: 10\n');
    expect(wrapper.find(byId('kv-error')).exists()).toBe(false);
    expect(wrapper.get(byId('kv-save')).attributes('disabled')).toBeUndefined();
    await wrapper.get(byId('kv-format')).setValue('text');
    await wrapper.get(byId('kv-editor')).setValue('{ anything');
    expect(wrapper.get(byId('kv-save')).attributes('disabled')).toBeUndefined();
  });

  it('shows the diff before saving, then saves with compare-and-set at the shown revision', async () => {
    const api = configApi();
    const wrapper = await mountConfig(api);
    await selectKey(wrapper, '/config/app/limits.json');
    const next = limitsJson.replace('"max": 5', '"max": 6');
    await wrapper.get(byId('kv-editor')).setValue(next);
    const diff = wrapper.get(byId('kv-diff'));
    const lines = diff.findAll(byId('diff-line')).map((l) => `${l.attributes('data-kind')}:${l.text().replace(/^\d*\s*\d*\s*/, '')}`);
    expect(lines.filter((l) => !l.startsWith('same'))).toEqual(['del:−  "max": 5,', 'add:+  "max": 6,']);
    expect(diff.get(byId('diff-summary')).text()).toContain('+1');
    await wrapper.get(byId('kv-save')).trigger('click');
    await flushPromises();
    expect(api.kvPut).toHaveBeenCalledWith({ connectionId: 'c1', key: '/config/app/limits.json', value: next, expectRevision: 10 });
    expect(wrapper.get(byId('kv-saved')).text()).toContain('revision 13');
    expect(wrapper.get(byId('kv-revision')).attributes('data-revision')).toBe('13');
    expect(wrapper.find(byId('kv-diff')).exists()).toBe(false);
  });

  it('shows a compare-and-set conflict with both versions, and overwrites only when asked', async () => {
    const theirs = item('/config/app/db.url', 'pg://theirs', 9);
    const api = configApi({ kvPut: vi.fn(async () => Promise.reject(new ApiRequestError('CasConflict', 'the key is at revision 9, not 4', theirs))) });
    const wrapper = await mountConfig(api);
    await selectKey(wrapper, '/config/app/db.url');
    await wrapper.get(byId('kv-editor')).setValue('pg://mine');
    await wrapper.get(byId('kv-save')).trigger('click');
    await flushPromises();
    const conflict = wrapper.get(byId('kv-conflict'));
    expect(conflict.get(byId('kv-conflict-mine')).text()).toBe('pg://mine');
    expect(conflict.get(byId('kv-conflict-theirs')).text()).toBe('pg://theirs');
    expect(conflict.get(byId('kv-conflict-theirs')).attributes('data-revision')).toBe('9');
    expect(conflict.text()).toContain('based on revision 4');
    expect(wrapper.get(byId('kv-save')).attributes('disabled')).toBeDefined();
    expect(api.kvPut).toHaveBeenCalledTimes(1);

    vi.mocked(api.kvPut).mockResolvedValueOnce({ item: item('/config/app/db.url', 'pg://mine', 14) });
    await wrapper.get(byId('kv-conflict-overwrite')).trigger('click');
    await flushPromises();
    expect(api.kvPut).toHaveBeenLastCalledWith({ connectionId: 'c1', key: '/config/app/db.url', value: 'pg://mine', expectRevision: 9 });
    expect(wrapper.find(byId('kv-conflict')).exists()).toBe(false);
    expect(wrapper.get(byId('kv-revision')).attributes('data-revision')).toBe('14');
  });

  it('reload after a conflict discards the edit and shows their version', async () => {
    const theirs = item('/config/app/db.url', 'pg://theirs', 9);
    const wrapper = await mountConfig(configApi({ kvPut: async () => Promise.reject(new ApiRequestError('CasConflict', 'changed', theirs)) }));
    await selectKey(wrapper, '/config/app/db.url');
    await wrapper.get(byId('kv-editor')).setValue('pg://mine');
    await wrapper.get(byId('kv-save')).trigger('click');
    await flushPromises();
    await wrapper.get(byId('kv-conflict-reload')).trigger('click');
    expect((wrapper.get(byId('kv-editor')).element as HTMLTextAreaElement).value).toBe('pg://theirs');
    expect(wrapper.get(byId('kv-revision')).attributes('data-revision')).toBe('9');
    expect(wrapper.find(byId('kv-conflict')).exists()).toBe(false);
  });

  it('warns when a pushed change overtakes an edit in progress, and keeps the edit', async () => {
    const wrapper = await mountConfig(configApi());
    await selectKey(wrapper, '/config/app/db.url');
    await wrapper.get(byId('kv-editor')).setValue('pg://mine');
    useConfigStore().applyChanges({ connectionId: 'c1', events: [{ type: 'put', key: '/config/app/db.url', value: 'pg://cli', prevValue: 'pg://a', revision: 20 }] });
    await flushPromises();
    expect(wrapper.get(byId('kv-stale')).text()).toContain('revision 20');
    expect((wrapper.get(byId('kv-editor')).element as HTMLTextAreaElement).value).toBe('pg://mine');
    expect(wrapper.get(byId('kv-revision')).attributes('data-revision')).toBe('4');
  });

  it('creates a new key with expectRevision 0, refusing a malformed name', async () => {
    const api = configApi();
    const wrapper = await mountConfig(api);
    await wrapper.get(byId('kv-new-key')).trigger('click');
    await wrapper.get(byId('kv-new-key-name')).setValue('config/no-slash');
    await wrapper.get(byId('kv-new-key-create')).trigger('submit');
    expect(wrapper.get(byId('kv-new-key-error')).text()).toMatch(/looks like/);
    await wrapper.get(byId('kv-new-key-name')).setValue('/config/app/new.flag');
    await wrapper.get('form.new-key').trigger('submit');
    await flushPromises();
    expect(wrapper.get(byId('kv-revision')).text()).toBe('new key');
    await wrapper.get(byId('kv-editor')).setValue('on');
    await wrapper.get(byId('kv-save')).trigger('click');
    await flushPromises();
    expect(api.kvPut).toHaveBeenCalledWith({ connectionId: 'c1', key: '/config/app/new.flag', value: 'on', expectRevision: 0 });
    expect(wrapper.get(byId('kv-node-/config/app/new.flag')).attributes('data-key')).toBe('true');
  });

  it('disables editing for a reader token and on a read-only connection', async () => {
    const wrapper = await mountConfig(configApi(), connection({ id: 'c1', state: 'open', role: 'reader' }));
    await selectKey(wrapper, '/config/app/db.url');
    await wrapper.get(byId('kv-editor')).setValue('pg://b');
    expect(wrapper.get(byId('kv-save')).attributes('disabled')).toBeDefined();
    expect(wrapper.get(byId('kv-blocked')).text()).toMatch(/reader role/);
    expect(wrapper.get(byId('settings-blocked')).text()).toMatch(/admin token/);
  });
});

describe('ConfigView: cluster settings', () => {
  it('edits the settings as JSON, shows the change and sends only the patch', async () => {
    const api = configApi();
    const wrapper = await mountConfig(api);
    const text = wrapper.get(byId('settings-text'));
    expect(JSON.parse((text.element as HTMLTextAreaElement).value)).toEqual({ lockDelayMs: 10_000, stuckAfterMs: 300_000 });
    expect(wrapper.get(byId('settings-save')).attributes('disabled')).toBeDefined();
    await text.setValue('{ "lockDelayMs": 10000, "stuckAfterMs": ');
    expect(wrapper.get(byId('settings-error')).text()).toMatch(/JSON/);
    expect(wrapper.get(byId('settings-save')).attributes('disabled')).toBeDefined();
    await text.setValue('{ "lockDelayMs": 10000 }');
    expect(wrapper.get(byId('settings-error')).text()).toContain('cannot be removed');
    await text.setValue('{\n  "lockDelayMs": 10000,\n  "stuckAfterMs": 2000\n}\n');
    expect(wrapper.get(byId('settings-changes')).text()).toContain('stuckAfterMs');
    expect(wrapper.get(byId('settings-diff')).findAll('[data-kind="add"]')).toHaveLength(1);
    await wrapper.get(byId('settings-save')).trigger('click');
    await flushPromises();
    expect(api.setSettings).toHaveBeenCalledWith({ connectionId: 'c1', patch: { stuckAfterMs: 2000 } });
    expect(wrapper.find(byId('settings-saved')).exists()).toBe(true);
    expect(JSON.parse((wrapper.get(byId('settings-text')).element as HTMLTextAreaElement).value).stuckAfterMs).toBe(2000);
  });
});
