/**
 * Base images for park-build tests, made here from the host's own programs (no image is ever
 * pulled): busybox, plus chosen binaries with the libraries `ldd` names, plus trees and files. A
 * Python image carries Debian 12's python3.11 and pip 23.0.1 (the pip users have); an Arch-like
 * image carries this machine's pacman. Pushed to a local registry under Docker Hub names.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { copyInto, sharedLibraries } from './docker.ts';
import { skopeoOk } from './oci-registry.ts';
import { run } from './run.ts';

const BUSYBOX = '/bin/busybox';

export type RootfsSpec = {
  /** Host binaries copied to the same paths, with every library they load. */
  binaries?: string[];
  /** Host directories copied as they are (`tar --exclude` patterns). */
  trees?: Array<{ path: string; exclude?: string[] }>;
  /** Files written into the image by path (executable below a `bin/`). */
  files?: Record<string, string>;
  dirs?: string[];
  /** Symbolic links by path, to their targets. */
  links?: Record<string, string>;
  env?: Record<string, string>;
};

async function must(cmd: string, args: string[], opts: { input?: string } = {}): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 300_000, ...opts });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Every shared object below `dir` (Python's lib-dynload), so their libraries come along. */
async function sharedObjects(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith('.so')).map((e) => join(e.parentPath, e.name));
}

/** Assemble the rootfs in a scratch directory and `docker import` it as `tag`. */
export async function importRootfs(tag: string, spec: RootfsSpec): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'offline-rootfs-'));
  try {
    const root = join(dir, 'rootfs');
    for (const d of ['bin', 'etc', 'root', 'tmp', 'usr/local/bin', ...(spec.dirs ?? [])]) await mkdir(join(root, d), { recursive: true });
    await chmod(join(root, 'tmp'), 0o1777);
    await copyInto(root, BUSYBOX);
    for (const applet of (await must(BUSYBOX, ['--list'])).split('\n').filter((a) => a && a !== 'busybox')) {
      await symlink('busybox', join(root, 'bin', applet));
    }
    const libs = new Set<string>();
    for (const binary of spec.binaries ?? []) {
      await copyInto(root, binary);
      for (const lib of await sharedLibraries(binary)) libs.add(lib);
    }
    for (const tree of spec.trees ?? []) {
      await mkdir(join(root, dirname(tree.path)), { recursive: true });
      const excludes = (tree.exclude ?? []).map((e) => `--exclude=${e}`);
      await must('sh', ['-c', 'tar -C / -c "$@" | tar -C "$0" -x', root, ...excludes, tree.path.replace(/^\//, '')]);
      for (const so of await sharedObjects(tree.path)) {
        for (const lib of await sharedLibraries(so).catch(() => [])) libs.add(lib);
      }
    }
    for (const lib of libs) await copyInto(root, lib);
    const files = { 'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n', 'etc/group': 'root:x:0:\n', ...spec.files };
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(root, dirname(path)), { recursive: true });
      await writeFile(join(root, path), content, { mode: /(^|\/)bin\//.test(path) ? 0o755 : 0o644 });
    }
    for (const [path, target] of Object.entries(spec.links ?? {})) {
      await mkdir(join(root, dirname(path)), { recursive: true });
      await symlink(target, join(root, path));
    }
    const tarball = join(dir, 'rootfs.tar');
    await must('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarball, '.']);
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/root', ...spec.env };
    await must('docker', ['import', ...Object.entries(env).flatMap(([k, v]) => ['--change', `ENV ${k}=${v}`]), '--change', 'CMD ["/bin/sh"]', tarball, tag]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Debian 12's Python 3.11 and pip 23.0.1, without Debian's EXTERNALLY-MANAGED marker (as python:3.x images have none). */
export const PYTHON_ROOTFS: RootfsSpec = {
  binaries: ['/usr/bin/python3.11'],
  trees: [
    { path: '/usr/lib/python3.11', exclude: ['usr/lib/python3.11/EXTERNALLY-MANAGED', 'usr/lib/python3.11/test', '*/__pycache__'] },
    { path: '/usr/lib/python3/dist-packages/pip', exclude: ['*/__pycache__'] },
  ],
  links: { 'usr/bin/python3': 'python3.11', 'usr/bin/python': 'python3.11' },
  // Debian's /usr/bin/pip (files below a bin/ are written executable).
  files: { 'usr/bin/pip': '#!/usr/bin/python3\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n' },
};

/** This machine's pacman with an Arch-like pacman.conf (core, extra from the mirrorlist) whose mirrorlist names `server`. */
export function pacmanRootfs(server: string): RootfsSpec {
  return {
    binaries: ['/usr/bin/pacman'],
    dirs: ['var/lib/pacman/local', 'var/lib/pacman/sync', 'var/cache/pacman/pkg', 'var/log'],
    files: {
      'etc/pacman.conf': [
        '[options]', 'Architecture = x86_64', 'SigLevel = Never', 'LocalFileSigLevel = Never', 'ParallelDownloads = 2', '',
        '[core]', 'Include = /etc/pacman.d/mirrorlist', '', '[extra]', 'Include = /etc/pacman.d/mirrorlist', '',
      ].join('\n'),
      'etc/pacman.d/mirrorlist': `Server = ${server}\n`,
    },
  };
}

/** `docker save` the daemon's `local` and push it to `registryHost` as `repo:tag`. */
export async function pushDaemonImage(local: string, registryHost: string, repoTag: string, tmp: string): Promise<void> {
  const archive = join(tmp, `${repoTag.replace(/[/:]/g, '_')}.tar`);
  await must('docker', ['save', '-o', archive, local]);
  try {
    await skopeoOk(['copy', '--quiet', `docker-archive:${archive}`, `docker://${registryHost}/${repoTag}`], join(tmp, 'skopeo'));
  } finally {
    await rm(archive, { force: true });
  }
}
