/**
 * How a person reaches the controller (docs/adr/0016): its URL, and the token every API request
 * and the status page need, kept in `<data>/controller.token` (mode 600). `offline serve` and
 * `offline controller` make the token; `offline status` prints the URL with it.
 */
import { randomBytes } from 'node:crypto';
import { chown, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../ecosystems/config.ts';
import { writeFileAtomic } from '../foundation/atomic.ts';

const TOKEN_FILE = 'controller.token';
const TOKEN = /^[0-9a-f]{64}$/;

export function controllerTokenFile(data: string): string {
  return join(data, TOKEN_FILE);
}

/** The token, or undefined when the file is absent, unreadable (another user's) or not a token. */
export async function readControllerToken(data: string): Promise<string | undefined> {
  return parseToken(await readFile(controllerTokenFile(data), 'utf8').catch(() => undefined));
}

function parseToken(text: string | undefined): string | undefined {
  const token = text?.trim();
  return token && TOKEN.test(token) ? token : undefined;
}

/**
 * The controller's token: the one in `<data>/controller.token`, or a new one (32 random bytes,
 * hex) written atomically with mode 600 when there is none. Root starting the controller gives
 * the file to `owner`, the user it serves as, so that user's `offline status` can print the URL.
 * Idempotent: an existing token is kept (delete the file and restart to change it).
 * @throws the file system's error when the file cannot be read, or the data directory cannot be
 * written (read-only).
 */
export async function ensureControllerToken(data: string, owner?: { uid: number; gid: number }): Promise<string> {
  const file = controllerTokenFile(data);
  // Absent is made; unreadable is an error, never silently replaced by a new token.
  let token = parseToken(await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }));
  if (!token) {
    token = randomBytes(32).toString('hex');
    await writeFileAtomic(file, `${token}\n`, 0o600);
  }
  const info = owner ? await stat(file) : undefined;
  if (owner && (info!.uid !== owner.uid || info!.gid !== owner.gid)) await chown(file, owner.uid, owner.gid);
  return token;
}

/** `http://127.0.0.1:7070/`: where the controller of this config listens (`[::1]` for IPv6). */
export function controllerUrl(config: Pick<Config, 'controller'>, port = config.controller.port): string {
  const host = config.controller.listen;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}

/** The URL that opens the status page: the browser trades the token for a cookie at once. */
export function pageUrl(url: string, token: string): string {
  return `${url}?token=${token}`;
}
