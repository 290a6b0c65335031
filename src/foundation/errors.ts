/**
 * The error hierarchy. Every error a user can meet has a stable `code` (like undici's
 * `UND_ERR_*`) so scripts, the CLI and the HTTP API can branch on it, and a message that says
 * what went wrong and what to do next. Anything that is not an `OfflineError` is a bug and is
 * printed with its stack.
 */
export type ErrorCode =
  | 'OFFLINE_ERR_CONFIG'
  | 'OFFLINE_ERR_INPUT'
  | 'OFFLINE_ERR_UPSTREAM'
  | 'OFFLINE_ERR_INTEGRITY'
  | 'OFFLINE_ERR_LOCKED'
  | 'OFFLINE_ERR_COMMAND'
  | 'OFFLINE_ERR_SERVE'
  | 'OFFLINE_ERR_RESOLVE'
  | 'OFFLINE_ERR_NETWORK'
  | 'OFFLINE_ERR_UNSAFE'
  | 'OFFLINE_ERR_TOO_LARGE'
  | 'OFFLINE_ERR_TIMEOUT'
  | 'OFFLINE_ERR_MISSING'
  | 'OFFLINE_ERR_REQUEST'
  | 'OFFLINE_ERR_UNAUTHORIZED'
  | 'OFFLINE_ERR_FORBIDDEN'
  | 'OFFLINE_ERR_NOT_FOUND';

export class OfflineError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem in the user's configuration, with the path of the key it concerns. */
export type ConfigIssue = { path: string; message: string };

/** The config file is missing, unreadable or invalid; `issues` lists every problem at once. */
export class ConfigError extends OfflineError {
  readonly file: string;
  readonly issues: ConfigIssue[];
  constructor(file: string, issues: ConfigIssue[]) {
    const lines = issues.map((i) => `  ${i.path ? `${i.path}: ` : ''}${i.message}`);
    super('OFFLINE_ERR_CONFIG', `${file}: invalid configuration\n${lines.join('\n')}`);
    this.file = file;
    this.issues = issues;
  }
}

/** An input file the config names (a lockfile, a requirements file) cannot be read or parsed. */
export class InputError extends OfflineError {
  readonly file: string;
  readonly entry: string | undefined;
  constructor(file: string, entry: string | undefined, message: string, options?: { cause?: unknown }) {
    super('OFFLINE_ERR_INPUT', `${file}${entry ? `: ${entry}` : ''}: ${message}`, options);
    this.file = file;
    this.entry = entry;
  }
}

/** An upstream answered with an unusable status, or could not be reached. */
export class UpstreamError extends OfflineError {
  readonly url: string;
  readonly status: number | undefined;
  constructor(url: string, status: number | undefined, message: string, options?: { cause?: unknown }) {
    super('OFFLINE_ERR_UPSTREAM', `${message} (${status ? `HTTP ${status} from ` : ''}${url})`, options);
    this.url = url;
    this.status = status;
  }
}

/** Downloaded bytes do not match the digest the index or lockfile promised; nothing was stored. */
export class IntegrityError extends OfflineError {
  readonly url: string;
  readonly expected: string;
  readonly actual: string;
  constructor(url: string, expected: string, actual: string) {
    super('OFFLINE_ERR_INTEGRITY', `integrity mismatch for ${url}: expected ${expected}, got ${actual}; the file was not stored`);
    this.url = url;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Another process holds the data directory. */
export class LockedError extends OfflineError {
  constructor(message: string) {
    super('OFFLINE_ERR_LOCKED', message);
  }
}

/** What the user asked for cannot be resolved (no such package, no version satisfies a range). */
export class ResolveError extends OfflineError {
  constructor(message: string) {
    super('OFFLINE_ERR_RESOLVE', message);
  }
}

/** A park build needs what the mirrors do not have (a base image not in docker.images); nothing was built. */
export class MissingError extends OfflineError {
  readonly missing: string[];
  constructor(what: string, missing: string[]) {
    super('OFFLINE_ERR_MISSING', `${what} needs what the mirrors do not have; nothing was built:\n  ${missing.join('\n  ')}`);
    this.missing = missing;
  }
}

/** A mirror could not start serving (address not on this machine, port taken). */
export class ServeError extends OfflineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OFFLINE_ERR_SERVE', message, options);
  }
}

/** `offline up`/`down` cannot proceed: not root, Docker down, an address or subnet collision. */
export class NetworkError extends OfflineError {
  constructor(message: string) {
    super('OFFLINE_ERR_NETWORK', message);
  }
}

/** An external command failed. */
export class CommandError extends OfflineError {
  readonly argv: string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(argv: string[], exitCode: number | null, stderr: string) {
    super('OFFLINE_ERR_COMMAND', `${argv.join(' ')} exited with ${exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    this.argv = argv;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/**
 * A name, path or digest from outside — an upstream's metadata, a lockfile, a request — that would
 * lead out of the mirror, or is not the kind of name it claims to be. Nothing was read or written.
 */
export class UnsafeInputError extends OfflineError {
  readonly value: string;
  constructor(what: string, value: string, why: string) {
    super('OFFLINE_ERR_UNSAFE', `refused ${what} ${JSON.stringify(value)}: ${why}`);
    this.value = value;
  }
}

/** A document or a decompressed stream is larger than its limit (`limits.*` in the config). */
export class TooLargeError extends OfflineError {
  readonly limit: number;
  constructor(what: string, limit: number, key: string) {
    super('OFFLINE_ERR_TOO_LARGE', `${what} is larger than ${formatLimit(limit)} (${key}); raise ${key} in the config if it is genuine`);
    this.limit = limit;
  }
}

/** Work that has a time limit ran past it: a file's download, an external command. */
export class TimeLimitError extends OfflineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OFFLINE_ERR_TIMEOUT', message, options);
  }
}

/** A request to the controller's API is malformed: a body or parameter it does not take. */
export class RequestError extends OfflineError {
  constructor(message: string) {
    super('OFFLINE_ERR_REQUEST', message);
  }
}

/** A request to the controller without its token (or with another one). */
export class UnauthorizedError extends OfflineError {
  constructor(message: string) {
    super('OFFLINE_ERR_UNAUTHORIZED', message);
  }
}

/** The controller may not do what was asked here (it runs as a user who cannot write the data). */
export class ForbiddenError extends OfflineError {
  constructor(message: string) {
    super('OFFLINE_ERR_FORBIDDEN', message);
  }
}

/** What a request names does not exist (a route, a sync the controller no longer keeps). */
export class NotFoundError extends OfflineError {
  constructor(message: string) {
    super('OFFLINE_ERR_NOT_FOUND', message);
  }
}

function formatLimit(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}

export function isOfflineError(err: unknown): err is OfflineError {
  return err instanceof OfflineError;
}

/** A one-line description of any thrown value, for reports. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
