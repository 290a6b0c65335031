/**
 * Deterministic pacman fixtures made in code: two repositories (`core` with a gzip db whose
 * entries carry `%PGPSIG%`, `extra` with a zstd db and detached `.sig` files only) whose packages
 * exercise alpm's resolution rules, and a throwaway pacman root that talks to loopback only.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { embedSignatures, libmakepkgEnv, makePackage, repoAdd, repoAddEmbedsSignatures } from './pacman-packages.ts';
import type { PackageOptions } from './pacman-packages.ts';
import { run } from './run.ts';
import type { RunOptions, RunResult } from './run.ts';

export { BUILD_DATE, PACKAGER, libmakepkgEnv, makePackage, packageFilename, repoAdd, repoAddEmbedsSignatures } from './pacman-packages.ts';
export type { PackageOptions } from './pacman-packages.ts';
export { corruptBytes, parseRange, startMirrorServer } from './pacman-server.ts';
export type { MirrorServer, MirrorServerOptions } from './pacman-server.ts';

export type RepoName = 'core' | 'extra';

export type PkgInfo = {
  repo: RepoName;
  name: string;
  /** `[epoch:]pkgver-pkgrel` */
  version: string;
  arch: 'x86_64' | 'any';
  filename: string;
  sha256: string;
  depends: string[];
  provides: string[];
  groups: string[];
  /** A detached `<filename>.sig` sits next to the package. */
  signed: boolean;
  /** The db entry carries the signature as `%PGPSIG%` (core), so pacman fetches no `.sig`. */
  sigInDb: boolean;
};

export type FixtureRepos = {
  dir: string;
  repos: Record<RepoName, PkgInfo[]>;
  /** Armored public key and its fingerprint, when packages were signed. */
  publicKey?: string;
  keyId?: string;
};

export const ARCH = 'x86_64';
/** The db file repo-add wrote for each repo (`<repo>.db` is a symlink to it). */
export const DB_FILES: Record<RepoName, string> = { core: 'core.db.tar.gz', extra: 'extra.db.tar.zst' };

type Spec = PackageOptions & { signed: boolean };

// `app` needs a versioned dependency met by core's libdep (core comes first and 2.1 >= 2.0; extra's
// 1.0 would not do), a virtual name met only through `provides`, and a soname.
const SPECS: Record<RepoName, Spec[]> = {
  core: [
    { name: 'libdep', version: '2.1-1', signed: true },
    { name: 'base-tool', version: '1.2-1', depends: ['glibc-like'], signed: true },
    { name: 'glibc-like', version: '2.38-1', signed: true },
    { name: 'foo-libs', version: '1:0.9-1', provides: ['libfoo.so=1-64'], signed: true },
  ],
  extra: [
    { name: 'app', version: '1.0-1', depends: ['libdep>=2.0', 'virtual-thing', 'libfoo.so=1-64', 'base-tool'], signed: true },
    { name: 'provider-pkg', version: '3.0-1', arch: 'any', provides: ['virtual-thing=1.0'], signed: true },
    { name: 'libdep', version: '1.0-1', signed: false },
    { name: 'dt-a', version: '0.1-1', arch: 'any', groups: ['devtools'], signed: true },
    { name: 'dt-b', version: '0.2-1', arch: 'any', groups: ['devtools'], depends: ['dt-a'], signed: true },
    { name: 'unrelated', version: '9.9-1', arch: 'any', signed: false },
  ],
};

/** Whether `cmd --version` runs; the reason when it does not. */
export async function missingTool(cmd: string): Promise<string | undefined> {
  try {
    const r = await run(cmd, ['--version'], { timeoutMs: 10_000 });
    return r.code === 0 ? undefined : `${cmd} --version exited ${r.code}`;
  } catch (e) {
    return `${cmd} is unavailable: ${(e as Error).message}`;
  }
}

async function gpg(home: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run('gpg', ['--homedir', home, '--batch', '--no-tty', ...args], opts);
  if (r.code !== 0) throw new Error(`gpg ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** A throwaway ed25519 signing key without passphrase in `home`: its armored public key and fingerprint. */
async function makeSigningKey(home: string): Promise<{ publicKey: string; keyId: string }> {
  const params = ['%no-protection', 'Key-Type: eddsa', 'Key-Curve: ed25519', 'Key-Usage: sign'];
  params.push('Name-Real: Offline Fixtures', 'Name-Email: fixtures@offline.invalid', 'Expire-Date: 0', '%commit', '');
  await gpg(home, ['--gen-key'], { input: params.join('\n') });
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(await gpg(home, ['--with-colons', '--list-secret-keys']))?.[1];
  if (!fpr) throw new Error(`gpg made no key in ${home}`);
  return { publicKey: await gpg(home, ['--armor', '--export', fpr]), keyId: fpr };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Builds `dir/core/os/x86_64/` and `dir/extra/os/x86_64/` with repo-add databases (see SPECS).
 * With `sign` and a working gpg, packages marked signed get a detached `.sig` from a throwaway key
 * (deleted again) — before repo-add for core, so its db holds `%PGPSIG%`, after it for extra.
 * Without gpg every package is unsigned. Throws when a tool fails.
 */
export async function makeRepos(dir: string, opts: { sign?: boolean } = {}): Promise<FixtureRepos> {
  const home = opts.sign && !(await missingTool('gpg')) ? await mkdtemp(join(tmpdir(), 'offline-gnupg-')) : undefined;
  try {
    const key = home ? await makeSigningKey(home) : undefined;
    const repos: Record<RepoName, PkgInfo[]> = { core: [], extra: [] };
    for (const repo of ['core', 'extra'] as const) {
      const out = join(dir, repo, 'os', ARCH);
      for (const spec of SPECS[repo]) {
        const filename = await makePackage(out, spec);
        const signed = Boolean(home) && spec.signed;
        repos[repo].push({
          repo, name: spec.name, version: spec.version, arch: spec.arch ?? 'x86_64', filename,
          sha256: sha256(await readFile(join(out, filename))), depends: spec.depends ?? [],
          provides: spec.provides ?? [], groups: spec.groups ?? [], signed, sigInDb: signed && repo === 'core',
        });
      }
      const sign = async () => {
        for (const p of repos[repo].filter((p) => p.signed)) {
          await gpg(home as string, ['--detach-sign', '--no-armor', '-o', join(out, `${p.filename}.sig`), join(out, p.filename)]);
        }
      };
      if (repo === 'core') await sign();
      await repoAdd(join(out, DB_FILES[repo]), repos[repo].map((p) => p.filename));
      // core's entries carry %PGPSIG%: pacman 6's repo-add writes it, pacman 7's does not.
      if (repo === 'core' && home && !(await repoAddEmbedsSignatures())) await embedSignatures(join(out, DB_FILES[repo]), repos[repo].filter((p) => p.signed).map((p) => p.filename));
      if (repo !== 'core') await sign();
    }
    return { dir, repos, ...key };
  } finally {
    if (home) {
      await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    }
  }
}

export type PacmanRoot = {
  base: string;
  config: string;
  /** `--config --root --dbpath --cachedir --logfile --gpgdir --hookdir`, each with its path. */
  args: string[];
  root: string;
  dbPath: string;
  cacheDir: string;
  gpgDir: string;
  hookDir: string;
  logFile: string;
};

export type PacmanRootOptions = {
  /** Default `Never`: pacman then never touches gpg. Anything else needs the key trusted first (`trustKey`). */
  sigLevel?: string;
  /** The order of the `[repo]` sections; default the order of `servers`. */
  repos?: string[];
  disableDownloadTimeout?: boolean;
  /** pacman's `ParallelDownloads`; default 1. */
  parallelDownloads?: number;
};

function assertLocal(server: string): void {
  const url = new URL(server.replaceAll('$repo', 'r').replaceAll('$arch', 'a'));
  if (url.protocol === 'file:' || (url.protocol === 'http:' && url.hostname === '127.0.0.1')) return;
  throw new Error(`${server}: fixtures talk to http://127.0.0.1 or file:// only`);
}

/**
 * A fresh pacman root under `base`: `pacman.conf` (Architecture x86_64, ParallelDownloads 1 unless told, one
 * `[repo]` section per server, no Include) and the root, db, cache, gpg, hook and log paths, which
 * the returned `args` pass on the command line as well. The gpgdir's dirmngr may not use HTTP or
 * LDAP, so a key lookup cannot leave the machine. Throws for a server not on 127.0.0.1 or file://.
 */
export async function pacmanRoot(base: string, servers: Record<string, string>, opts: PacmanRootOptions = {}): Promise<PacmanRoot> {
  const root = join(base, 'root');
  const paths = { root, dbPath: join(root, 'var/lib/pacman'), cacheDir: join(base, 'cache'), gpgDir: join(base, 'gnupg'), hookDir: join(base, 'hooks') };
  const logFile = join(base, 'pacman.log');
  for (const server of Object.values(servers)) assertLocal(server);
  for (const d of Object.values(paths)) await mkdir(d, { recursive: true });
  await chmod(paths.gpgDir, 0o700); // gpg warns about a group- or world-readable home
  await writeFile(join(paths.gpgDir, 'dirmngr.conf'), 'disable-http\ndisable-ldap\nkeyserver hkp://127.0.0.1:9\n');
  await writeFile(join(paths.gpgDir, 'gpg.conf'), 'keyserver hkp://127.0.0.1:9\nauto-key-locate local\n');
  const options = [
    '[options]', `RootDir = ${root}`, `DBPath = ${paths.dbPath}`, `CacheDir = ${paths.cacheDir}`, `LogFile = ${logFile}`,
    `GPGDir = ${paths.gpgDir}`, `HookDir = ${paths.hookDir}`, `Architecture = ${ARCH}`, `SigLevel = ${opts.sigLevel ?? 'Never'}`,
    `ParallelDownloads = ${opts.parallelDownloads ?? 1}`, ...(opts.disableDownloadTimeout ? ['DisableDownloadTimeout'] : []),
  ];
  const sections = (opts.repos ?? Object.keys(servers)).flatMap((repo) => {
    if (!servers[repo]) throw new Error(`pacmanRoot: repo ${repo} has no server`);
    return ['', `[${repo}]`, `Server = ${servers[repo]}`];
  });
  const config = join(base, 'pacman.conf');
  await writeFile(config, `${[...options, ...sections].join('\n')}\n`);
  const args = ['--config', config, '--root', root, '--dbpath', paths.dbPath, '--cachedir', paths.cacheDir];
  args.push('--logfile', logFile, '--gpgdir', paths.gpgDir, '--hookdir', paths.hookDir);
  return { base, config, args, ...paths, logFile };
}

/** `pacman`'s argv for `root`: its path options, then `args` (`-Sy`, `--noconfirm`, names …). */
export function pacmanArgs(root: PacmanRoot, ...args: string[]): string[] {
  return [...root.args, ...args];
}

/** A minimal environment for pacman and gpg: no proxy variables can send curl anywhere. */
export function pacmanEnv(root: PacmanRoot): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root.base, LANG: 'C', LC_ALL: 'C' };
}

/** The same command line for `sh` (to run inside `inNetns`). */
export function pacmanShell(root: PacmanRoot, ...args: string[]): string {
  return ['pacman', ...pacmanArgs(root, ...args)].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
}

/** Runs `pacman <root's paths> args` (two minutes at most); never throws on a non-zero exit. */
export function pacman(root: PacmanRoot, ...args: string[]): Promise<RunResult> {
  return run('pacman', pacmanArgs(root, ...args), { env: pacmanEnv(root), timeoutMs: 120_000 });
}

/** `pacman -Q` as `{ name: version }`; empty for a root with nothing installed. */
export async function installed(root: PacmanRoot): Promise<Record<string, string>> {
  const r = await pacman(root, '-Q');
  return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

async function pacmanKey(root: PacmanRoot, publicKey: string, keyId: string): Promise<void> {
  const keyFile = join(root.base, 'fixture-key.asc');
  await writeFile(keyFile, publicKey);
  const library = (await libmakepkgEnv()).LIBRARY;
  const env = { ...pacmanEnv(root), ...(library ? { LIBRARY: library } : {}) };
  try {
    for (const step of [['--init'], ['--add', keyFile], ['--lsign-key', keyId]]) {
      const r = await run('pacman-key', ['--config', root.config, '--gpgdir', root.gpgDir, ...step], { env, timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`pacman-key ${step.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    }
  } finally {
    await run('gpgconf', ['--homedir', root.gpgDir, '--kill', 'all']).catch(() => undefined);
  }
}

const keyrings = new Map<string, Promise<string>>();

/**
 * Makes the root's gpgdir trust `keyId` as a user does: `pacman-key --init`, `--add`,
 * `--lsign-key` (its gpg-agent ended afterwards). The first call per key builds the keyring (about
 * a second: `--init` makes an RSA 4096 key); later calls copy it. Throws when pacman-key fails.
 */
export async function trustKey(root: PacmanRoot, publicKey: string, keyId: string): Promise<void> {
  let keyring = keyrings.get(keyId);
  if (!keyring) {
    keyring = (async () => {
      const base = await mkdtemp(join(tmpdir(), 'offline-keyring-'));
      process.once('exit', () => rmSync(base, { recursive: true, force: true }));
      const template = await pacmanRoot(base, {});
      await pacmanKey(template, publicKey, keyId);
      return template.gpgDir;
    })();
    keyrings.set(keyId, keyring);
    keyring.catch(() => keyrings.delete(keyId));
  }
  // Not the agent's sockets (S.gpg-agent…): the copy starts its own agent if it ever needs one.
  await cp(await keyring, root.gpgDir, { recursive: true, force: true, filter: (src) => !basename(src).startsWith('S.') });
}
