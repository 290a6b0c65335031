/**
 * The PyPI mirror end to end: `offline sync` from a local PEP 503/691 index for several targets,
 * then `offline serve` and real pip inside a network namespace with loopback only — a loose
 * requirement and a fully pinned `--require-hashes` file.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/ecosystems/config.ts';
import { serve } from '../../src/core/serve.ts';
import { buildTools, makeFixtureIndex, pipEnv, pythonVersion, sha256hex, startIndex, type FixtureIndex, type FixtureProject } from '../helpers/pypi-fixtures.ts';
import { offline, serveInBackground } from '../helpers/offline-cli.ts';
import { hasNetns, inNetns } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

let projects: FixtureProject[];
let index: FixtureIndex;
let work: string;
let python: string;
/** Why the sdist's build tools (setuptools, wheel) cannot be served here, if they cannot. */
let buildToolsMissing: string | undefined;
const netnsMissing = await hasNetns();
const HOST = 'manylinux_2_28_x86_64'; // this machine: glibc 2.36, x86_64

before(async () => {
  work = await workDir('offline-pypi-');
  projects = await makeFixtureIndex();
  index = await startIndex(projects);
  python = await pythonVersion();
  buildToolsMissing = (await buildTools()).missing;
});

after(async () => {
  await index?.close();
  if (work && !process.env.OFFLINE_TEST_KEEP) await rm(work, { recursive: true, force: true });
});

type PypiInput = { requirements?: string[]; packages?: string[]; python: string[]; platforms: string[]; upstream?: string };

async function config(dir: string, pypi: PypiInput): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'offline.yaml');
  const port = await claimPorts(2);
  await writeFile(file, stringify({
    data: './mirrors',
    listen: '127.0.0.1',
    npm: { port: port + 1 },
    pypi: { port, upstream: pypi.upstream ?? index.url, requirements: pypi.requirements ?? [], packages: pypi.packages ?? [], python: pypi.python, platforms: pypi.platforms },
  }));
  return file;
}

async function mirrored(dir: string): Promise<string[]> {
  const root = join(dir, 'mirrors', 'pypi', 'files');
  const out: string[] = [];
  for (const project of await readdir(root).catch(() => [] as string[])) {
    for (const f of await readdir(join(root, project))) if (!f.endsWith('.metadata')) out.push(f);
  }
  return out.sort();
}

function file(name: string, prefix: string): { filename: string; bytes: Buffer } {
  const found = projects.find((p) => p.name === name)!.files.find((f) => f.filename.startsWith(prefix));
  assert.ok(found, `${prefix} in fixtures`);
  return found;
}

test('sync for this machine, then pip installs a loose and a --require-hashes file with no network', async (t) => {
  const dir = join(work, 'install');
  await mkdir(dir, { recursive: true });
  const loose = join(dir, 'requirements.txt');
  const extraSdist = buildToolsMissing ? '' : 'only-sdist\n';
  await writeFile(loose, `# loose ranges, an extra, a marker\napp[fast]>=1\nnative\nMixed_Case.Name\n${extraSdist}`);
  // What sync reads: the same file, behind an include and an index option it must ignore.
  const wrapper = join(dir, 'sync-requirements.txt');
  await writeFile(wrapper, '--index-url http://127.0.0.1:9/simple/\n-r requirements.txt\n');
  const pinned = join(dir, 'pinned.txt');
  const lines = [['app', '1.0.0', 'app-1.0.0-'], ['lib', '1.5.0', 'lib-1.5.0-'], ['extra-dep', '0.1.0', 'extra_dep-0.1.0-']]
    .map(([name, version, prefix]) => `${name}==${version} --hash=sha256:${sha256hex(file(name === 'extra-dep' ? 'extra-dep' : name!, prefix!).bytes)}`);
  await writeFile(pinned, `app[fast]==1.0.0 ${lines[0]!.split(' ')[1]}\n${lines.slice(1).join('\n')}\n`);
  const packages = buildToolsMissing ? [] : ['setuptools', 'wheel'];
  const cfg = await config(dir, { requirements: [wrapper, pinned], packages, python: [python], platforms: [HOST] });

  const synced = await offline(['sync', '-c', cfg, '--json']);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  const report = JSON.parse(synced.stdout);
  assert.ok(report.notes.some((n: { message: string }) => /index-url/.test(n.message)), 'index options are ignored with a note');
  const files = await mirrored(dir);
  assert.ok(files.includes('app-1.0.0-py3-none-any.whl'), files.join(' '));
  assert.ok(!files.some((f) => f.startsWith('app-2.0.0')), 'app 2.0.0 needs Python >= 3.13');
  assert.ok(files.some((f) => f.startsWith('lib-1.5.0')), 'the highest lib in >=1.0,<2');
  assert.ok(!files.some((f) => f.startsWith('tomli_like')), `tomli-like is only for Python < 3.11 (${python})`);

  if (netnsMissing) return t.skip(`no network namespace: ${netnsMissing}`);
  const home = join(dir, 'home');
  await mkdir(home, { recursive: true });
  const port = (await loadConfig(cfg)).pypi.port;
  const pipCmd = `python3 -m pip --isolated --disable-pip-version-check --no-cache-dir --no-input install --index-url http://127.0.0.1:${port}/simple/`;
  const script = [
    serveInBackground(cfg, join(dir, 'serve.log')),
    `${pipCmd} --target '${join(dir, 'loose')}' -r '${loose}' || exit 1`,
    `${pipCmd} --target '${join(dir, 'pinned')}' --require-hashes -r '${pinned}' || exit 2`,
  ].join('\n');
  const installed = await inNetns(script, { env: pipEnv(home), timeoutMs: 300_000 });
  assert.equal(installed.code, 0, `${installed.stdout}\n${installed.stderr}`);
  const loosePkgs = await readdir(join(dir, 'loose'));
  for (const dist of ['app-1.0.0.dist-info', 'lib-1.5.0.dist-info', 'extra_dep-0.1.0.dist-info', 'native-1.0.0.dist-info']) {
    assert.ok(loosePkgs.includes(dist), `${dist} in ${loosePkgs.join(' ')}`);
  }
  if (!buildToolsMissing) assert.ok(loosePkgs.includes('only_sdist-1.0.0.dist-info'), 'the sdist was built and installed offline');
  assert.ok((await readdir(join(dir, 'pinned'))).includes('lib-1.5.0.dist-info'));
});

test('each target gets the files that fit it and not others', async () => {
  const dir = join(work, 'targets');
  const cfg = await config(dir, { packages: ['native', 'app'], python: ['3.11'], platforms: ['manylinux_2_28_x86_64'] });
  assert.equal((await offline(['sync', '-c', cfg])).code, 0);
  const first = await mirrored(dir);
  assert.deepEqual(first.filter((f) => f.startsWith('native')), ['native-1.0.0-cp311-cp311-manylinux_2_28_x86_64.whl']);

  const both = await config(dir, { packages: ['native', 'app'], python: ['3.11', '3.10'], platforms: ['manylinux_2_28_x86_64', 'musllinux_1_2_aarch64'] });
  const synced = await offline(['sync', '-c', both]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  const files = await mirrored(dir);
  assert.ok(files.includes('native-1.0.0.tar.gz'), 'no wheel fits 3.10 or musllinux on 3.11: the sdist is taken');
  assert.ok(!files.some((f) => /cp312|macosx/.test(f)), `no file for an unselected target: ${files.join(' ')}`);
  assert.ok(files.some((f) => f.startsWith('tomli_like-1.0.0')), 'the python_version < "3.11" marker holds for 3.10');
  const status = JSON.parse((await offline(['status', '-c', both, '--json'])).stdout);
  const pypi = status.mirrors.find((m: { name: string }) => m.name === 'pypi');
  assert.equal(pypi.counts.files, files.length);
  assert.deepEqual(pypi.targets.sort(), ['3.10/manylinux_2_28_x86_64', '3.10/musllinux_1_2_aarch64', '3.11/manylinux_2_28_x86_64', '3.11/musllinux_1_2_aarch64']);
});

test('a file whose sha256 does not match the index is refused, reported, and never served', async () => {
  const bad = await startIndex(projects, { corrupt: ['lib-1.5.0-py3-none-any.whl'] });
  try {
    const dir = join(work, 'corrupt');
    const cfg = await config(dir, { upstream: bad.url, packages: ['app'], python: ['3.11'], platforms: [HOST] });
    const synced = await offline(['sync', '-c', cfg]);
    assert.equal(synced.code, 1, synced.stdout + synced.stderr);
    const expected = `sha256-${Buffer.from(sha256hex(file('lib', 'lib-1.5.0').bytes), 'hex').toString('base64')}`;
    assert.ok(synced.stdout.includes(`lib-1.5.0-py3-none-any.whl: integrity mismatch: expected ${expected}, got sha256-`), synced.stdout);
    assert.ok(!(await mirrored(dir)).some((f) => f.startsWith('lib-1.5.0')));
    const serving = await serve({ config: await loadConfig(cfg), host: '127.0.0.1', ports: 'ephemeral' });
    try {
      const base = serving.mirrors.find((m) => m.name === 'pypi')!.url;
      assert.equal((await fetch(`${base}lib/`)).status, 404, 'no verified lib file, so no lib page');
      assert.equal((await fetch(`${base.replace('/simple/', '/files/')}lib/lib-1.5.0-py3-none-any.whl`)).status, 404);
    } finally {
      await serving.close();
    }
  } finally {
    await bad.close();
  }
});

test('unsatisfiable requirements produce an error naming the conflict', async () => {
  const dir = join(work, 'conflict');
  await mkdir(dir, { recursive: true });
  const reqs = join(dir, 'requirements.txt');
  await writeFile(reqs, 'app==1.0.0\nlib>=2\n');
  const cfg = await config(dir, { requirements: [reqs], python: ['3.11'], platforms: [HOST] });
  const synced = await offline(['sync', '-c', cfg]);
  assert.equal(synced.code, 1);
  assert.match(synced.stdout, /requirements\.txt for Python 3\.11 on manylinux_2_28_x86_64: cannot resolve .*lib/);
  assert.match(synced.stdout, /lib>=1\.0,<2 from app 1\.0\.0|lib>=2 from .*requirements\.txt:2/);
  assert.doesNotMatch(synced.stdout + synced.stderr, /\n\s+at /);
});

test('the served index: PEP 691 JSON and PEP 503 HTML, redirects, yanks, Requires-Python, PEP 658 metadata, fast 404s', async () => {
  const dir = join(work, 'served');
  const cfg = await config(dir, { packages: ['app', 'Mixed_Case.Name', 'lib==1.4.0'], python: ['3.11'], platforms: [HOST] });
  const synced = await offline(['sync', '-c', cfg]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  const serving = await serve({ config: await loadConfig(cfg), host: '127.0.0.1', ports: 'ephemeral' });
  try {
    const base = serving.mirrors.find((m) => m.name === 'pypi')!.url;
    const json = await fetch(`${base}lib/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1, text/html;q=0.01' } });
    assert.equal(json.headers.get('content-type'), 'application/vnd.pypi.simple.v1+json');
    const doc = await json.json() as { versions: string[]; files: Array<Record<string, unknown>> };
    assert.deepEqual(doc.versions, ['1.4.0'], 'one environment: the exact pin satisfies app\'s range too');
    const wheel = doc.files.find((f) => String(f.filename).startsWith('lib-1.4.0'))!;
    assert.equal(wheel.yanked, 'broken', 'a yanked file pinned exactly is mirrored and still flagged');
    const meta = wheel['core-metadata'] as { sha256: string };
    assert.ok(!('dist-info-metadata' in wheel), 'PEP 714: JSON carries core-metadata only (pip 22.3–23.1 crash on dist-info-metadata)');
    const metadata = Buffer.from(await (await fetch(new URL(`${wheel.url}.metadata`, `${base}lib/`))).arrayBuffer());
    assert.equal(sha256hex(metadata), meta.sha256);
    assert.match(metadata.toString(), /^Metadata-Version: /);

    const html = await (await fetch(`${base}app/`, { headers: { accept: 'text/html' } })).text();
    assert.match(html, /href="\.\.\/\.\.\/files\/app\/app-1\.0\.0-py3-none-any\.whl#sha256=[0-9a-f]{64}"/);
    assert.match(html, /data-requires-python="&gt;=3\.8"/);
    assert.match(html, /data-core-metadata="sha256=[0-9a-f]{64}"/);

    const redirect = await fetch(`${base}Mixed_Case.Name/`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/simple/mixed-case-name/');
    const started = performance.now();
    assert.equal((await fetch(`${base}not-mirrored/`)).status, 404);
    assert.ok(performance.now() - started < 5000);
    const list = await (await fetch(base, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })).json() as { projects: Array<{ name: string }> };
    assert.deepEqual(list.projects.map((p) => p.name).sort(), ['app', 'lib', 'mixed-case-name']);
  } finally {
    await serving.close();
  }
  const stored = JSON.parse(await readFile(join(dir, 'mirrors', 'pypi', 'projects', 'lib.json'), 'utf8'));
  assert.ok(stored.files.every((f: { size: number }) => f.size > 0));
});

test('an HTML-only index without PEP 658 metadata: dependencies come from the wheels by range requests', async () => {
  const plain = await startIndex(projects, { json: false, metadata: false });
  try {
    const dir = join(work, 'html-only');
    const cfg = await config(dir, { upstream: plain.url, packages: ['app[fast]'], python: ['3.11'], platforms: [HOST] });
    const synced = await offline(['sync', '-c', cfg]);
    assert.equal(synced.code, 0, synced.stdout + synced.stderr);
    assert.deepEqual((await mirrored(dir)).map((f) => f.split('-').slice(0, 2).join('-')), ['app-1.0.0', 'extra_dep-0.1.0', 'lib-1.5.0']);
    assert.ok(!plain.requests.some((r) => r.endsWith('.metadata')), 'no PEP 658 file was asked for');
    const metadataFile = join(dir, 'mirrors', 'pypi', 'files', 'app', 'app-1.0.0-py3-none-any.whl.metadata');
    assert.match(await readFile(metadataFile, 'utf8'), /Requires-Dist: lib/, 'the mirror still serves PEP 658 metadata, extracted from the wheel');
  } finally {
    await plain.close();
  }
});

test('lockfiles that pin a closure are taken as they are: poetry.lock, uv.lock, Pipfile.lock', async () => {
  const dir = join(work, 'locked');
  await mkdir(dir, { recursive: true });
  const app = file('app', 'app-1.0.0-');
  const lib = file('lib', 'lib-1.0.0-');
  const hash = (f: { bytes: Buffer }) => sha256hex(f.bytes);
  await writeFile(join(dir, 'poetry.lock'), [
    '[[package]]', 'name = "app"', 'version = "1.0.0"', 'description = ""', 'optional = false', 'python-versions = ">=3.8"',
    `files = [\n    {file = "${app.filename}", hash = "sha256:${hash(app)}"},\n]`, '',
    '[package.dependencies]', 'lib = ">=1.0,<2"', '',
    '[[package]]', 'name = "lib"', 'version = "1.0.0"', 'description = ""', 'optional = false', 'python-versions = "*"',
    `files = [\n    {file = "${lib.filename}", hash = "sha256:${hash(lib)}"},\n]`, '',
    '[metadata]', 'lock-version = "2.0"', 'python-versions = "^3.11"', 'content-hash = "0"', '',
  ].join('\n'));
  const native = file('native', 'native-1.0.0-cp311');
  await writeFile(join(dir, 'Pipfile.lock'), JSON.stringify({
    _meta: { hash: { sha256: '0' }, 'pipfile-spec': 6, requires: {}, sources: [] },
    default: { native: { hashes: [`sha256:${hash(native)}`], version: '==1.0.0' } },
    develop: {},
  }));
  const tomli = file('tomli-like', 'tomli_like-1.0.0');
  await writeFile(join(dir, 'uv.lock'), [
    'version = 1', 'requires-python = ">=3.10"', '',
    '[[package]]', 'name = "tomli-like"', 'version = "1.0.0"', `source = { registry = "${index.url}" }`,
    `wheels = [\n    { url = "${index.url}../files/tomli-like/${tomli.filename}", hash = "sha256:${hash(tomli)}" },\n]`, '',
  ].join('\n'));
  const cfg = await config(dir, { requirements: [join(dir, 'poetry.lock'), join(dir, 'Pipfile.lock'), join(dir, 'uv.lock')], python: ['3.11'], platforms: [HOST] });
  const synced = await offline(['sync', '-c', cfg]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  assert.deepEqual(await mirrored(dir), [app.filename, lib.filename, native.filename, tomli.filename].sort(),
    'exactly the pinned files: lib 1.0.0 as locked, not the newest in range');
});
