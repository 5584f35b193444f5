// Pure. Checks a configuration value against the format the operator says it is in (text, JSON
// or YAML) before it may be saved, guesses the format of a stored value, and computes a cluster
// settings patch from an edited JSON document.

import { parseAllDocuments } from 'yaml';

/** ValueFormat is how the editor reads a value; the cluster itself stores plain strings. */
export type ValueFormat = 'text' | 'json' | 'yaml';

/** VALUE_FORMATS lists the formats for the selector, in its order. */
export const VALUE_FORMATS: readonly { readonly value: ValueFormat; readonly label: string }[] = [
  { value: 'text', label: 'Text' },
  { value: 'json', label: 'JSON' },
  { value: 'yaml', label: 'YAML' },
];

/** ValueCheck says whether a value may be saved, and if not, why and where. */
export type ValueCheck = { readonly ok: true } | { readonly ok: false; readonly message: string; readonly line: number | null };

/** utf8Bytes counts a string's UTF-8 bytes without an encoder, the way the backend limits it. */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * jsonErrorOffset finds where a text stops being JSON, by a strict recursive-descent scan. Engines
 * word JSON.parse errors differently and some give no position, so the editor locates the line
 * itself. Returns null for valid JSON.
 */
export function jsonErrorOffset(text: string): number | null {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = (): void => {
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail();
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else {
          i++;
          fail();
        }
      } else i++;
    }
    fail();
  };
  const number = (): void => {
    const pattern = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    pattern.lastIndex = i;
    const m = pattern.exec(text);
    if (!m) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return null;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

/** lineOf is the 1-based line of an offset in a text. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let k = 0; k < offset && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

/**
 * checkValue validates a value as `format`, within `maxBytes` of UTF-8. JSON must parse with
 * JSON.parse; YAML must parse without errors (several `---` documents are allowed); text is
 * anything.
 */
export function checkValue(text: string, format: ValueFormat, maxBytes: number): ValueCheck {
  const bytes = utf8Bytes(text);
  if (bytes > maxBytes) return { ok: false, message: `the value is ${bytes} bytes; the limit is ${maxBytes} bytes`, line: null };
  if (format === 'json') {
    if (text.trim() === '') return { ok: false, message: 'JSON: an empty value is not JSON (use text, or write null)', line: null };
    try {
      JSON.parse(text);
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err);
      const offset = jsonErrorOffset(text);
      return { ok: false, message: `JSON: ${message}`, line: offset === null ? null : lineOf(text, offset) };
    }
    return { ok: true };
  }
  if (format === 'yaml') {
    let documents: ReturnType<typeof parseAllDocuments>;
    try {
      documents = parseAllDocuments(text, { uniqueKeys: true });
    } catch (err) {
      return { ok: false, message: `YAML: ${err instanceof Error ? err.message : String(err)}`, line: null };
    }
    const list = Array.isArray(documents) ? documents : [];
    for (const doc of list) {
      const first = doc.errors[0];
      if (first) {
        const headline = first.message.split('\n')[0] ?? first.message;
        return { ok: false, message: `YAML: ${headline}`, line: first.linePos?.[0]?.line ?? null };
      }
    }
    return { ok: true };
  }
  return { ok: true };
}

/**
 * guessFormat picks the editor's initial format for a stored value: JSON when it parses as an
 * object or array, YAML when the key says so (.yaml, .yml), text otherwise. The operator can
 * always switch.
 */
export function guessFormat(key: string, value: string): ValueFormat {
  if (/\.ya?ml$/i.test(key)) return 'yaml';
  if (/\.json$/i.test(key)) return 'json';
  const trimmed = value.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      JSON.parse(trimmed);
      return 'json';
    } catch {
      return 'text';
    }
  }
  return 'text';
}

/** SettingsPatch is what changed in an edited settings document, or why it cannot be sent. */
export type SettingsPatchResult =
  | { readonly ok: true; readonly patch: Record<string, unknown>; readonly changed: readonly string[] }
  | { readonly ok: false; readonly message: string };

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b as object, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * settingsPatch compares the settings as read with the edited JSON and returns only the changed
 * top-level settings, the shape `setSettings` takes. A setting cannot be removed (the cluster
 * would not know what to fall back to), only changed.
 */
export function settingsPatch(current: Readonly<Record<string, unknown>>, editedJson: string): SettingsPatchResult {
  let edited: unknown;
  try {
    edited = JSON.parse(editedJson);
  } catch (err) {
    return { ok: false, message: `JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof edited !== 'object' || edited === null || Array.isArray(edited)) return { ok: false, message: 'the settings must be one JSON object' };
  const next = edited as Record<string, unknown>;
  const removed = Object.keys(current).filter((k) => !Object.hasOwn(next, k));
  if (removed.length > 0) return { ok: false, message: `settings cannot be removed, only changed: ${removed.join(', ')}` };
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) if (!Object.hasOwn(current, key) || !sameJson(current[key], value)) patch[key] = value;
  const changed = Object.keys(patch);
  if (changed.length === 0) return { ok: false, message: 'nothing changed' };
  return { ok: true, patch, changed };
}

/** prettyJson is the editor's view of a JSON document: two-space indent, keys in stored order. */
export function prettyJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
