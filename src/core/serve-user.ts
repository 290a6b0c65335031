/**
 * Mirrors never serve as root. Started by root (`sudo offline up`, `sudo offline serve`), they
 * bind their ports, then run as `user` from the config, else the owner of the data directory,
 * else `nobody` — and the data directory they serve from must not be writable by anyone else:
 * whoever can write it can make root's `offline down` act on what it names.
 */
import { access, constants, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config } from '../ecosystems/config.ts';
import { MIRRORS } from '../ecosystems/index.ts';
import { ServeError } from '../foundation/errors.ts';

export type ServeUser = { name: string; uid: number; gid: number };

type PasswdEntry = { name: string; uid: number; gid: number };

async function passwd(): Promise<PasswdEntry[]> {
  const text = await readFile('/etc/passwd', 'utf8').catch(() => '');
  return text.split('\n').flatMap((line) => {
    const [name, , uid, gid] = line.split(':');
    return name && uid && gid && /^\d+$/.test(uid) && /^\d+$/.test(gid) ? [{ name, uid: Number(uid), gid: Number(gid) }] : [];
  });
}

/**
 * The user the mirrors run as when started by root. @throws ServeError for a `user` that does
 * not exist or is root.
 */
export async function serveUser(config: Config): Promise<ServeUser> {
  const entries = await passwd();
  const byUid = (uid: number) => entries.find((e) => e.uid === uid);
  let user: ServeUser | undefined;
  if (config.user !== undefined) {
    const wanted = String(config.user);
    const entry = /^\d+$/.test(wanted) ? byUid(Number(wanted)) ?? { name: wanted, uid: Number(wanted), gid: Number(wanted) } : entries.find((e) => e.name === wanted);
    if (!entry) throw new ServeError(`${config.file}: user: no user named "${wanted}" in /etc/passwd`);
    user = entry;
  } else {
    const owner = await stat(config.data).then((s) => s.uid, () => 0);
    user = owner !== 0 ? byUid(owner) ?? { name: String(owner), uid: owner, gid: owner } : entries.find((e) => e.name === 'nobody') ?? { name: 'nobody', uid: 65534, gid: 65534 };
  }
  if (user.uid === 0) throw new ServeError(`${config.file}: user: the mirrors do not serve as root; name another user (the data directory's owner, or nobody)`);
  return user;
}

/**
 * Become `user` for good (groups, gid, then uid), then make sure it can read the data directory.
 * @throws ServeError saying what to change when it cannot.
 */
export async function dropPrivileges(user: ServeUser, data: string): Promise<void> {
  process.setgroups?.([user.gid]);
  process.setgid?.(user.gid);
  process.setuid?.(user.uid);
  try {
    await access(data, constants.R_OK | constants.X_OK);
  } catch {
    throw new ServeError(`the mirrors run as ${user.name} (uid ${user.uid}), who cannot read ${data}: make it readable (chmod -R a+rX) or set user: to its owner in the config`);
  }
}

/**
 * Why root should not serve `data` as `user`: a data directory or state file that anyone but root
 * and `user` can write (or replace, through a writable parent without the sticky bit), or a path
 * `user` cannot read. Empty when it is safe.
 */
export async function trustProblems(data: string, stateFile: string, user: ServeUser): Promise<string[]> {
  const problems: string[] = [];
  const trusted = (uid: number) => uid === 0 || uid === user.uid;
  const writableByOthers = (mode: number, gid: number) => (mode & 0o002) !== 0 || ((mode & 0o020) !== 0 && gid !== 0 && gid !== user.gid);
  for (const [path, what] of [[data, 'the data directory'], [stateFile, 'the state file']] as const) {
    const info = await stat(path).catch(() => undefined);
    if (!info) continue;
    if (!trusted(info.uid)) problems.push(`${what} ${path} belongs to uid ${info.uid}, neither root nor ${user.name}: chown it`);
    if (writableByOthers(info.mode, info.gid)) problems.push(`${what} ${path} is writable by others: chmod go-w ${path}`);
  }
  for (let dir = dirname(data); ; dir = dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (info) {
      if (!trusted(info.uid) || (writableByOthers(info.mode, info.gid) && (info.mode & 0o1000) === 0)) {
        problems.push(`${dir} can be changed by others, who could then replace ${data}: keep the data under directories only root and ${user.name} can write`);
      }
      if (!canSearch(info, user)) problems.push(`${user.name} cannot reach ${data}: ${dir} is not searchable by it (chmod a+x, move the data, or set user:)`);
    }
    if (dirname(dir) === dir) break;
  }
  const top = await stat(data).catch(() => undefined);
  if (top && !canRead(top, user)) problems.push(`${user.name} cannot read ${data}: chmod -R a+rX ${data}, or set user: to its owner`);
  for (const sub of MIRRORS.map((m) => m.name)) {
    const info = await stat(join(data, sub)).catch(() => undefined);
    if (info && !canRead(info, user)) problems.push(`${user.name} cannot read ${join(data, sub)}: chmod -R a+rX ${data}, or set user: to its owner`);
  }
  return problems;
}

function permits(info: { uid: number; gid: number; mode: number }, user: ServeUser, bits: number): boolean {
  const shift = info.uid === user.uid ? 6 : info.gid === user.gid ? 3 : 0;
  return ((info.mode >> shift) & bits) === bits;
}

function canSearch(info: { uid: number; gid: number; mode: number }, user: ServeUser): boolean {
  return permits(info, user, 0o1);
}

function canRead(info: { uid: number; gid: number; mode: number }, user: ServeUser): boolean {
  return permits(info, user, 0o5);
}
