/**
 * The operations log: one JSON object per line, `{"time","level","msg",…fields}`, with a fixed
 * message and the variable parts as fields (docs/adr/0012). Logs are for operating the mirrors;
 * what a command reports to its user stays the CLI's printed output.
 */

export type Level = 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;

/** Where lines go: anything with `write(line)`. `process.stderr` (the default) writes in order. */
export type LogStream = { write(line: string): unknown };

export interface Logger {
  /** The lowest level written; `silent` writes nothing. */
  readonly level: Level | 'silent';
  enabled(level: Level): boolean;
  /** `msg` is fixed text (`request failed`), never interpolated: what varies goes in `fields`. */
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose every line carries `fields` (a call's own fields win over them). */
  child(fields: Fields): Logger;
}

export type LoggerOptions = { level?: Level | 'silent'; stream?: LogStream; fields?: Fields };

const RANK: Record<Level | 'silent', number> = { info: 30, warn: 40, error: 50, silent: Infinity };

/** Keys the line itself owns; a field of that name is written as `_time`, `_level`, `_msg`. */
const RESERVED: ReadonlySet<string> = new Set(['time', 'level', 'msg']);

/** A logger writing to `stream` (default stderr). A disabled level returns before any work. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const stream = options.stream ?? process.stderr;
  const bound = options.fields ?? {};
  const threshold = RANK[level];
  const at = (lvl: Level) => (msg: string, fields?: Fields): void => {
    if (RANK[lvl] < threshold) return;
    stream.write(formatLine(lvl, msg, fields ? { ...bound, ...fields } : bound));
  };
  return {
    level,
    enabled: (lvl) => RANK[lvl] >= threshold,
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => createLogger({ level, stream, fields: { ...bound, ...fields } }),
  };
}

/**
 * One line: `time`, `level` and `msg` first and never overwritten, then the fields. JSON escapes
 * every control character, so hostile text (a path with a newline) cannot start a second line.
 * Never throws: what JSON cannot hold (a bigint, a cycle) is written as text.
 */
export function formatLine(level: Level, msg: string, fields: Fields): string {
  const line: Fields = { time: new Date().toISOString(), level, msg };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    line[RESERVED.has(key) ? `_${key}` : key] = value instanceof Error ? errorFields(value) : value;
  }
  try {
    return `${JSON.stringify(line)}\n`;
  } catch {
    try {
      return `${JSON.stringify(line, safe())}\n`;
    } catch (err) {
      return `${JSON.stringify({ time: line.time, level, msg, logError: `fields not serializable: ${String((err as Error)?.message)}` })}\n`;
    }
  }
}

/** What JSON.stringify refuses: a bigint becomes its digits, a cycle `[circular]`. */
function safe(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return '[circular]';
    seen.add(value);
    return value;
  };
}

function errorFields(err: Error): Fields {
  const code = (err as NodeJS.ErrnoException).code;
  return { name: err.name, message: err.message, ...(code ? { code } : {}) };
}

/** The process's log: JSON lines on stderr from `info` up. */
export const log: Logger = createLogger();
