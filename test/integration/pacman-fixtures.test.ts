import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DB_FILES,
  installed,
  makePackage,
  makeRepos,
  missingTool,
  pacman,
  pacmanEnv,
  pacmanRoot,
  pacmanShell,
  startMirrorServer,
  trustKey,
} from '../helpers/pacman-fixtures.ts';
import type { FixtureRepos, MirrorServer, MirrorServerOptions, PacmanRootOptions } from '../helpers/pacman-fixtures.ts';
import { hasNetns, inNetns, run } from '../helpers/run.ts';

const tools = await Promise.all(['pacman', 'repo-add', 'bsdtar', 'zstd'].map(missingTool));
const toolsMissing = tools.find(Boolean);
const notRoot = process.getuid?.() === 0 ? undefined : 'pacman -S installs need root';
const REQUIRED = 'Required DatabaseOptional';

let work: string;
let fixtures: FixtureRepos;
let dirs = 0;
const servers: MirrorServer[] = [];

async function dir(): Promise<string> {
  return mkdtemp(join(work, `${dirs++}-`));
}

async function serve(opts?: MirrorServerOptions): Promise<MirrorServer> {
  const server = await startMirrorServer(fixtures.dir, opts);
  servers.push(server);
  return server;
}

/** A fresh root whose `core` and `extra` both point at `server`. */
async function rootFor(server: MirrorServer, opts?: PacmanRootOptions) {
  const template = `${server.url}/$repo/os/$arch`;
  return pacmanRoot(await dir(), { core: template, extra: template }, opts);
}

async function tarList(file: string): Promise<string[]> {
  const r = await run('bsdtar', ['-tf', file]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

async function tarRead(file: string, entry: string): Promise<string> {
  const r = await run('bsdtar', ['-xOf', file, entry]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const pkgDir = (repo: string) => join(fixtures.dir, repo, 'os', 'x86_64');
const pkg = (repo: 'core' | 'extra', name: string) => fixtures.repos[repo].find((p) => p.name === name)!;

describe('pacman fixtures', { skip: toolsMissing }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'offline-pacman-fixtures-'));
    fixtures = await makeRepos(join(work, 'repos'), { sign: true });
    if (!fixtures.publicKey) console.log('# pacman fixtures: gpg is unavailable, so packages are unsigned');
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('makePackage is repeatable and lays a package out as makepkg does', async () => {
    const opts = { name: 'foo-libs', version: '1:0.9-1', provides: ['libfoo.so=1-64'], depends: ['glibc-like'] };
    const [a, b] = [await dir(), await dir()];
    const filename = await makePackage(a, opts);
    assert.equal(filename, 'foo-libs-1:0.9-1-x86_64.pkg.tar.zst');
    assert.equal(await makePackage(b, opts), filename);
    assert.deepEqual(await readFile(join(a, filename)), await readFile(join(b, filename)));
    assert.deepEqual((await readFile(join(a, filename))).subarray(0, 4), Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    assert.deepEqual((await tarList(join(a, filename))).slice(0, 2), ['.PKGINFO', '.MTREE']);
    assert.ok((await tarList(join(a, filename))).includes('usr/lib/libfoo.so.1'));
    const info = await tarRead(join(a, filename), '.PKGINFO');
    for (const line of ['pkgname = foo-libs', 'pkgver = 1:0.9-1', 'provides = libfoo.so=1-64', 'depend = glibc-like']) {
      assert.match(info, new RegExp(`^${line}$`, 'm'));
    }
  });

  it('makeRepos writes a gzip core db with %PGPSIG% and a zstd extra db without', async () => {
    const magic = async (file: string) => (await readFile(file)).subarray(0, 4).toString('hex');
    assert.equal(await readlink(join(pkgDir('core'), 'core.db')), DB_FILES.core);
    assert.equal(await readlink(join(pkgDir('extra'), 'extra.db')), DB_FILES.extra);
    assert.equal((await magic(join(pkgDir('core'), 'core.db'))).slice(0, 4), '1f8b');
    assert.equal(await magic(join(pkgDir('extra'), 'extra.db')), '28b52ffd');
    const signed = Boolean(fixtures.publicKey);
    const coreDesc = await tarRead(join(pkgDir('core'), 'core.db'), 'libdep-2.1-1/desc');
    assert.equal(coreDesc.includes('%PGPSIG%'), signed);
    assert.doesNotMatch(await tarRead(join(pkgDir('extra'), 'extra.db'), 'app-1.0-1/desc'), /%PGPSIG%/);
    for (const repo of ['core', 'extra'] as const) {
      for (const p of fixtures.repos[repo]) {
        const bytes = await readFile(join(pkgDir(repo), p.filename));
        assert.equal(createHash('sha256').update(bytes).digest('hex'), p.sha256, p.filename);
        assert.equal(existsSync(join(pkgDir(repo), `${p.filename}.sig`)), p.signed, p.filename);
      }
    }
    assert.equal(pkg('extra', 'unrelated').signed, false);
    assert.equal(pkg('core', 'foo-libs').version, '1:0.9-1');
  });

  it('startMirrorServer serves files through symlinks, with Range, missing and corrupt', async () => {
    const app = pkg('extra', 'app').filename;
    const server = await serve({ missing: [pkg('core', 'libdep').filename], corrupt: [app] });
    const get = (path: string, headers?: Record<string, string>) => fetch(`${server.url}${path}`, { headers });
    const db = await get('/extra/os/x86_64/extra.db');
    assert.deepEqual(Buffer.from(await db.arrayBuffer()), await readFile(join(pkgDir('extra'), DB_FILES.extra)));
    const whole = await readFile(join(pkgDir('core'), pkg('core', 'glibc-like').filename));
    const part = await get(`/core/os/x86_64/${pkg('core', 'glibc-like').filename}`, { range: 'bytes=10-' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-${whole.length - 1}/${whole.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), whole.subarray(10));
    const beyond = await get(`/core/os/x86_64/${pkg('core', 'glibc-like').filename}`, { range: `bytes=${whole.length}-` });
    assert.equal(beyond.status, 416);
    assert.equal((await get(`/core/os/x86_64/${pkg('core', 'libdep').filename}`)).status, 404);
    assert.equal((await get('/core/os/x86_64/..%2F..%2F..%2Fcore%2Fos%2Fx86_64%2Fcore.db')).status, 404);
    const bad = Buffer.from(await (await get(`/extra/os/x86_64/${encodeURIComponent(app)}`)).arrayBuffer());
    assert.equal(bad.length, (await readFile(join(pkgDir('extra'), app))).length);
    assert.notEqual(createHash('sha256').update(bad).digest('hex'), pkg('extra', 'app').sha256);
    assert.ok(server.requests.includes('/extra/os/x86_64/extra.db'));
  });

  describe('with real pacman', { skip: notRoot }, () => {
    it('pacman -Sy app resolves by repo order, provides and sonames, and leaves unrelated out', async () => {
      const server = await serve();
      const root = await rootFor(server);
      const r = await pacman(root, '-Sy', '--noconfirm', 'app');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await installed(root), {
        app: '1.0-1', 'base-tool': '1.2-1', 'foo-libs': '1:0.9-1', 'glibc-like': '2.38-1', libdep: '2.1-1', 'provider-pkg': '3.0-1',
      });
      assert.ok(existsSync(join(root.root, 'usr/lib/libfoo.so.1')));
      assert.ok(existsSync(join(root.root, 'usr/share/app/README')));
      assert.ok(server.requests.includes('/extra/os/x86_64/extra.db'), 'the zstd db was fetched');
      assert.ok(server.requests.includes(`/core/os/x86_64/${pkg('core', 'libdep').filename}`));
      assert.ok(!server.requests.some((p) => p.includes('unrelated') || p.includes('libdep-1.0-1')));
      assert.ok(!server.requests.some((p) => p.endsWith('.sig')), 'SigLevel Never fetches no signatures');
    });

    it('pacman -S devtools installs the group', async () => {
      const root = await rootFor(await serve());
      const r = await pacman(root, '-Sy', '--noconfirm', 'devtools');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await installed(root), { 'dt-a': '0.1-1', 'dt-b': '0.2-1' });
    });

    it('a corrupt package makes pacman fail and install nothing', async () => {
      const root = await rootFor(await serve({ corrupt: [pkg('core', 'libdep').filename] }));
      const r = await pacman(root, '-Sy', '--noconfirm', 'app');
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /libdep-2\.1-1-x86_64\.pkg\.tar\.zst is corrupted|invalid or corrupted package/);
      assert.deepEqual(await installed(root), {});
    });

    describe('signed', () => {
      it('SigLevel Required installs with the key lsigned into a temp keyring', async (t) => {
        if (!fixtures.publicKey || !fixtures.keyId) return t.skip('gpg is unavailable, so nothing is signed');
        const server = await serve();
        const root = await rootFor(server, { sigLevel: REQUIRED });
        await trustKey(root, fixtures.publicKey, fixtures.keyId);
        const r = await pacman(root, '-Sy', '--noconfirm', 'app');
        assert.equal(r.code, 0, r.stderr);
        assert.equal(Object.keys(await installed(root)).length, 6);
        // pacman 6.0 fetches <pkg>.sig under Required even when the db carries %PGPSIG% (core).
        for (const p of [pkg('extra', 'app'), pkg('core', 'libdep')]) {
          assert.ok(server.requests.includes(`/${p.repo}/os/x86_64/${p.filename}.sig`), p.filename);
        }
      });

      it('SigLevel Required fails for a package whose .sig is missing, or that is unsigned', async (t) => {
        if (!fixtures.publicKey || !fixtures.keyId) return t.skip('gpg is unavailable, so nothing is signed');
        const cases = [
          { missing: [`${pkg('extra', 'provider-pkg').filename}.sig`], target: 'app' },
          { missing: [`${pkg('core', 'glibc-like').filename}.sig`], target: 'base-tool' }, // despite %PGPSIG%
          { missing: [], target: 'unrelated' },
        ];
        for (const c of cases) {
          const root = await rootFor(await serve({ missing: c.missing }), { sigLevel: REQUIRED });
          await trustKey(root, fixtures.publicKey, fixtures.keyId);
          const r = await pacman(root, '-Sy', '--noconfirm', c.target);
          assert.notEqual(r.code, 0, `${c.target} installed although ${c.missing[0] ?? 'its .sig'} is missing`);
          assert.match(r.stderr, /failed retrieving file '.*\.sig'.*404/);
          assert.deepEqual(await installed(root), {});
        }
      });

      it('a corrupt .sig is refused', async (t) => {
        if (!fixtures.publicKey || !fixtures.keyId) return t.skip('gpg is unavailable, so nothing is signed');
        const root = await rootFor(await serve({ corrupt: [`${pkg('extra', 'dt-a').filename}.sig`] }), { sigLevel: REQUIRED });
        await trustKey(root, fixtures.publicKey, fixtures.keyId);
        const r = await pacman(root, '-Sy', '--noconfirm', 'dt-a');
        assert.notEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, /signature|corrupted/i);
        assert.deepEqual(await installed(root), {});
      });
    });

    it('installs from file:// inside a loopback-only network namespace', async (t) => {
      const reason = await hasNetns();
      if (reason) return t.skip(reason);
      const sigLevel = fixtures.publicKey ? REQUIRED : 'Never';
      const template = `file://${fixtures.dir}/$repo/os/$arch`;
      const root = await pacmanRoot(await dir(), { core: template, extra: template }, { sigLevel });
      if (fixtures.publicKey && fixtures.keyId) await trustKey(root, fixtures.publicKey, fixtures.keyId);
      const r = await inNetns(pacmanShell(root, '-Sy', '--noconfirm', 'app', 'devtools'), { env: pacmanEnv(root) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(Object.keys(await installed(root)).length, 8);
    });
  });
});
