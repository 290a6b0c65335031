/**
 * The PyPI mirror with the pips users have, not only the machine's: Debian 12's own pip 23.0.1
 * (`python3-pip`, what every Debian-12-based container runs — pip 22.3 to 23.1 crashed with
 * `TypeError: unhashable type: 'dict'` on a JSON `dist-info-metadata` key, pypa/pip#12042) and a
 * current pip (Debian 13's 25.x wheel, which `.ci/run` fetches into `.tmp/pip/`). Each installs a
 * loose and a `--require-hashes` set from the mirror in a network namespace with loopback only.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { makeFixtureIndex, pipEnv, sha256hex, startIndex, type FixtureIndex, type FixtureProject } from '../helpers/pypi-fixtures.ts';
import { offline, serveInBackground } from '../helpers/offline-cli.ts';
import { hasNetns, inNetns, run } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const DEBIAN_PYTHON = '/usr/bin/python3';
const PIP_WHEELS = fileURLToPath(new URL('../../.tmp/pip/', import.meta.url));

type Client = { name: string; argv: string[]; version: RegExp; missing?: string };

async function clients(): Promise<Client[]> {
  const debian = await run(DEBIAN_PYTHON, ['-m', 'pip', '--version']).catch(() => undefined);
  const wheel = (await readdir(PIP_WHEELS).catch(() => [] as string[])).find((f) => /^pip-\d+.*\.whl$/.test(f));
  return [
    {
      name: "Debian 12's pip 23.0.1",
      argv: [DEBIAN_PYTHON, '-m', 'pip'],
      version: /^pip 23\.0\.1 /,
      missing: debian?.code === 0 ? undefined : `${DEBIAN_PYTHON} -m pip does not run (Debian package python3-pip): ${debian?.stderr.trim()}`,
    },
    {
      name: `a current pip (${wheel ?? 'none'})`,
      argv: [DEBIAN_PYTHON, join(PIP_WHEELS, wheel ?? 'none', 'pip')],
      version: /^pip (2[5-9]|[3-9]\d)\./,
      missing: wheel ? undefined : `no current pip wheel in ${PIP_WHEELS} (.ci/run puts Debian 13's python3-pip-whl there)`,
    },
  ];
}

let work: string;
let index: FixtureIndex;
let projects: FixtureProject[];
let config: string;
let port: number;
const netnsMissing = await hasNetns();

before(async () => {
  work = await workDir('offline-pip-clients-');
  projects = await makeFixtureIndex();
  index = await startIndex(projects);
  port = await claimPorts(2);
  await writeFile(join(work, 'loose.txt'), 'app[fast]>=1\nnative\nMixed_Case.Name\n');
  const hash = (name: string, prefix: string) => sha256hex(projects.find((p) => p.name === name)!.files.find((f) => f.filename.startsWith(prefix))!.bytes);
  await writeFile(join(work, 'pinned.txt'), [
    `app[fast]==1.0.0 --hash=sha256:${hash('app', 'app-1.0.0-')}`,
    `lib==1.5.0 --hash=sha256:${hash('lib', 'lib-1.5.0-')}`,
    `extra-dep==0.1.0 --hash=sha256:${hash('extra-dep', 'extra_dep-0.1.0-')}`,
  ].join('\n') + '\n');
  config = join(work, 'offline.yaml');
  // Debian 12: Python 3.11, glibc 2.36.
  await writeFile(config, stringify({
    data: './mirrors', listen: '127.0.0.1', npm: { port: port + 1 },
    pypi: { port, upstream: index.url, requirements: ['loose.txt', 'pinned.txt'], python: ['3.11'], platforms: ['manylinux_2_28_x86_64'] },
  }));
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
});

after(() => index?.close());

for (const client of await clients()) {
  test(`${client.name} installs a loose and a --require-hashes set from the mirror with no network`, async (t) => {
    if (client.missing) return t.skip(client.missing);
    if (netnsMissing) return t.skip(`no network namespace: ${netnsMissing}`);
    const dir = join(work, client.name.replace(/\W+/g, '-'));
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    const version = await run(client.argv[0]!, [...client.argv.slice(1), '--version'], { env: pipEnv(home) });
    assert.match(version.stdout, client.version, version.stdout + version.stderr);
    const pip = `${client.argv.map((a) => `'${a}'`).join(' ')} --isolated --disable-pip-version-check --no-cache-dir --no-input install --index-url http://127.0.0.1:${port}/simple/`;
    const script = [
      serveInBackground(config, join(dir, 'serve.log')),
      `${pip} --target '${join(dir, 'loose')}' -r '${join(work, 'loose.txt')}' || exit 1`,
      `${pip} --target '${join(dir, 'pinned')}' --require-hashes -r '${join(work, 'pinned.txt')}' || exit 2`,
    ].join('\n');
    const installed = await inNetns(script, { env: pipEnv(home), timeoutMs: 300_000 });
    assert.equal(installed.code, 0, `${installed.stdout}\n${installed.stderr}`);
    assert.doesNotMatch(installed.stderr, /unhashable type|Traceback/);
    const loose = await readdir(join(dir, 'loose'));
    for (const dist of ['app-1.0.0.dist-info', 'lib-1.5.0.dist-info', 'extra_dep-0.1.0.dist-info', 'native-1.0.0.dist-info', 'mixed_case_name-1.0.0.dist-info']) {
      assert.ok(loose.includes(dist), `${dist} in ${loose.join(' ')}`);
    }
    assert.ok((await readdir(join(dir, 'pinned'))).includes('lib-1.5.0.dist-info'));
  });
}
