/**
 * Sync databases against the real tools: packages built with bsdtar, databases made by repo-add
 * (gzip and zstd), read by parseRepoDb; databases rebuilt by writeRepoDb, read by pacman itself.
 * pacman only ever reaches a `file://` server in a temporary directory: no network.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError } from '../../src/foundation/errors.ts';
import { detectCompression } from '../../src/foundation/tar.ts';
import { parseRepoDb, writeRepoDb } from '../../src/ecosystems/pacman/repo-db.ts';
import type { PkgDesc } from '../../src/ecosystems/pacman/types.ts';
import { repoAddEmbedsSignatures } from '../helpers/pacman-packages.ts';
import { run } from '../helpers/run.ts';

type Fixture = {
  name: string;
  base: string;
  version: string;
  arch: string;
  depends: string[];
  provides: string[];
  groups: string[];
  /** A detached signature for repo-add to embed as %PGPSIG% (any non-armored bytes will do). */
  sig?: Buffer;
};

// A name long enough that `entry/desc` overflows ustar's 100-byte name field.
const LONG = `long-${'n'.repeat(95)}`;
const FIXTURES: Fixture[] = [
  { name: 'foo', base: 'foo', version: '1.0-1', arch: 'x86_64', depends: ['bar>=1.0'], provides: ['libfoo.so=1-64'], groups: ['testgroup'], sig: Buffer.from([0x88, 0x75, ...Array.from({ length: 117 }, (_, i) => i)]) },
  { name: 'bar', base: 'bar-base', version: '2:1.5-3', arch: 'x86_64', depends: [], provides: ['bar-virtual=1.5'], groups: ['testgroup', 'othergroup'] },
  { name: 'baz', base: 'baz', version: '0.1-1', arch: 'any', depends: ['foo=1.0', 'libfoo.so=1-64', 'bar-virtual'], provides: [], groups: [] },
  { name: LONG, base: LONG, version: '3.0-1', arch: 'any', depends: ['baz'], provides: [], groups: [] },
];
const SUBSET = ['foo', 'bar', LONG];

const missing = ['pacman', 'repo-add', 'bsdtar'].filter((tool) => !onPath(tool));
const skip = missing.length > 0 ? `needs ${missing.join(', ')} on PATH` : false;

function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function filename(f: Fixture): string {
  return `${f.name}-${f.version}-${f.arch}.pkg.tar.zst`;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function ok(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const res = await run(cmd, args, { timeoutMs: 60_000, ...opts });
  assert.equal(res.code, 0, `${cmd} ${args.join(' ')} failed:\n${res.stderr}${res.stdout}`);
  return res.stdout;
}

/** A real package: a `.PKGINFO` and one file, archived the way makepkg does (zstd tar). */
async function buildPackage(dir: string, f: Fixture): Promise<string> {
  const root = await mkdtemp(join(dir, 'pkg-'));
  await mkdir(join(root, 'usr/share', f.name), { recursive: true });
  await writeFile(join(root, 'usr/share', f.name, 'README'), `${f.name} ${f.version}\n`);
  const lines = [
    `pkgname = ${f.name}`, `pkgbase = ${f.base}`, `pkgver = ${f.version}`, `pkgdesc = Fixture package ${f.name}`,
    `url = https://example.invalid/${f.name}`, 'builddate = 1700000000', 'packager = Offline Tests <tests@example.invalid>',
    'size = 4096', `arch = ${f.arch}`, 'license = MIT',
    ...f.depends.map((d) => `depend = ${d}`), ...f.provides.map((p) => `provides = ${p}`), ...f.groups.map((g) => `group = ${g}`),
  ];
  await writeFile(join(root, '.PKGINFO'), `${lines.join('\n')}\n`);
  const out = join(dir, filename(f));
  await ok('bsdtar', ['--zstd', '-cf', out, '.PKGINFO', 'usr'], { cwd: root });
  if (f.sig) await writeFile(`${out}.sig`, f.sig);
  return out;
}

/**
 * Debian ships repo-add without libmakepkg (it is in the separate `makepkg` package), so when
 * that is absent repo-add gets the two helper files it sources, reduced to what it calls.
 */
async function makepkgLibrary(dir: string): Promise<string | undefined> {
  if (existsSync('/usr/share/makepkg/util/compress.sh') && existsSync('/usr/share/makepkg/util/message.sh')) return undefined;
  const lib = join(dir, 'libmakepkg');
  await mkdir(join(lib, 'util'), { recursive: true });
  await writeFile(join(lib, 'util/compress.sh'), [
    'get_compression_command() {',
    '\tlocal -n _gcc_out=$2',
    '\tcase "$1" in',
    '\t\t*.tar.gz) _gcc_out=(gzip -c -f -n) ;;',
    '\t\t*.tar.zst) _gcc_out=(zstd -c -z -q -) ;;',
    '\t\t*.tar) _gcc_out=(cat) ;;',
    '\t\t*) return 1 ;;',
    '\tesac',
    '}',
    'compress_as() { local cmd=(); get_compression_command "$1" cmd || return 1; "${cmd[@]}"; }',
    '',
  ].join('\n'));
  await writeFile(join(lib, 'util/message.sh'), [
    'colorize() { :; }',
    'msg() { printf "==> $1\\n" "${@:2}" >&2; }',
    'msg2() { printf "  -> $1\\n" "${@:2}" >&2; }',
    'warning() { printf "==> WARNING: $1\\n" "${@:2}" >&2; }',
    'error() { printf "==> ERROR: $1\\n" "${@:2}" >&2; }',
    '',
  ].join('\n'));
  return lib;
}

describe('pacman sync databases with repo-add and pacman', { skip }, () => {
  let work: string;
  let pkgDir: string;
  let library: string | undefined;
  const files = new Map<string, string>();

  async function repoAdd(db: string, names: string[]): Promise<Buffer> {
    const env = { ...process.env, LC_ALL: 'C', ...(library ? { LIBRARY: library } : {}) };
    await ok('repo-add', ['--nocolor', db, ...names.map((n) => files.get(n) ?? '')], { env });
    return readFile(db);
  }

  /**
   * A pacman installation under a new directory whose one repository, `test`, is served from
   * `file://<dir>/srv`, so nothing leaves the machine. Returns the directory.
   */
  async function pacmanRoot(): Promise<string> {
    const dir = await mkdtemp(join(work, 'pacman-'));
    for (const sub of ['srv', 'db/sync', 'root', 'cache', 'gpg']) await mkdir(join(dir, sub), { recursive: true });
    await writeFile(join(dir, 'pacman.conf'), [
      '[options]', 'Architecture = x86_64', 'SigLevel = Never', 'LocalFileSigLevel = Never', '',
      '[test]', `Server = file://${join(dir, 'srv')}`, '',
    ].join('\n'));
    return dir;
  }

  /** pacman with every path under `dir` (from {@link pacmanRoot}). */
  async function pacman(dir: string, args: string[]): Promise<string> {
    return ok('pacman', pacmanArgs(dir, args), { env: { ...process.env, LC_ALL: 'C' } });
  }

  function pacmanArgs(dir: string, args: string[]): string[] {
    return [
      '--config', join(dir, 'pacman.conf'), '--dbpath', join(dir, 'db'), '--root', join(dir, 'root'), '--cachedir', join(dir, 'cache'),
      '--logfile', join(dir, 'pacman.log'), '--gpgdir', join(dir, 'gpg'), '--noconfirm', ...args,
    ];
  }

  function byName(db: { packages: PkgDesc[] }): Map<string, PkgDesc> {
    return new Map(db.packages.map((p) => [p.name, p]));
  }

  let embeds: boolean;
  before(async () => {
    embeds = await repoAddEmbedsSignatures();
    work = await mkdtemp(join(tmpdir(), 'offline-pacman-db-'));
    pkgDir = join(work, 'pkgs');
    await mkdir(pkgDir);
    library = await makepkgLibrary(work);
    for (const f of FIXTURES) files.set(f.name, await buildPackage(pkgDir, f));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function checkRepoAddDb(db: string, compression: 'gzip' | 'zstd'): Promise<PkgDesc[]> {
    const bytes = await repoAdd(db, FIXTURES.map((f) => f.name));
    assert.equal(detectCompression(bytes), compression);
    const parsed = parseRepoDb(bytes, 'test', db);
    assert.equal(parsed.repo, 'test');
    assert.deepEqual(parsed.packages.map((p) => p.name).sort(), FIXTURES.map((f) => f.name).sort());
    const pkgs = byName(parsed);
    for (const f of FIXTURES) {
      const pkg = pkgs.get(f.name);
      assert.ok(pkg, f.name);
      const file = files.get(f.name) ?? '';
      const entry = `${f.name}-${f.version}`;
      assert.equal(pkg.repo, 'test');
      assert.equal(pkg.entry, entry);
      assert.equal(pkg.filename, filename(f));
      assert.equal(pkg.base, f.base);
      assert.equal(pkg.version, f.version);
      assert.equal(pkg.arch, f.arch);
      assert.equal(pkg.csize, (await stat(file)).size);
      assert.equal(pkg.sha256, sha256(await readFile(file)));
      // pacman 6's repo-add embeds the .sig as %PGPSIG%; pacman 7's leaves it to the .sig file.
      assert.equal(pkg.pgpsig, embeds ? f.sig?.toString('base64') : undefined);
      assert.deepEqual(pkg.depends, f.depends);
      assert.deepEqual(pkg.provides, f.provides);
      assert.deepEqual(pkg.groups, f.groups);
      // repo-add writes one `desc` per entry; we keep it byte for byte.
      assert.deepEqual(Object.keys(pkg.files), ['desc']);
      const desc = await ok('bsdtar', ['-xOf', db, `${entry}/desc`]);
      assert.equal(pkg.files['desc']?.toString(), desc);
    }
    return parsed.packages;
  }

  let fromGzip: PkgDesc[];
  it('parseRepoDb reads every field of a gzip database made by repo-add', async () => {
    const db = join(await mkdtemp(join(work, 'gz-')), 'test.db.tar.gz');
    fromGzip = await checkRepoAddDb(db, 'gzip');
    await copyFile(db, join(work, 'gz.db.tar.gz'));
  });

  it('parseRepoDb reads the same from a zstd database', { skip: onPath('zstd') ? false : 'needs zstd on PATH' }, async () => {
    const fromZstd = await checkRepoAddDb(join(await mkdtemp(join(work, 'zst-')), 'test.db.tar.zst'), 'zstd');
    const sort = (p: PkgDesc[]): PkgDesc[] => [...p].sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(sort(fromZstd), sort(fromGzip));
  });

  it('parseRepoDb reads long entry names in GNU, ustar and pax archives alike', async () => {
    const tree = await mkdtemp(join(work, 'tree-'));
    await ok('bsdtar', ['-xf', join(work, 'gz.db.tar.gz'), '-C', tree]);
    const names = (await readdir(tree)).sort();
    assert.ok(names.some((n) => n.length > 100), 'a name that needs a GNU long name, a ustar prefix or a pax path');
    // gnutar writes `././@LongLink` entries, pax a `path=` record; ustar splits `entry/desc` into
    // prefix and name and, unable to hold the long directory itself, leaves it out with a warning.
    for (const format of ['gnutar', 'ustar', 'pax']) {
      const db = join(work, `${format}.db.tar`);
      await ok('bsdtar', ['--format', format, '-cf', db, ...names], { cwd: tree });
      const parsed = parseRepoDb(await readFile(db), 'test', db);
      assert.deepEqual(byName(parsed), byName({ packages: fromGzip }), format);
    }
  });

  it('writeRepoDb rebuilds a subset deterministically, with what repo-add writes for it', async () => {
    const subset = fromGzip.filter((p) => SUBSET.includes(p.name));
    const bytes = writeRepoDb(subset);
    assert.equal(detectCompression(bytes), 'gzip');
    assert.deepEqual(writeRepoDb([...subset].reverse()), bytes, 'same bytes whatever the input order');

    const reread = parseRepoDb(bytes, 'test', 'rebuilt');
    assert.deepEqual(byName(reread), byName({ packages: subset }));
    const repoAdded = parseRepoDb(await repoAdd(join(await mkdtemp(join(work, 'subset-')), 'test.db.tar.gz'), SUBSET), 'test', 'repo-add');
    assert.deepEqual(byName(reread), byName(repoAdded));

    const db = join(work, 'rebuilt.db.tar.gz');
    await writeFile(db, bytes);
    const listing = (await ok('bsdtar', ['-tvf', db])).trim().split('\n');
    const entries = subset.map((p) => p.entry).sort();
    assert.deepEqual(listing.map((l) => l.split(/\s+/).slice(-1)[0]), entries.flatMap((e) => [`${e}/`, `${e}/desc`]));
    for (const line of listing) {
      assert.match(line, /^(drwxr-xr-x|-rw-r--r--) +0 root +root /, line);
      assert.match(line, /Jan +1 +1970/, line);
    }
  });

  it('pacman lists, shows and resolves a rebuilt database', async () => {
    const dir = await pacmanRoot();
    // Installed straight into the sync directory: no -Sy, so no root needed.
    await writeFile(join(dir, 'db/sync/test.db'), writeRepoDb(fromGzip.filter((p) => SUBSET.includes(p.name))));

    const list = (await pacman(dir, ['-Sl', 'test'])).trim().split('\n').sort();
    assert.deepEqual(list, ['test bar 2:1.5-3', 'test foo 1.0-1', `test ${LONG} 3.0-1`]);

    const foo = await pacman(dir, ['-Si', 'test/foo']);
    assert.match(foo, /^Version +: 1\.0-1$/m);
    assert.match(foo, /^Depends On +: bar>=1\.0$/m);
    assert.match(foo, /^Provides +: libfoo\.so=1-64$/m);
    assert.match(foo, /^Groups +: testgroup$/m);
    const bar = await pacman(dir, ['-Si', 'bar']);
    assert.match(bar, /^Version +: 2:1\.5-3$/m);
    assert.match(bar, /^Groups +: testgroup +othergroup$/m);
    const long = await pacman(dir, ['-Si', LONG]);
    assert.match(long, /^Depends On +: baz$/m);

    // foo's `bar>=1.0` is met by bar 2:1.5-3, so pacman resolves the pair from our database.
    const plan = (await pacman(dir, ['-Sp', '--print-format', '%n %v', 'foo'])).trim().split('\n').sort();
    assert.deepEqual(plan, ['bar 2:1.5-3', 'foo 1.0-1']);
  });

  it('pacman -Sy fetches a rebuilt database over file:// and -Sw verifies the packages it names', {
    skip: process.getuid?.() === 0 ? false : 'pacman -Sy and -Sw need root',
  }, async () => {
    const dir = await pacmanRoot();
    const server = join(dir, 'srv');
    await writeFile(join(server, 'test.db'), writeRepoDb(fromGzip.filter((p) => p.name === 'foo' || p.name === 'bar')));
    for (const name of ['foo', 'bar']) {
      const file = files.get(name) ?? '';
      await copyFile(file, join(server, basename(file)));
    }
    await pacman(dir, ['-Sy']);
    assert.equal((await readFile(join(dir, 'db/sync/test.db'))).length, (await stat(join(server, 'test.db'))).size);
    await pacman(dir, ['-Sw', 'foo']);
    assert.deepEqual((await readdir(join(dir, 'cache'))).filter((f) => f.endsWith('.zst')).sort(), [
      'bar-2:1.5-3-x86_64.pkg.tar.zst', 'foo-1.0-1-x86_64.pkg.tar.zst',
    ]);

    // The checksums pacman verified are the rebuilt database's: a swapped package file is refused.
    const other = await pacmanRoot();
    await copyFile(join(server, 'test.db'), join(other, 'srv/test.db'));
    await copyFile(files.get('baz') ?? '', join(other, 'srv', basename(files.get('bar') ?? '')));
    await pacman(other, ['-Sy']);
    const res = await run('pacman', pacmanArgs(other, ['-Sw', 'bar']), { env: { ...process.env, LC_ALL: 'C' }, timeoutMs: 60_000 });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr + res.stdout, /invalid or corrupted package \(checksum\)/);
  });
});

describe('parseRepoDb on hand-made databases', () => {
  function throwsInput(fn: () => unknown, message: RegExp): void {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
      assert.match(err.message, message);
      return true;
    });
  }
  const pkg = (desc: string): PkgDesc => ({
    repo: 'core', filename: 'x', name: 'x', version: '1-1', arch: 'any', depends: [], provides: [], groups: [],
    entry: 'x-1-1', files: { desc: Buffer.from(desc) },
  });

  it('reads an older entry whose relations are in a depends file, and keeps every file', () => {
    const files = {
      desc: Buffer.from('%FILENAME%\nold-1-1-i686.pkg.tar.xz\n\n%NAME%\nold\n\n%VERSION%\n1-1\n\n%ARCH%\ni686\n\n%CSIZE%\nabc\n'),
      depends: Buffer.from('%DEPENDS%\nglibc\nzlib>=1.2\n\n%PROVIDES%\nold-virtual=1\n\n'),
      files: Buffer.from('%FILES%\nusr/\nusr/bin/old\n'),
    };
    const [old] = parseRepoDb(writeRepoDb([{ ...pkg(''), entry: 'old-1-1', files }]), 'legacy', 'legacy.db').packages;
    assert.ok(old);
    assert.equal(old.arch, 'i686');
    assert.equal(old.csize, undefined, 'an unparsable %CSIZE% is left out');
    assert.deepEqual(old.depends, ['glibc', 'zlib>=1.2']);
    assert.deepEqual(old.provides, ['old-virtual=1']);
    assert.deepEqual(old.files, files);
  });

  it('names the source and the entry when a required field is missing', () => {
    for (const field of ['FILENAME', 'NAME', 'VERSION']) {
      const desc = ['FILENAME', 'NAME', 'VERSION'].filter((f) => f !== field).map((f) => `%${f}%\nx\n`).join('\n');
      throwsInput(() => parseRepoDb(writeRepoDb([pkg(desc)]), 'core', 'https://mirror.example/core.db'),
        new RegExp(`^https://mirror\\.example/core\\.db: x-1-1: database entry has no %${field}%`));
    }
  });

  it('refuses what is not a tar archive, truncated data and unsupported compression', () => {
    const good = writeRepoDb([pkg('%FILENAME%\nx-1-1-any.pkg.tar.zst\n\n%NAME%\nx\n\n%VERSION%\n1-1\n')]);
    throwsInput(() => parseRepoDb(Buffer.from('<html>not found</html>'), 'core', 'core.db'), /^core\.db: .*not a tar archive/);
    throwsInput(() => parseRepoDb(Buffer.alloc(0), 'core', 'core.db'), /^core\.db: .*not a tar archive/);
    throwsInput(() => parseRepoDb(Buffer.from(`${'<p>'.repeat(300)}`), 'core', 'core.db'), /^core\.db: .*not a tar archive/);
    throwsInput(() => parseRepoDb(good.subarray(0, good.length - 10), 'core', 'core.db'), /^core\.db: cannot read the pacman database/);
    const tar = gunzipSync(good);
    throwsInput(() => parseRepoDb(tar.subarray(0, 700), 'core', 'core.db'), /^core\.db: truncated tar archive/);
    throwsInput(() => parseRepoDb(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]), 'core', 'core.db'),
      /^core\.db: .*xz-compressed; only gzip and zstd databases are supported/);
    throwsInput(() => parseRepoDb(Buffer.from('BZh91AY&SY'), 'core', 'core.db'), /bzip2-compressed/);
    throwsInput(() => parseRepoDb(Buffer.concat([tar.subarray(0, 512), Buffer.alloc(512, 1)]), 'core', 'core.db'), /^core\.db: corrupt tar header after x-1-1\/: checksum failure/);
    assert.deepEqual(parseRepoDb(gzipSync(Buffer.alloc(1024)), 'core', 'core.db').packages, [], 'an empty database has no packages');
    assert.equal(parseRepoDb(tar, 'core', 'core.db').packages[0]?.filename, 'x-1-1-any.pkg.tar.zst', 'an uncompressed tar is read too');
  });
});
