// Tests of lib/valueFormat.ts: JSON and YAML values are checked before save (with the line of
// the problem), sizes are counted in UTF-8, formats are guessed, and a settings edit becomes a
// patch of the changed settings only.

import { describe, expect, it } from 'vitest';
import { checkValue, guessFormat, jsonErrorOffset, settingsPatch, utf8Bytes } from '../../../renderer/lib/valueFormat.ts';

describe('checkValue', () => {
  it('accepts valid JSON and refuses invalid JSON with its line', () => {
    expect(checkValue('{"a": 1}', 'json', 1000)).toEqual({ ok: true });
    const bad = checkValue('{\n  "a": 1,\n  "b": \n}', 'json', 1000);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.message).toMatch(/^JSON: /);
      expect(bad.line).toBe(4);
    }
    expect(checkValue('', 'json', 1000).ok).toBe(false);
  });

  it('accepts valid YAML (several documents too) and refuses broken YAML with its line', () => {
    expect(checkValue('a: 1\nb: [1, 2]\n', 'yaml', 1000)).toEqual({ ok: true });
    expect(checkValue('a: 1\n---\nb: 2\n', 'yaml', 1000)).toEqual({ ok: true });
    const bad = checkValue('a: 1\nb: [1, 2\nc: 3\n', 'yaml', 1000);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toMatch(/^YAML: /);
    const dup = checkValue('a: 1\na: 2\n', 'yaml', 1000);
    expect(dup.ok).toBe(false);
    if (!dup.ok) expect(dup.line).toBe(2);
  });

  it('accepts any text, within the size limit counted in UTF-8 bytes', () => {
    expect(checkValue('{ not json', 'text', 1000)).toEqual({ ok: true });
    expect(utf8Bytes('é€😀')).toBe(2 + 3 + 4);
    const big = checkValue('€'.repeat(400), 'text', 1000);
    expect(big.ok).toBe(false);
    if (!big.ok) expect(big.message).toContain('1200 bytes');
  });
});

describe('jsonErrorOffset', () => {
  it('agrees with JSON.parse on what is valid, and points at the first bad character', () => {
    const samples = ['{}', '[]', '0', '-1.5e3', '"a\\u00e9"', '{"a":[1,{"b":null}],"c":true}', ' [ 1 , 2 ] ', '{', '[1,]', '{"a" 1}', '01', '"\u0001"', 'tru', '{"a":1}x', '', '-', '"\\x"'];
    for (const text of samples) {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      expect(jsonErrorOffset(text) === null, text).toBe(valid);
    }
    expect(jsonErrorOffset('[1,]')).toBe(3);
    expect(jsonErrorOffset('{"a" 1}')).toBe(5);
    expect(jsonErrorOffset('{"a":1}x')).toBe(7);
  });
});

describe('guessFormat', () => {
  it('guesses from the key, then from the value', () => {
    expect(guessFormat('/app/config.yaml', 'a: 1')).toBe('yaml');
    expect(guessFormat('/app/limits', ' {"a": 1} ')).toBe('json');
    expect(guessFormat('/app/limits', '{not json')).toBe('text');
    expect(guessFormat('/app/db.url', 'postgres://db/billing')).toBe('text');
  });
});

describe('settingsPatch', () => {
  const current = { lockDelayMs: 10_000, stuckAfterMs: 300_000, stuckAfterByPrefix: { 'billing/': 60_000 }, timeoutProfile: null };

  it('sends only the settings that changed', () => {
    const edited = JSON.stringify({ ...current, stuckAfterMs: 2_000, stuckAfterByPrefix: { 'billing/': 60_000 } });
    expect(settingsPatch(current, edited)).toEqual({ ok: true, patch: { stuckAfterMs: 2_000 }, changed: ['stuckAfterMs'] });
    const nested = JSON.stringify({ ...current, stuckAfterByPrefix: { 'billing/': 30_000 } });
    expect(settingsPatch(current, nested)).toMatchObject({ ok: true, patch: { stuckAfterByPrefix: { 'billing/': 30_000 } } });
  });

  it('refuses invalid JSON, a non-object, a removed setting, and no change', () => {
    expect(settingsPatch(current, '{')).toMatchObject({ ok: false });
    expect(settingsPatch(current, '[]')).toEqual({ ok: false, message: 'the settings must be one JSON object' });
    const { lockDelayMs: _dropped, ...rest } = current;
    expect(settingsPatch(current, JSON.stringify(rest))).toEqual({ ok: false, message: 'settings cannot be removed, only changed: lockDelayMs' });
    expect(settingsPatch(current, JSON.stringify(current))).toEqual({ ok: false, message: 'nothing changed' });
  });
});
