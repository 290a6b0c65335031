/**
 * Where mirror content may live. A sync writes `<data>/npm/…`, `<data>/.offline.lock` and more,
 * so `/`, a file, or a pseudo file system (`/proc`, `/sys`, `/dev`, cgroups) is refused before
 * anything is written there: on `/proc` a recursive mkdir spins forever.
 */
import { realpath, stat, statfs } from 'node:fs/promises';
import { dirname, sep } from 'node:path';

// statfs(2) f_type of file systems that hold no files a mirror could keep (linux/magic.h).
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x1cd1, 'devpts'], [0x27e0eb, 'cgroup'], [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'], [0x74726163, 'tracefs'], [0x73636673, 'securityfs'], [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'], [0x62656570, 'configfs'], [0xde5e81e4, 'efivarfs'], [0xf97cff8c, 'selinuxfs'],
  [0x65735543, 'fusectl'], [0x19800202, 'mqueue'], [0x42494e4d, 'binfmt_misc'], [0x6e736673, 'nsfs'],
]);

// Mount points of kernel interfaces, refused by name too: /dev is a devtmpfs, which statfs
// reports as plain tmpfs.
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

/**
 * Why `dir` (absolute) cannot be the data directory, in one line, or undefined when it can. It
 * need not exist yet: its nearest existing ancestor is what is checked then.
 */
export async function dataDirProblem(dir: string): Promise<string | undefined> {
  if (dir === sep) return 'must not be / (a sync writes npm/, pypi/ … and its lock file there): choose a directory such as ./mirrors';
  const existing = await nearestExisting(dir);
  const real = await realpath(existing.path).catch(() => existing.path);
  if (real === sep && existing.path === dir) return `${dir} is / itself: choose a directory such as ./mirrors`;
  if (existing.path === dir && !existing.isDirectory) return `${dir} is a file, not a directory`;
  if (existing.path !== dir && !existing.isDirectory) return `${dir} cannot be created: ${existing.path} is a file`;
  const root = PSEUDO_ROOTS.find((r) => real === r || real.startsWith(`${r}${sep}`));
  if (root) return `${dir} is on ${root}, a kernel interface, not storage: choose a directory such as ./mirrors`;
  const fs = await statfs(existing.path).then((s) => PSEUDO_FS.get(Number(s.type))).catch(() => undefined);
  if (fs) return `${dir} is on a ${fs} file system, not storage: choose a directory such as ./mirrors`;
  return undefined;
}

async function nearestExisting(dir: string): Promise<{ path: string; isDirectory: boolean }> {
  for (let path = dir; ; path = dirname(path)) {
    const info = await stat(path).catch(() => undefined);
    if (info) return { path, isDirectory: info.isDirectory() };
    if (dirname(path) === path) return { path, isDirectory: true };
  }
}
