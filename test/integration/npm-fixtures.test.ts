import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { makeTarball, makeTree, rootDependencies, startRegistry } from '../helpers/npm-fixtures.ts';
import type { FixturePackage, FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { isolatedEnv, LOCKFILES, makeProjects, PROJECT_KINDS } from '../helpers/npm-projects.ts';
import type { ProjectKind } from '../helpers/npm-projects.ts';
import { hasNetns, inNetns, run } from '../helpers/run.ts';

type TarHeader = { name: string; mode: number; mtime: number; size: number };

function tarHeaders(tgz: Buffer): TarHeader[] {
  const tar = gunzipSync(tgz);
  const out: TarHeader[] = [];
  for (let off = 0; off + 512 <= tar.length; ) {
    const block = tar.subarray(off, off + 512);
    if (block.every((b) => b === 0)) break;
    const field = (start: number, len: number) => block.subarray(start, start + len).toString('latin1').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12), 8);
    out.push({ name: field(0, 100), mode: parseInt(field(100, 8), 8), mtime: parseInt(field(136, 12), 8), size });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

const sha512 = (b: Buffer) => `sha512-${createHash('sha512').update(b).digest('base64')}`;
const sha1hex = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const bytes = async (res: Response) => Buffer.from(await res.arrayBuffer());
const byName = (pkgs: FixturePackage[], name: string) => pkgs.find((p) => p.name === name) as FixturePackage;

describe('makeTarball', () => {
  it('is deterministic, npm-shaped and starts with package/package.json', async () => {
    const manifest = { name: 'x', version: '1.0.0', bin: { x: 'bin/x.js' } };
    const files = { 'index.js': 'module.exports = 1;\n', 'bin/x.js': '#!/usr/bin/env node\n' };
    const a = await makeTarball(manifest, files);
    assert.deepEqual(a, await makeTarball(manifest, { 'bin/x.js': files['bin/x.js'], 'index.js': files['index.js'] }));
    const headers = tarHeaders(a);
    assert.deepEqual(headers.map((h) => h.name), ['package/package.json', 'package/bin/x.js', 'package/index.js']);
    assert.ok(headers.every((h) => h.mtime === Date.UTC(1985, 9, 26, 8, 15) / 1000));
    assert.deepEqual(headers.map((h) => h.mode), [0o644, 0o755, 0o644]);
  });
});

describe('makeTree', () => {
  const pkgs = makeTree({ packages: 60 });

  it('is the same for the same seed and has exactly the packages asked for', () => {
    assert.equal(pkgs.length, 60);
    const again = makeTree({ packages: 60 });
    assert.deepEqual(again.map((p) => p.versions.map((v) => v.integrity ?? v.shasum)), pkgs.map((p) => p.versions.map((v) => v.integrity ?? v.shasum)));
    assert.notDeepEqual(makeTree({ packages: 60, seed: 'other' }).map((p) => p.versions[0]?.manifest), pkgs.map((p) => p.versions[0]?.manifest));
    assert.equal(makeTree({ packages: 1200 }).length, 1200);
  });

  it('has the shapes real registries have', () => {
    const multi = byName(pkgs, 'multi-ver');
    assert.deepEqual(multi.versions.map((v) => v.manifest.version), ['1.0.0', '1.1.0', '2.0.0', '2.1.0-next.0']);
    assert.deepEqual(multi.distTags, { latest: '2.0.0', next: '2.1.0-next.0' });
    assert.ok(byName(pkgs, 'old-deprecated').versions[0]?.deprecated);
    const ancient = byName(pkgs, 'ancient-sha1').versions[0];
    assert.ok(ancient);
    assert.equal(ancient.integrity, undefined);
    assert.equal(ancient.shasum, sha1hex(ancient.tarball));
    assert.deepEqual(byName(pkgs, '@fx/bin-linux-x64').versions[0]?.manifest['os'], ['linux']);
    assert.equal(Object.keys(byName(pkgs, '@fx/bin').versions[0]?.manifest['optionalDependencies'] as object).length, 4);
    assert.ok(byName(pkgs, '@fx/plugin').versions[0]?.manifest['peerDependencies']);
    assert.ok(pkgs.filter((p) => p.name.startsWith('@fx/lib-')).length >= 3);
    for (const p of pkgs) for (const v of p.versions) if (v.integrity) assert.equal(v.integrity, sha512(v.tarball));
    const roots = rootDependencies(pkgs);
    assert.ok(roots['@fx/core'] && roots['@fx/plugin'] && !roots['@fx/bin']);
  });
});

describe('fixture registry', () => {
  const pkgs = makeTree({ packages: 60 });
  let reg: FixtureRegistry;
  before(async () => {
    reg = await startRegistry(pkgs);
  });
  after(() => reg.close());

  it('serves a full packument and tarballs that match dist.integrity and dist.shasum', async () => {
    const res = await fetch(`${reg.url}/multi-ver`);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const doc = (await res.json()) as any;
    assert.equal(doc.name, 'multi-ver');
    assert.deepEqual(Object.keys(doc.versions), ['1.0.0', '1.1.0', '2.0.0', '2.1.0-next.0']);
    assert.ok(doc.time.created && doc.time['2.0.0']);
    for (const v of Object.values(doc.versions) as any[]) {
      assert.ok(v.dist.tarball.startsWith(`${reg.url}/multi-ver/-/multi-ver-`));
      const body = await bytes(await fetch(v.dist.tarball));
      assert.equal(sha512(body), v.dist.integrity);
      assert.equal(sha1hex(body), v.dist.shasum);
    }
  });

  it('answers Accept: application/vnd.npm.install-v1+json with an abbreviated packument', async () => {
    const res = await fetch(`${reg.url}/old-deprecated`, { headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*' } });
    assert.equal(res.headers.get('content-type'), 'application/vnd.npm.install-v1+json');
    const doc = (await res.json()) as any;
    assert.deepEqual(Object.keys(doc).sort(), ['dist-tags', 'modified', 'name', 'versions']);
    assert.deepEqual(Object.keys(doc.versions['1.0.0']).sort(), ['deprecated', 'dist', 'name', 'version']);
    const bin = (await (await fetch(`${reg.url}/@fx/bin`, { headers: { accept: 'application/vnd.npm.install-v1+json' } })).json()) as any;
    assert.ok(bin.versions['1.0.0'].optionalDependencies['@fx/bin-win32-x64'] && bin.versions['1.0.0'].bin);
  });

  it('serves scoped packages at every URL form npm clients use, and 404s the rest', async () => {
    for (const path of ['/@fx%2fbin', '/@fx%2Fbin', '/@fx/bin', '/%40fx%2fbin']) {
      const res = await fetch(`${reg.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(((await res.json()) as any).name, '@fx/bin');
    }
    const expected = byName(pkgs, '@fx/bin').versions[0]?.tarball;
    for (const path of ['/@fx/bin/-/bin-1.0.0.tgz', '/@fx%2fbin/-/bin-1.0.0.tgz']) {
      assert.deepEqual(await bytes(await fetch(`${reg.url}${path}`)), expected, path);
    }
    for (const path of ['/nope', '/@fx/bin/-/bin-9.9.9.tgz', '/%E0%A4%A']) {
      const res = await fetch(`${reg.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.deepEqual(await res.json(), { error: 'not found' });
    }
  });

  it('keeps connections alive and records every request path', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<boolean>((resolve, reject) => {
        const req = http.get(`${reg.url}${path}`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(req.reusedSocket));
        });
        req.on('error', reject);
      });
    const seen = reg.requests.length;
    assert.equal(await get('/pkg-0'), false);
    assert.equal(await get('/ancient-sha1'), true);
    assert.deepEqual(reg.requests.slice(seen), ['/pkg-0', '/ancient-sha1']);
    agent.destroy();
  });

  it('serves corrupt tarballs, transient 503s and delays when asked', async () => {
    const bad = await startRegistry(pkgs, { corrupt: ['@fx/core@1.1.0'], failFirst: { '/pkg-0': 2 }, delayMs: 40 });
    try {
      const doc = (await (await fetch(`${bad.url}/@fx/core`)).json()) as any;
      const body = await bytes(await fetch(doc.versions['1.1.0'].dist.tarball));
      assert.notEqual(sha512(body), doc.versions['1.1.0'].dist.integrity);
      assert.ok(tarHeaders(body).some((h) => h.name === 'package/CORRUPTED'), 'still a valid tarball');
      const good = await bytes(await fetch(doc.versions['1.0.0'].dist.tarball));
      assert.equal(sha512(good), doc.versions['1.0.0'].dist.integrity);
      const started = Date.now();
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${bad.url}/pkg-0`)).status);
      assert.deepEqual(statuses, [503, 503, 200]);
      assert.ok(Date.now() - started >= 3 * 40);
    } finally {
      await bad.close();
    }
  });
});

const PLATFORM_PACKAGES = ['@fx/bin-linux-x64', '@fx/bin-linux-arm64', '@fx/bin-darwin-arm64', '@fx/bin-win32-x64'];

describe('makeProjects', () => {
  const pkgs = makeTree({ packages: 60 });
  let reg: FixtureRegistry;
  let dir: string;
  let projects: Record<ProjectKind, string>;
  before(async () => {
    reg = await startRegistry(pkgs);
    dir = await mkdtemp(join(tmpdir(), 'offline-npm-fixtures-'));
    const started = Date.now();
    projects = await makeProjects(reg.url, dir, { dependencies: rootDependencies(pkgs) });
    console.log(`makeProjects: ${Date.now() - started} ms for ${PROJECT_KINDS.length} lockfiles`);
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every lockfile with the real tools, each naming all platform packages', async () => {
    const heads: Record<ProjectKind, RegExp> = {
      'npm-v1': /"lockfileVersion": 1,/,
      'npm-v2': /"lockfileVersion": 2,/,
      'npm-v3': /"lockfileVersion": 3,/,
      'npm-v3-resolved': /"lockfileVersion": 3,/,
      shrinkwrap: /"lockfileVersion": 3,/,
      'yarn-classic': /^# yarn lockfile v1$/m,
      'yarn-berry': /^__metadata:\n {2}version: \d+/m,
      'pnpm-v6': /^lockfileVersion: '6.0'$/m,
      'pnpm-v9': /^lockfileVersion: '9.0'$/m,
    };
    for (const kind of PROJECT_KINDS) {
      const text = await readFile(join(projects[kind], LOCKFILES[kind]), 'utf8');
      assert.match(text, heads[kind], kind);
      for (const name of PLATFORM_PACKAGES) assert.ok(text.includes(name), `${kind} names ${name}`);
      assert.ok((await stat(join(projects[kind], 'package-lock.npm.json'))).isFile());
    }
  });

  it('locks the whole tree, with and without resolved URLs', async () => {
    const lock = JSON.parse(await readFile(join(projects['npm-v3'], 'package-lock.json'), 'utf8'));
    const entries = Object.entries(lock.packages).filter(([k]) => k !== '') as [string, any][];
    assert.ok(new Set(entries.map(([k]) => k.replace(/^.*node_modules\//, ''))).size >= 50);
    assert.ok(entries.every(([, e]) => e.resolved === undefined && e.integrity));
    assert.equal(lock.packages['node_modules/@fx/bin-win32-x64'].optional, true);
    assert.equal(lock.packages['node_modules/ancient-sha1'].integrity.slice(0, 5), 'sha1-');
    const resolved = JSON.parse(await readFile(join(projects['npm-v3-resolved'], 'package-lock.json'), 'utf8'));
    const withUrl = Object.entries(resolved.packages).filter(([k]) => k !== '') as [string, any][];
    assert.ok(withUrl.every(([, e]) => e.resolved.startsWith(`${reg.url}/`)));
    const v1 = JSON.parse(await readFile(join(projects['npm-v1'], 'package-lock.json'), 'utf8'));
    assert.equal(v1.packages, undefined);
    assert.equal(v1.dependencies['@fx/bin'].requires['@fx/bin-linux-x64'], '1.0.0');
  });

  it('npm ci installs the npm-v3 project straight from the fixture registry', async () => {
    const project = join(dir, 'ci');
    const home = join(dir, 'ci-home');
    await cp(projects['npm-v3'], project, { recursive: true });
    await mkdir(join(home, 'tmp'), { recursive: true });
    await writeFile(join(home, '.npmrc'), '');
    const seen = reg.requests.length;
    const r = await run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project, env: isolatedEnv(home, reg.url) });
    assert.equal(r.code, 0, r.stderr);
    const installed = await readdir(join(project, 'node_modules/@fx'));
    const here = `@fx/bin-${process.platform}-${process.arch}`;
    for (const name of PLATFORM_PACKAGES) assert.equal(installed.includes(name.slice(4)), name === here, name);
    assert.ok((await stat(join(project, 'node_modules/.bin/fxbin'))).isFile());
    assert.ok(reg.requests.slice(seen).filter((p) => p.endsWith('.tgz')).length >= 50);
  });
});

describe('run', () => {
  it('reports non-zero exits and rejects on timeouts and missing programs with the argv', async () => {
    assert.deepEqual(await run('sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'in' }), { code: 3, stdout: 'in', stderr: 'err\n' });
    await assert.rejects(run('sleep', ['5'], { timeoutMs: 100 }), /sleep 5: timed out/);
    await assert.rejects(run('/nonexistent/tool', ['x']), /\/nonexistent\/tool x: could not start/);
  });

  it('inNetns gives a network with loopback only', async (t) => {
    const reason = await hasNetns();
    if (reason) return t.skip(reason);
    const r = await inNetns('ip -o link show | cut -d: -f2');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((s) => s.trim()), ['lo']);
  });
});
