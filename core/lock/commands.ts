// Pure. The commands Warden replicates through Raft, their binary encoding (UTF-8 JSON) and
// strict decoding. Every command carries the leader's timestamp (`stamp`), so that rules based
// on time give the same answer on every replica.

/** Command is one replicated operation on the lock and configuration state machine. */
export type Command =
  | { readonly op: 'kv.put'; readonly stamp: number; readonly key: string; readonly value: string; readonly expectRevision: number | null; readonly session: string | null }
  | { readonly op: 'kv.delete'; readonly stamp: number; readonly key: string; readonly expectRevision: number | null };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** encodeCommand serializes a command for a log entry. */
export function encodeCommand(command: Command): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/**
 * decodeCommand parses a log entry's payload. A payload that does not decode is applied as a
 * no-op with an error result (never a crash), so one bad entry cannot stop a replica.
 */
export function decodeCommand(data: Uint8Array): Command | { readonly op: 'invalid'; readonly error: string } {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return { op: 'invalid', error: 'payload is not UTF-8 JSON' };
  }
  if (typeof value !== 'object' || value === null) return { op: 'invalid', error: 'payload is not an object' };
  const v = value as Record<string, unknown>;
  if (typeof v.stamp !== 'number' || !Number.isFinite(v.stamp)) return { op: 'invalid', error: 'missing stamp' };
  const revision = v.expectRevision;
  if (revision !== null && !(Number.isSafeInteger(revision) && (revision as number) >= 0)) return { op: 'invalid', error: 'bad expectRevision' };
  switch (v.op) {
    case 'kv.put':
      if (typeof v.key !== 'string' || typeof v.value !== 'string') return { op: 'invalid', error: 'kv.put needs key and value' };
      if (v.session !== null && typeof v.session !== 'string') return { op: 'invalid', error: 'bad session' };
      return { op: 'kv.put', stamp: v.stamp, key: v.key, value: v.value, expectRevision: revision as number | null, session: v.session as string | null };
    case 'kv.delete':
      if (typeof v.key !== 'string') return { op: 'invalid', error: 'kv.delete needs key' };
      return { op: 'kv.delete', stamp: v.stamp, key: v.key, expectRevision: revision as number | null };
    default:
      return { op: 'invalid', error: `unknown op ${JSON.stringify(v.op)}` };
  }
}
