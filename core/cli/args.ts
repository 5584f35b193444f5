// Small helpers shared by CLI commands: option parsing errors and endpoint resolution (which
// reads the CA file when one is named).

import { readFileSync } from 'node:fs';

/** UsageError is a mistake in how the command was called; the CLI exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * resolveTarget resolves --endpoints/--token/--ca or WARDEN_ENDPOINTS/WARDEN_TOKEN/WARDEN_CA
 * (a PEM file of the CA that signed the nodes' certificates, for wss:// endpoints).
 */
export function resolveTarget(values: { endpoints?: string | undefined; token?: string | undefined; ca?: string | undefined }, env: NodeJS.ProcessEnv): { endpoints: string[]; token: string; ca?: string } {
  const raw = values.endpoints ?? env.WARDEN_ENDPOINTS;
  const token = values.token ?? env.WARDEN_TOKEN;
  if (!raw) throw new UsageError('no endpoints: pass --endpoints ws://host:port/client[,...] or set WARDEN_ENDPOINTS');
  if (!token) throw new UsageError('no token: pass --token T or set WARDEN_TOKEN');
  const endpoints = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of endpoints) if (!/^wss?:\/\/[^/]+\/client$/.test(e)) throw new UsageError(`endpoint ${JSON.stringify(e)} must look like ws://host:port/client`);
  const caPath = values.ca ?? env.WARDEN_CA;
  if (caPath === undefined) return { endpoints, token };
  try {
    return { endpoints, token, ca: readFileSync(caPath, 'utf8') };
  } catch (err) {
    throw new UsageError(`cannot read the CA file ${caPath}: ${(err as Error).message}`);
  }
}

/** parseIntOption parses an integer option with bounds. */
export function parseIntOption(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be from ${min} to ${max}`);
  return n;
}
