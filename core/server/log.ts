// Effectful. Structured logs: one JSON object per line on stderr, with a level, a message and
// fields, so that logs of a local cluster can be merged and filtered by node.

/** LogLevel orders log severities. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Logger writes structured lines; `child` adds fixed fields such as the node id. */
export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** createLogger returns a logger that writes lines at or above `level` to `write`. */
export function createLogger(level: LogLevel, base: Record<string, unknown> = {}, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  return {
    log(at, msg, fields) {
      if (ORDER[at] < ORDER[level]) return;
      write(`${JSON.stringify({ ts: new Date().toISOString(), level: at, msg, ...base, ...fields })}\n`);
    },
    child(fields) {
      return createLogger(level, { ...base, ...fields }, write);
    },
  };
}

/** silentLogger drops everything (for tests that embed a node). */
export const silentLogger: Logger = { log() {}, child: () => silentLogger };
