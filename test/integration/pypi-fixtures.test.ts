import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { compare } from '@renovatebot/pep440';
import { unzipSync } from 'fflate';
import {
  buildTools,
  corruptArchive,
  expandTags,
  filenameVersion,
  makeFixtureIndex,
  makeSdist,
  makeWheel,
  negotiate,
  pip,
  pipEnv,
  pythonVersion,
  sha256hex,
  startIndex,
} from '../helpers/pypi-fixtures.ts';
import type { FixtureFile, FixtureIndex, FixtureProject } from '../helpers/pypi-fixtures.ts';
import { hasNetns, inNetns, run } from '../helpers/run.ts';

const PIP_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'offline-pypi-fixtures-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

let dirs = 0;
async function dir(): Promise<string> {
  return mkdtemp(join(work, `${dirs++}-`));
}

function unzip(bytes: Buffer): Record<string, string> {
  return Object.fromEntries(Object.entries(unzipSync(bytes)).map(([k, v]) => [k, Buffer.from(v).toString()]));
}

function tarNames(tgz: Buffer): string[] {
  const tar = gunzipSync(tgz);
  const names: string[] = [];
  for (let off = 0; off + 512 <= tar.length; ) {
    const block = tar.subarray(off, off + 512);
    if (block.every((b) => b === 0)) break;
    names.push(block.subarray(0, 100).toString('latin1').replace(/\0.*$/s, ''));
    off += 512 + Math.ceil(parseInt(block.subarray(124, 136).toString('latin1'), 8) / 512) * 512;
  }
  return names;
}

/** `name-version` of every distribution installed in a `--target` directory. */
async function installed(target: string): Promise<string[]> {
  return (await readdir(target)).filter((n) => n.endsWith('.dist-info')).map((n) => n.replace(/\.dist-info$/, '')).sort();
}

const allFiles = (projects: FixtureProject[]) => projects.flatMap((p) => p.files);
const fileNamed = (projects: FixtureProject[], filename: string) =>
  allFiles(projects).find((f) => f.filename === filename) as FixtureFile;

describe('makeWheel and makeSdist', () => {
  it('a wheel is repeatable, named per the wheel spec, and its RECORD hashes are right', async () => {
    const opts = { name: 'Mixed_Case.Name', version: '1.0.0', requiresDist: ['lib>=1'], files: { 'mixed_case_name/data.txt': 'x\n' } };
    const wheel = await makeWheel(opts);
    assert.deepEqual(wheel, await makeWheel(opts));
    assert.equal(wheel.filename, 'mixed_case_name-1.0.0-py3-none-any.whl');
    const files = unzip(wheel.bytes);
    const info = 'mixed_case_name-1.0.0.dist-info';
    assert.deepEqual(Object.keys(files), [
      'mixed_case_name/__init__.py', 'mixed_case_name/data.txt', `${info}/METADATA`, `${info}/WHEEL`, `${info}/RECORD`,
    ]);
    assert.equal(files[`${info}/METADATA`], wheel.metadata);
    assert.match(wheel.metadata, /^Metadata-Version: 2\.1\nName: Mixed_Case\.Name\nVersion: 1\.0\.0\n/);
    assert.match(wheel.metadata, /^Requires-Dist: lib>=1$/m);
    assert.match(files[`${info}/WHEEL`] ?? '', /^Root-Is-Purelib: true\nTag: py3-none-any\n$/m);
    const record = (files[`${info}/RECORD`] ?? '').trim().split('\n').map((l) => l.split(','));
    assert.deepEqual(record.at(-1), [`${info}/RECORD`, '', '']);
    for (const [path = '', hash, size] of record.slice(0, -1)) {
      const body = Buffer.from(files[path] ?? '');
      assert.equal(hash, `sha256=${Buffer.from(sha256hex(body), 'hex').toString('base64url')}`, path);
      assert.equal(Number(size), body.length, path);
    }
  });

  it('a platform wheel lists every expanded tag and is not purelib', async () => {
    const tag = 'cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64';
    const wheel = await makeWheel({ name: 'native', version: '1.0.0', tag });
    assert.equal(wheel.filename, `native-1.0.0-${tag}.whl`);
    const text = unzip(wheel.bytes)['native-1.0.0.dist-info/WHEEL'] ?? '';
    assert.match(text, /^Root-Is-Purelib: false$/m);
    assert.deepEqual([...text.matchAll(/^Tag: (.*)$/gm)].map((m) => m[1]), expandTags(tag));
    assert.deepEqual(expandTags('py2.py3-none-any'), ['py2-none-any', 'py3-none-any']);
  });

  it('an sdist is repeatable and holds PKG-INFO 2.2, pyproject.toml, setup.cfg and the module', async () => {
    const opts = { name: 'only-sdist', version: '1.0.0', requiresDist: ['lib>=1.0'], requiresPython: '>=3.8' };
    const sdist = await makeSdist(opts);
    assert.deepEqual(sdist, await makeSdist(opts));
    assert.equal(sdist.filename, 'only_sdist-1.0.0.tar.gz');
    assert.deepEqual(tarNames(sdist.bytes), ['PKG-INFO', 'pyproject.toml', 'setup.cfg', 'only_sdist/__init__.py'].map((n) => `only_sdist-1.0.0/${n}`));
    assert.match(sdist.metadata, /^Metadata-Version: 2\.2\n/);
    assert.match(sdist.metadata, /^Requires-Dist: lib>=1\.0$/m);
    assert.doesNotMatch(sdist.metadata, /^Dynamic:/m);
  });

  it('a corrupted archive differs but still opens', async () => {
    const wheel = await makeWheel({ name: 'x', version: '1' });
    const bad = corruptArchive(wheel.filename, wheel.bytes);
    assert.notEqual(sha256hex(bad), sha256hex(wheel.bytes));
    assert.ok('CORRUPTED' in unzip(bad));
    const sdist = await makeSdist({ name: 'x', version: '1' });
    assert.ok(tarNames(corruptArchive(sdist.filename, sdist.bytes)).includes('CORRUPTED'));
  });
});

describe('fixture index over HTTP', () => {
  let projects: FixtureProject[];
  let index: FixtureIndex;
  before(async () => {
    projects = await makeFixtureIndex();
    index = await startIndex(projects);
  });
  after(() => index.close());

  const get = (path: string, accept?: string) =>
    fetch(new URL(path, index.url), { headers: accept ? { accept } : {}, redirect: 'manual' });

  it('has the projects, versions, yanks and requires-python the mirror tests rely on', () => {
    const versions = (name: string) => projects.find((p) => p.name === name)?.files.map((f) => filenameVersion(f.filename));
    assert.deepEqual(versions('app'), ['1.0.0', '2.0.0']);
    assert.deepEqual(versions('lib'), ['1.0.0', '1.4.0', '1.5.0', '2.0.0']);
    assert.equal(fileNamed(projects, 'lib-1.4.0-py3-none-any.whl').yanked, 'broken');
    assert.equal(fileNamed(projects, 'lib-1.5.0-py3-none-any.whl').yanked, false);
    assert.equal(fileNamed(projects, 'app-2.0.0-py3-none-any.whl').requiresPython, '>=3.13');
    assert.deepEqual(projects.find((p) => p.name === 'native')?.files.map((f) => f.filename).filter((f) => f.endsWith('.tar.gz')), ['native-1.0.0.tar.gz']);
    assert.equal(projects.find((p) => p.name === 'native')?.files.length, 5);
    assert.deepEqual(projects.find((p) => p.name === 'only-sdist')?.files.map((f) => f.filename), ['only_sdist-1.0.0.tar.gz']);
    assert.ok(projects.some((p) => p.name === 'Mixed_Case.Name'));
  });

  it("pip's Accept header gets PEP 691 JSON with hashes, sizes, versions and core-metadata", async () => {
    const res = await get('app/', PIP_ACCEPT);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), JSON_TYPE);
    const page = (await res.json()) as { meta: object; name: string; versions: string[]; files: Array<Record<string, unknown>> };
    assert.deepEqual(page.meta, { 'api-version': '1.1' });
    assert.equal(page.name, 'app');
    assert.deepEqual(page.versions, ['1.0.0', '2.0.0']);
    const app2 = page.files.find((f) => f['filename'] === 'app-2.0.0-py3-none-any.whl');
    const fixture = fileNamed(projects, 'app-2.0.0-py3-none-any.whl');
    assert.deepEqual(app2?.['hashes'], { sha256: sha256hex(fixture.bytes) });
    assert.equal(app2?.['requires-python'], '>=3.13');
    assert.equal(app2?.['size'], fixture.bytes.length);
    assert.deepEqual(app2?.['core-metadata'], { sha256: sha256hex(fixture.metadata) });
    assert.deepEqual(app2?.['data-dist-info-metadata'], app2?.['core-metadata'], 'the old key as PyPI names it in JSON');
    assert.equal(app2?.['dist-info-metadata'], undefined, 'a JSON dist-info-metadata key crashes pip 22.3–23.1');
    assert.match(String(app2?.['upload-time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const list = (await (await get('', PIP_ACCEPT)).json()) as { projects: Array<{ name: string }> };
    assert.ok(list.projects.some((p) => p.name === 'Mixed_Case.Name'));
  });

  it('an HTML Accept header gets PEP 503 anchors with escaped requires-python, yanks and metadata', async () => {
    const res = await get('lib/', 'text/html');
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    const anchor = (name: string) => html.split('\n').find((l) => l.includes(`>${name}</a>`)) ?? '';
    const yanked = anchor('lib-1.4.0-py3-none-any.whl');
    assert.match(yanked, /data-yanked="broken"/);
    assert.match(yanked, new RegExp(`#sha256=${sha256hex(fileNamed(projects, 'lib-1.4.0-py3-none-any.whl').bytes)}"`));
    assert.match(yanked, /data-core-metadata="sha256=[0-9a-f]{64}" ?/);
    assert.match(yanked, /data-dist-info-metadata="sha256=[0-9a-f]{64}"/);
    assert.doesNotMatch(anchor('lib-1.5.0-py3-none-any.whl'), /data-yanked/);
    const app = await (await get('app/', 'application/vnd.pypi.simple.v1+html')).text();
    assert.match(app, /data-requires-python="&gt;=3\.13"/);
    assert.ok(!app.includes('">=3.13'), 'requires-python must be HTML-escaped');
  });

  it('content negotiation follows q-values as PyPI does', async () => {
    assert.equal(negotiate(PIP_ACCEPT), JSON_TYPE);
    assert.equal(negotiate(undefined), 'text/html');
    assert.equal(negotiate('*/*'), 'text/html');
    assert.equal(negotiate('application/vnd.pypi.simple.latest+json'), JSON_TYPE);
    assert.equal(negotiate(`${JSON_TYPE};q=0.5, application/vnd.pypi.simple.v1+html`), 'application/vnd.pypi.simple.v1+html');
    assert.equal(negotiate('application/*'), 'application/vnd.pypi.simple.v1+html');
    assert.equal(negotiate('image/png'), 'text/html');
    assert.equal(negotiate(PIP_ACCEPT, false), 'application/vnd.pypi.simple.v1+html');
    const htmlOnly = await startIndex(projects, { json: false });
    try {
      const res = await fetch(`${htmlOnly.url}app/`, { headers: { accept: PIP_ACCEPT } });
      assert.equal(res.headers.get('content-type'), 'application/vnd.pypi.simple.v1+html');
      assert.equal(res.headers.get('vary'), 'Accept');
    } finally {
      await htmlOnly.close();
    }
  });

  it('relative and absolute file links both resolve to the files, which honour Range', async () => {
    const pageUrl = new URL('lib/', index.url);
    const page = (await (await get('lib/', PIP_ACCEPT)).json()) as { files: Array<{ url: string; filename: string }> };
    const urls = page.files.map((f) => f.url);
    assert.ok(urls.some((u) => u.startsWith('../../files/')) && urls.some((u) => u.startsWith('http://127.0.0.1:')), urls.join(' '));
    for (const f of page.files) {
      const body = Buffer.from(await (await fetch(new URL(f.url, pageUrl))).arrayBuffer());
      assert.deepEqual(body, fileNamed(projects, f.filename).bytes, f.filename);
    }
    const whole = fileNamed(projects, 'lib-2.0.0-py3-none-any.whl').bytes;
    const url = new URL('/files/lib/lib-2.0.0-py3-none-any.whl', index.url);
    const part = await fetch(url, { headers: { range: 'bytes=-22' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('accept-ranges'), 'bytes');
    assert.equal(part.headers.get('content-range'), `bytes ${whole.length - 22}-${whole.length - 1}/${whole.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), whole.subarray(-22));
    const middle = await fetch(url, { headers: { range: 'bytes=10-19' } });
    assert.deepEqual(Buffer.from(await middle.arrayBuffer()), whole.subarray(10, 20));
    assert.equal((await fetch(url, { headers: { range: `bytes=${whole.length}-` } })).status, 416);
  });

  it('a non-normalized project URL is a 301 to the normalized one', async () => {
    for (const path of ['Mixed_Case.Name/', 'mixed.case_name/', 'mixed-case-name']) {
      const res = await get(path, PIP_ACCEPT);
      assert.equal(res.status, 301, path);
      assert.equal(res.headers.get('location'), '/simple/mixed-case-name/');
    }
    const followed = await fetch(new URL('Mixed_Case.Name/', index.url), { headers: { accept: PIP_ACCEPT } });
    assert.equal(((await followed.json()) as { name: string }).name, 'mixed-case-name');
    assert.equal((await get('no-such-project/', PIP_ACCEPT)).status, 404);
  });

  it('PEP 658 metadata files match their advertised hashes, and metadata:false hides them', async () => {
    const wheel = fileNamed(projects, 'app-1.0.0-py3-none-any.whl');
    const res = await fetch(new URL('/files/app/app-1.0.0-py3-none-any.whl.metadata', index.url));
    assert.equal(await res.text(), wheel.metadata);
    const bare = await startIndex(projects, { metadata: false });
    try {
      const page = (await (await fetch(`${bare.url}app/`, { headers: { accept: PIP_ACCEPT } })).json()) as { files: Array<Record<string, unknown>> };
      assert.ok(page.files.every((f) => f['core-metadata'] === false && f['data-dist-info-metadata'] === false));
      assert.equal((await fetch(new URL('/files/app/app-1.0.0-py3-none-any.whl.metadata', bare.url))).status, 404);
    } finally {
      await bare.close();
    }
  });
});

/** `pip download` flags that select exactly this wheel's tag set. */
function targetFlags(filename: string): string[] {
  const [py = '', abi = '', plat = ''] = filename.replace(/\.whl$/, '').split('-').slice(-3);
  // 3.13 satisfies every Requires-Python in the set, app 2.0.0's included.
  if (abi === 'none' && plat === 'any') return ['--python-version', '3.13'];
  const version = `${py.slice(2, 3)}.${py.slice(3)}`;
  return ['--python-version', version, '--implementation', 'cp', '--abi', abi, '--platform', plat.split('.')[0] ?? ''];
}

describe('real pip against the fixture index', () => {
  let projects: FixtureProject[];
  let index: FixtureIndex;
  let python: string;
  let pipVersion: string;
  before(async () => {
    [projects, python] = await Promise.all([makeFixtureIndex(), pythonVersion()]);
    pipVersion = /^pip (\S+)/.exec((await run('python3', ['-m', 'pip', '--version'])).stdout)?.[1] ?? '0';
    index = await startIndex(projects);
  });
  after(() => index.close());
  const older = (v: string) => compare(python, v) < 0;

  it('pip under pipEnv reads no configuration and looks in the fixture index only', async () => {
    const home = await dir();
    const r = await pip(index.url, home, 'download', ['--no-deps', '-d', home, 'extra-dep']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Looking in indexes: ${index.url}$`, 'm'));
    assert.doesNotMatch(r.stdout, /Looking in links/);
    const list = await run('python3', ['-m', 'pip', '--isolated', 'config', 'list'], { env: pipEnv(home) });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.trim(), '', 'pip still sees configuration');
  });

  it('pip download --no-deps of every wheel gets the bytes whose sha256 the index gave', async () => {
    const pending = allFiles(projects).filter((f) => f.filename.endsWith('.whl'));
    const worker = async () => {
      for (let f = pending.shift(); f; f = pending.shift()) {
        const dest = await dir();
        const spec = `${f.filename.split('-')[0]}==${filenameVersion(f.filename)}`;
        const flags = ['--no-deps', '--only-binary=:all:', ...targetFlags(f.filename), '-d', dest, spec];
        const r = await pip(index.url, dest, 'download', flags);
        assert.equal(r.code, 0, `${f.filename}: ${r.stdout}\n${r.stderr}`);
        assert.deepEqual(await readdir(dest).then((n) => n.filter((x) => x.endsWith('.whl'))), [f.filename]);
        assert.equal(sha256hex(await readFile(join(dest, f.filename))), sha256hex(f.bytes), f.filename);
        // PEP 592: an == pin may select a yanked file, with a warning that gives the reason.
        if (f.yanked) assert.match(r.stderr, /yanked.*\n?.*Reason for being yanked: broken/);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  });

  it('pip install --target resolves app[fast] by Requires-Python, range, yank, marker and extra', async () => {
    const target = await dir();
    const r = await pip(index.url, target, 'install', ['--target', target, 'app[fast]', 'Mixed.Case_NAME']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    // 3.11 here: app 2.0.0 wants >=3.13, lib 2.0.0 is out of range, 1.4.0 is yanked, tomli-like is for <3.11.
    const expected = [older('3.13') ? 'app-1.0.0' : 'app-2.0.0', 'extra_dep-0.1.0', 'lib-1.5.0', 'mixed_case_name-1.0.0'];
    if (older('3.11')) expected.push('tomli_like-1.0.0');
    assert.deepEqual(await installed(target), expected.sort());
    // pip 23.2+ reads PEP 714's core-metadata; older pips read only the key that crashes them.
    if (compare(pipVersion, '23.2') >= 0) assert.ok(index.requests.some((p) => p.endsWith('.whl.metadata')), `pip ${pipVersion} reads PEP 658 metadata`);
  });

  it('pip download --python-version does not evaluate markers for that version (a mirror must)', async (t) => {
    if (older('3.11')) return t.skip(`the local python ${python} satisfies python_version < "3.11" itself`);
    const dest = await dir();
    const r = await pip(index.url, dest, 'download', ['--only-binary=:all:', '--python-version', '3.10', '-d', dest, 'app']);
    assert.equal(r.code, 0, r.stderr);
    const names = (await readdir(dest)).sort();
    assert.ok(!names.some((n) => n.startsWith('tomli_like')), `pip ${python} now honours the target's markers: ${names}`);
    assert.ok(names.includes('app-1.0.0-py3-none-any.whl'), names.join(' '));
  });

  // Without [fast], extra-dep must not be needed: --require-hashes would refuse it unpinned.
  it('a --require-hashes install of a fully pinned, hashed requirements file succeeds', async () => {
    const target = await dir();
    const app = older('3.13') ? 'app-1.0.0-py3-none-any.whl' : 'app-2.0.0-py3-none-any.whl';
    const hash = (filename: string) => `--hash=sha256:${sha256hex(fileNamed(projects, filename).bytes)}`;
    const lines = [
      `app==${filenameVersion(app)} ${hash(app)}`,
      `lib==1.5.0 ${hash('lib-1.5.0-py3-none-any.whl')}`,
      `tomli-like==1.0.0 ; python_version < "3.11" ${hash('tomli_like-1.0.0-py3-none-any.whl')}`,
    ];
    await writeFile(join(target, 'requirements.txt'), `${lines.join('\n')}\n`);
    const r = await pip(index.url, target, 'install', ['--require-hashes', '--target', join(target, 'site'), '-r', join(target, 'requirements.txt')]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.ok((await installed(join(target, 'site'))).includes('lib-1.5.0'));
  });

  it('a corrupt file makes pip fail with a hash mismatch', async () => {
    const name = 'lib-1.5.0-py3-none-any.whl';
    const corrupt = await startIndex(projects, { corrupt: [name] });
    try {
      const target = await dir();
      const r = await pip(corrupt.url, target, 'install', ['--target', target, 'lib==1.5.0']);
      assert.notEqual(r.code, 0);
      const bad = sha256hex(corruptArchive(name, fileNamed(projects, name).bytes));
      assert.match(r.stderr, /DO NOT MATCH THE HASHES/);
      assert.match(r.stderr, new RegExp(`Expected sha256 ${sha256hex(fileNamed(projects, name).bytes)}\\s+Got\\s+${bad}`));
    } finally {
      await corrupt.close();
    }
  });

  it('an HTML-only index without PEP 658 metadata still installs app', async () => {
    const bare = await startIndex(projects, { json: false, metadata: false });
    try {
      const target = await dir();
      const r = await pip(bare.url, target, 'install', ['--target', target, 'app']);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.ok((await installed(target)).includes('lib-1.5.0'));
      assert.ok(!bare.requests.some((p) => p.endsWith('.metadata')), bare.requests.join(' '));
    } finally {
      await bare.close();
    }
  });

  it('the sdist builds and installs with setuptools from the index, inside a loopback-only netns', async (t) => {
    const tools = await buildTools();
    const reason = (await hasNetns()) ?? tools.missing;
    if (reason) return t.skip(reason);
    const home = await dir();
    const target = join(home, 'site');
    // The index has to live inside the namespace too: its loopback is not ours.
    const script = `
      const { makeFixtureIndex, pip, startIndex } = await import(process.env.FIXTURES);
      const index = await startIndex(await makeFixtureIndex());
      const r = await pip(index.url, process.env.HOME, 'install', ['--target', process.env.TARGET, 'only-sdist']);
      await index.close();
      console.log(JSON.stringify({ ...r, requests: index.requests }));`;
    const fixtures = pathToFileURL(join(import.meta.dirname, '..', 'helpers', 'pypi-fixtures.ts')).href;
    const env = { ...pipEnv(home), NODE: process.execPath, SCRIPT: script, FIXTURES: fixtures, TARGET: target };
    const r = await inNetns('"$NODE" --input-type=module -e "$SCRIPT"', { env, timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    const inner = JSON.parse(r.stdout) as { code: number; stdout: string; stderr: string; requests: string[] };
    assert.equal(inner.code, 0, `${inner.stdout}\n${inner.stderr}`);
    assert.deepEqual(await installed(target), ['lib-2.0.0', 'only_sdist-1.0.0']);
    const wanted = ['/files/only-sdist/only_sdist-1.0.0.tar.gz', ...tools.projects.map((p) => `/simple/${p.name}/`)];
    for (const path of wanted) assert.ok(inner.requests.includes(path), `${path} not requested: ${inner.requests.join(' ')}`);
  });
});
