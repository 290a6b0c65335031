/**
 * Hostile input, as an attacker would send it. Each ecosystem's sync runs against an upstream
 * whose metadata names paths outside the mirror in every spelling a decoder might undo; each
 * mirror is then asked, over raw HTTP, for files outside its content the same ways. The checks
 * are on the file system and the bytes served, not only on exit codes: nothing is written
 * outside the data directory (nor anywhere under a name the attacker chose), nothing outside what
 * a mirror published is served, and every refused item is a failure that names it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig, withAllMirrors } from '../../src/ecosystems/config.ts';
import { serve, type Serving } from '../../src/core/serve.ts';
import {
  hostileLockfile, hostileNpm, hostilePacman, hostilePoetryLock, hostilePypi, hostileRegistry, type Hostile,
} from '../helpers/hostile-upstreams.ts';
import { offline } from '../helpers/offline-cli.ts';
import { sha256hex } from '../helpers/pypi-wheels.ts';
import { workDir } from '../helpers/work-dir.ts';

const MARKER = `PWNED${randomBytes(4).toString('hex')}`;
const SECRET = `SECRET-${randomBytes(8).toString('hex')}`;

let sandbox: string;
let home: string;
let data: string;
const upstreams: Hostile[] = [];

type Tree = Map<string, string>;

/** Every file and directory below `root` but inside `skip`, with size and mtime. */
async function tree(root: string, skip: string): Promise<Tree> {
  const out: Tree = new Map();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (path === skip || path.startsWith(skip + sep)) continue;
    const info = await stat(path).catch(() => undefined);
    out.set(relative(root, path), info ? `${info.size} ${info.mtimeMs}` : 'gone');
  }
  return out;
}

/** Names containing the marker: anywhere in the sandbox, or at the top of /tmp and /. */
async function markerFiles(): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(sandbox, { recursive: true })) if (String(entry).includes(MARKER)) found.push(join(sandbox, String(entry)));
  for (const dir of ['/tmp', '/']) for (const name of await readdir(dir)) if (name.includes(MARKER)) found.push(join(dir, name));
  return found;
}

before(async () => {
  sandbox = await workDir('offline-hostile-');
  await writeFile(join(sandbox, 'secret.txt'), `${SECRET}\n`);
  home = join(sandbox, 'deep', 'a', 'b', 'c');
  data = join(home, 'mirrors');
  await mkdir(data, { recursive: true });
});

after(async () => {
  await Promise.all(upstreams.map((u) => u.close()));
});

type Report = { ok: boolean; failures: Array<{ ecosystem: string; item: string; code: string; message: string }>; ecosystems: Array<{ name: string; downloaded: number }> };

/** Sync `sections` into the shared data directory; the file system outside it must not change. */
async function hostileSync(name: string, sections: Record<string, unknown>): Promise<Report> {
  const file = join(home, `${name}.yaml`);
  await writeFile(file, stringify({ data: './mirrors', listen: '127.0.0.1', ...sections }));
  const before = await tree(sandbox, data);
  const r = await offline(['sync', '-c', file, '--json', '--retries', '0']);
  assert.doesNotMatch(r.stderr, /internal error|TypeError|RangeError/, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(r.code, 1, 'a sync with refused items exits 1');
  const afterwards = await tree(sandbox, data);
  afterwards.delete(`deep${sep}a${sep}b${sep}c${sep}${name}.yaml`);
  before.delete(`deep${sep}a${sep}b${sep}c${sep}${name}.yaml`);
  assert.deepEqual(afterwards, before, 'nothing outside the data directory was written or changed');
  assert.deepEqual(await markerFiles(), [], 'no file carries a name the upstream chose to escape with');
  for (const f of report.failures) assert.doesNotMatch(f.code, /INTERNAL/, JSON.stringify(f));
  return report;
}

function refusedItems(report: Report, ecosystem: string): string[] {
  return report.failures.filter((f) => f.ecosystem === ecosystem && f.code === 'OFFLINE_ERR_UNSAFE').map((f) => `${f.item}: ${f.message}`);
}

describe('a sync against a hostile upstream writes nothing outside the mirror and names every refused item', () => {
  test('npm: tarball URLs and versions that traverse, lockfile names that are paths', async () => {
    const npm = await hostileNpm(MARKER);
    upstreams.push(npm);
    const lockDir = join(home, 'project');
    await mkdir(lockDir, { recursive: true });
    await writeFile(join(lockDir, 'package-lock.json'), hostileLockfile(MARKER));
    const report = await hostileSync('npm', { npm: { upstream: npm.url, packages: ['good@1.0.0', ...npm.evil], lockfiles: ['project/package-lock.json'] } });
    const refused = refusedItems(report, 'npm');
    for (const name of npm.evil) assert.ok(refused.some((r) => r.startsWith(`${name}@1.0.0: refused tarball file name`)), `${name} in ${refused.join('\n')}`);
    assert.equal(refused.filter((r) => /refused npm package name/.test(r)).length, 6, refused.join('\n'));
    assert.ok(refused.every((r) => r.includes(MARKER)), 'each names the offending value');
    assert.equal(report.ecosystems.find((e) => e.name === 'npm')!.downloaded, 1, 'the honest package is mirrored');
    assert.ok(!npm.server.requests.some((p) => p.includes(MARKER)), `nothing refused is fetched: ${npm.server.requests.join(' ')}`);
  });

  test('PyPI: file names in JSON and HTML pages that traverse, lockfile names that are paths', async () => {
    const pypi = await hostilePypi(MARKER);
    upstreams.push(pypi);
    const reqs: string[] = [];
    for (const project of ['good', ...pypi.evil]) {
      const file = join(home, `req-${project}.txt`);
      await writeFile(file, `${project}\n`);
      reqs.push(file);
    }
    await writeFile(join(home, 'poetry.lock'), hostilePoetryLock(MARKER));
    const report = await hostileSync('pypi', { pypi: { upstream: pypi.url, requirements: [...reqs, 'poetry.lock'], python: ['3.12'], platforms: ['manylinux_2_17_x86_64'] } });
    const refused = refusedItems(report, 'pypi');
    for (const project of pypi.evil) assert.ok(refused.some((r) => r.startsWith(`${project}: "`)), `${project} in ${refused.join('\n')}`);
    assert.ok(refused.filter((r) => /refused PyPI project name/.test(r)).length >= 5, refused.join('\n'));
    assert.equal(report.ecosystems.find((e) => e.name === 'pypi')!.downloaded, 1, 'the honest wheel is mirrored');
    assert.ok(!pypi.server.requests.some((p) => p.startsWith('/dl/') && !p.includes('good')), `nothing refused is fetched: ${pypi.server.requests.join(' ')}`);
  });

  test('pacman: %FILENAME%, entry directories and %SHA256SUM% that traverse', async () => {
    const pacman = await hostilePacman(MARKER);
    upstreams.push(pacman);
    const report = await hostileSync('pacman', { pacman: { upstream: pacman.url, repos: ['core'], packages: ['good', ...pacman.evil] } });
    const refused = refusedItems(report, 'pacman');
    for (const name of pacman.evil) assert.ok(refused.some((r) => r.startsWith(`core/${name} 1-1 (x86_64): refused`)), `${name} in ${refused.join('\n')}`);
    assert.ok(report.failures.some((f) => f.item === 'generation'), 'no generation is published with refused packages in the closure');
    assert.ok(!pacman.server.requests.some((p) => p.includes(MARKER)), `nothing refused is fetched: ${pacman.server.requests.join(' ')}`);
  });

  test('OCI: descriptor digests with a tail, another algorithm or upper case; a media type the body is not', async () => {
    const registry = await hostileRegistry(MARKER);
    upstreams.push(registry);
    const images = ['fixture.test/good/app:1', ...registry.evil.map((e) => `fixture.test/${e}:1`)];
    const report = await hostileSync('docker', { docker: { images, registries: { 'fixture.test': registry.url } } });
    for (const [i, evil] of registry.evil.entries()) {
      const failure = report.failures.find((f) => f.item === `docker.images[${i + 1}] "fixture.test/${evil}:1"`);
      assert.ok(failure, `${evil}: ${JSON.stringify(report.failures)}`);
      assert.match(failure.message, /digest is not sha256|not an image manifest or index/);
    }
    assert.equal(report.ecosystems.find((e) => e.name === 'docker')!.downloaded, 2, 'the honest image: its config and layer');
    assert.ok(!registry.server.requests.some((p) => p.includes(MARKER)), `nothing refused is fetched: ${registry.server.requests.join(' ')}`);
  });

  test('a config that names images, repos and platforms as paths is refused before anything is fetched', async () => {
    const file = join(home, 'names.yaml');
    await writeFile(file, stringify({ data: './mirrors', docker: { images: [`../../${MARKER}:1`, `fixture.test/..%2F${MARKER}:1`] }, pacman: { repos: [`../${MARKER}`], packages: ['x'] } }));
    const r = await offline(['sync', '-c', file, '--json']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /pacman\.repos\[0\]/);
    assert.deepEqual(await markerFiles(), []);
  });
});

/** One raw request: the path goes out exactly as written, with no client normalizing it. */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer for ${path}`)));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), body: text });
    });
    // write, not end: a server may drop a half-closed connection before it answers.
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
  });
}

/** `secret.txt` (and /etc/passwd) behind every prefix, at every depth, in every spelling. */
function traversals(prefix: string): string[] {
  const ups = ['../', '..%2F', '..%2f', '%2e%2e%2f', '%2E%2E/', '%252e%252e%252f', '..%5C', '..\\', '.%2e/', '%c0%ae%c0%ae/'];
  const out: string[] = [];
  for (const up of ups) {
    for (let depth = 1; depth <= 9; depth++) out.push(`${prefix}${up.repeat(depth)}secret.txt`);
    out.push(`${prefix}${up.repeat(14)}etc/passwd`);
  }
  return out;
}

describe('serving answers only from what each mirror published', () => {
  let serving: Serving;
  const port = (name: string) => Number(new URL(serving.mirrors.find((m) => m.name === name)!.url.replace('$repo/os/$arch', '')).port);
  let wheel: string;
  let stray: string;

  before(async () => {
    // pacman publishes a generation only when the whole closure is verified: sync the honest one.
    const pacman = upstreams.find((u) => u.url.includes('$repo'))!;
    const file = join(home, 'pacman-good.yaml');
    await writeFile(file, stringify({ data: './mirrors', listen: '127.0.0.1', pacman: { upstream: pacman.url, repos: ['core'], packages: ['good'] } }));
    const r = await offline(['sync', '-c', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // Files that are on disk but not published: a temporary file of the atomic writer, a partial
    // download, and a blob no manifest of the repository names.
    const files = join(data, 'pypi', 'files', 'good');
    wheel = (await readdir(files)).find((f) => f.endsWith('.whl'))!;
    await writeFile(join(files, `${wheel}.tmp-1-deadbeef`), SECRET);
    await writeFile(join(files, `${wheel}.partial`), SECRET);
    stray = `sha256:${sha256hex(SECRET)}`;
    await writeFile(join(data, 'docker', 'blobs', 'sha256', sha256hex(SECRET)), SECRET);
    // Every mirror, though this config names only pacman: the others serve what earlier syncs published.
    serving = await serve({ config: withAllMirrors(await loadConfig(file)), host: '127.0.0.1', ports: 'ephemeral' });
  });

  after(() => serving?.close());

  async function assertRefused(mirror: string, paths: string[]): Promise<void> {
    const served: string[] = [];
    for (const path of paths) {
      const r = await rawGet(port(mirror), path);
      if (r.status >= 500 || r.status === 0 || r.body.includes(SECRET) || r.body.includes('root:x:0:0')) served.push(`${r.status} ${path}`);
    }
    assert.deepEqual(served, [], `${mirror} answered these with an error or with a file it never published`);
  }

  test('the honest items are served (so the refusals below are not an empty mirror)', async () => {
    assert.equal((await rawGet(port('npm'), '/good')).status, 200);
    assert.equal((await rawGet(port('npm'), '/good/-/good-1.0.0.tgz')).status, 200);
    assert.equal((await rawGet(port('pypi'), `/files/good/${wheel}`)).status, 200);
    assert.equal((await rawGet(port('pypi'), `/files/good/${wheel}.metadata`)).status, 200);
    assert.equal((await rawGet(port('pacman'), '/core/os/x86_64/good-1-1-any.pkg.tar.zst')).status, 200);
    assert.equal((await rawGet(port('docker'), '/v2/fixture.test/good/app/manifests/1')).status, 200);
  });

  test('npm (verdaccio)', async () => {
    await assertRefused('npm', [
      ...traversals('/'), ...traversals('/good/-/'), ...traversals('/good/'), ...traversals('/@scope/'),
      '/@scope%2f..%2f..%2f..%2fsecret.txt', '/good/-/good-1.0.0.tgz%00.txt',
    ]);
  });

  test('PyPI', async () => {
    await assertRefused('pypi', [
      ...traversals('/files/good/'), ...traversals('/files/'), ...traversals('/simple/'), ...traversals(`/files/good/${wheel}/`),
      '/files/x/a%2F..%2F..%2F..%2F..%2F..%2F..%2Fsecret.txt',
      `/files/good/${wheel}.tmp-1-deadbeef`, `/files/good/${wheel}.partial`, `/files/Good/${wheel}.tmp-1-deadbeef`,
    ]);
    for (const path of [`/files/good/${wheel}.tmp-1-deadbeef`, `/files/good/${wheel}.partial`]) assert.equal((await rawGet(port('pypi'), path)).status, 404, path);
  });

  test('pacman', async () => {
    await assertRefused('pacman', [
      ...traversals('/core/os/x86_64/'), ...traversals('/core/os/'), ...traversals('/'),
      ...['__proto__', 'constructor', 'toString', 'hasOwnProperty', '__defineGetter__'].flatMap((n) => [`/core/os/x86_64/${n}`, `/${n}/os/x86_64/core.db`, `/core/os/${n}/core.db`]),
    ]);
    assert.equal((await rawGet(port('pacman'), '/core/os/x86_64/__proto__')).status, 404);
  });

  test('OCI: names, references, digests and ?ns= that traverse; a blob the repository does not name', async () => {
    await assertRefused('docker', [
      ...traversals('/v2/'), ...traversals('/v2/fixture.test/good/app/blobs/'), ...traversals('/v2/fixture.test/good/app/manifests/'),
      ...['../../../..', '..%2F..%2F..', '%2e%2e', '/etc', 'fixture.test/../../..'].map((ns) => `/v2/secret.txt/manifests/latest?ns=${ns}`),
      '/v2/../../../../secret.txt/manifests/latest', '/v2/fixture.test/good/app/manifests/__proto__', '/v2/fixture.test/good/app/manifests/constructor',
      `/v2/fixture.test/good/app/blobs/${stray}`, `/v2/fixture.test/good/app/blobs/${stray}%2F..%2F..`,
    ]);
    assert.equal((await rawGet(port('docker'), `/v2/fixture.test/good/app/blobs/${stray}`)).status, 404, 'a blob is served only in a repository that names it');
  });
});
