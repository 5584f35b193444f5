// Pure. Client-side checks of the console's two forms, mirroring core/api/validate.ts so the
// operator sees a field's problem next to the field before anything is sent. The backend still
// validates everything; these rules only make its refusals rare.

import type { LaunchLocalRequest, SaveConnectionRequest } from '../../core/api/contract.ts';
import type { LIMITS } from '../../core/api/validate.ts';

/** limits copies the backend's LIMITS; its type is the backend's, so drift fails tsc. */
export const limits: typeof LIMITS = {
  nameChars: 100,
  groupChars: 60,
  endpoints: 16,
  endpointChars: 500,
  tokenChars: 4096,
  caChars: 64 * 1024,
  importChars: 1024 * 1024,
  datacenters: 5,
  votersPerDatacenter: 5,
  nodes: 9,
  latencyMs: 2000,
  idChars: 100,
  lockNameChars: 1024,
  keyChars: 1024,
  lockPage: 1000,
  reasonChars: 500,
  valueBytes: 256 * 1024,
  patchBytes: 64 * 1024,
  eventPage: 10_000,
};

/** FieldErrors maps a form field to the sentence shown under it. */
export type FieldErrors<F extends string> = Partial<Record<F, string>>;

/** Checked is a request ready to send, or the errors that stop it. */
export type Checked<T, F extends string> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: FieldErrors<F> };

/** LaunchFields is the launch form as typed: text, because inputs hold text. */
export interface LaunchFields {
  readonly name: string;
  readonly dcs: number;
  readonly layout: readonly string[];
  readonly latencyMs: string;
}

/** LaunchField names the launch form's fields that can carry an error. */
export type LaunchField = 'name' | 'dcs' | 'layout' | 'latencyMs';

function wholeNumber(text: string): number | null {
  const trimmed = text.trim();
  return /^\d+$/.test(trimmed) ? Number(trimmed) : null;
}

/** checkLaunch turns the launch form into a LaunchLocalRequest or names what is wrong. */
export function checkLaunch(fields: LaunchFields): Checked<LaunchLocalRequest, LaunchField> {
  const errors: FieldErrors<LaunchField> = {};
  const name = fields.name.trim();
  if (name.length > limits.nameChars) errors.name = `at most ${limits.nameChars} characters`;
  const dcs = fields.dcs;
  if (!Number.isInteger(dcs) || dcs < 1 || dcs > limits.datacenters) errors.dcs = `choose 1 to ${limits.datacenters} datacenters`;
  const layout: number[] = [];
  for (let i = 0; i < fields.layout.length; i++) {
    const n = wholeNumber(fields.layout[i] ?? '');
    if (n === null || n < 1 || n > limits.votersPerDatacenter) {
      errors.layout = `datacenter ${i + 1} needs 1 to ${limits.votersPerDatacenter} nodes`;
      break;
    }
    layout.push(n);
  }
  if (errors.layout === undefined && errors.dcs === undefined) {
    if (layout.length !== dcs) errors.layout = `give a node count for each of the ${dcs} datacenters`;
    const total = layout.reduce((a, b) => a + b, 0);
    if (total > limits.nodes) errors.layout = `at most ${limits.nodes} nodes in all; this layout has ${total}`;
  }
  let wanLatencyMs: number | undefined;
  if (fields.latencyMs.trim() !== '') {
    const ms = wholeNumber(fields.latencyMs);
    if (ms === null || ms > limits.latencyMs) errors.latencyMs = `a whole number of milliseconds from 0 to ${limits.latencyMs}, or empty for the default matrix`;
    else wanLatencyMs = ms;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const request: { -readonly [K in keyof LaunchLocalRequest]: LaunchLocalRequest[K] } = { dcs, layout };
  if (name !== '') request.name = name;
  if (wanLatencyMs !== undefined) request.wanLatencyMs = wanLatencyMs;
  return { ok: true, value: request };
}

/** ConnectFields is the connect form as typed. */
export interface ConnectFields {
  /** Set when editing a saved connection. */
  readonly id: string | null;
  readonly name: string;
  readonly group: string;
  /** One endpoint per line. */
  readonly endpoints: string;
  readonly token: string;
  readonly ca: string;
  /** Editing only: drop the saved CA. */
  readonly removeCa: boolean;
  readonly readOnly: boolean;
}

/** ConnectField names the connect form's fields that can carry an error. */
export type ConnectField = 'name' | 'group' | 'endpoints' | 'token' | 'ca';

/** endpointProblem says what is wrong with one endpoint line, or null when it is usable. */
export function endpointProblem(line: string): string | null {
  if (line.length > limits.endpointChars) return `is longer than ${limits.endpointChars} characters`;
  let url: URL;
  try {
    url = new URL(line);
  } catch {
    return 'is not a URL (expected ws://host:port/client)';
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return `must start with ws:// or wss://, not ${url.protocol}//`;
  if (url.hostname === '') return 'has no host';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials; put the token in the token field';
  return null;
}

/** splitEndpoints reads the endpoints box: one URL per line, blanks ignored. */
export function splitEndpoints(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** checkConnect turns the connect form into a SaveConnectionRequest or names what is wrong. */
export function checkConnect(fields: ConnectFields): Checked<SaveConnectionRequest, ConnectField> {
  const errors: FieldErrors<ConnectField> = {};
  const name = fields.name.trim();
  if (name === '') errors.name = 'give the connection a name';
  else if (name.length > limits.nameChars) errors.name = `at most ${limits.nameChars} characters`;
  const group = fields.group.trim();
  if (group.length > limits.groupChars) errors.group = `at most ${limits.groupChars} characters`;
  const endpoints = splitEndpoints(fields.endpoints);
  if (endpoints.length === 0) errors.endpoints = 'give at least one node endpoint, e.g. ws://10.0.0.5:7001/client';
  else if (endpoints.length > limits.endpoints) errors.endpoints = `at most ${limits.endpoints} endpoints`;
  else {
    for (let i = 0; i < endpoints.length; i++) {
      const problem = endpointProblem(endpoints[i] as string);
      if (problem !== null) {
        errors.endpoints = `line ${i + 1} ${problem}`;
        break;
      }
    }
  }
  const token = fields.token.trim();
  if (token === '' && fields.id === null) errors.token = 'a token is required for a new connection';
  else if (/\s/.test(token)) errors.token = 'a token has no spaces or line breaks';
  else if (token.length > limits.tokenChars) errors.token = `at most ${limits.tokenChars} characters`;
  const ca = fields.ca.trim();
  if (ca !== '' && !ca.includes('-----BEGIN CERTIFICATE-----')) errors.ca = 'paste a PEM certificate (-----BEGIN CERTIFICATE----- ...)';
  else if (ca.length > limits.caChars) errors.ca = `at most ${limits.caChars / 1024} KiB`;
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  const request: { -readonly [K in keyof SaveConnectionRequest]: SaveConnectionRequest[K] } = { name, group, endpoints, readOnly: fields.readOnly };
  if (fields.id !== null) request.id = fields.id;
  if (token !== '') request.token = token;
  if (ca !== '') request.ca = `${ca}\n`;
  else if (fields.removeCa) request.ca = null;
  return { ok: true, value: request };
}
