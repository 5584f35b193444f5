// Pure. Small helpers shared by CLI commands: option parsing errors and endpoint resolution.

/** UsageError is a mistake in how the command was called; the CLI exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Endpoints resolves --endpoints/--token or WARDEN_ENDPOINTS/WARDEN_TOKEN. */
export function resolveTarget(values: { endpoints?: string | undefined; token?: string | undefined }, env: NodeJS.ProcessEnv): { endpoints: string[]; token: string } {
  const raw = values.endpoints ?? env.WARDEN_ENDPOINTS;
  const token = values.token ?? env.WARDEN_TOKEN;
  if (!raw) throw new UsageError('no endpoints: pass --endpoints ws://host:port/client[,...] or set WARDEN_ENDPOINTS');
  if (!token) throw new UsageError('no token: pass --token T or set WARDEN_TOKEN');
  const endpoints = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of endpoints) if (!/^wss?:\/\/[^/]+\/client$/.test(e)) throw new UsageError(`endpoint ${JSON.stringify(e)} must look like ws://host:port/client`);
  return { endpoints, token };
}

/** parseIntOption parses an integer option with bounds. */
export function parseIntOption(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be from ${min} to ${max}`);
  return n;
}
