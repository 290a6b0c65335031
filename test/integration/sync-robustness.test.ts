/**
 * A sync reports; it does not die. Regressions: a PyPI lockfile against a failing upstream threw
 * one error out of the whole sync and every other ecosystem's report was lost; two items with one
 * destination (a pacman `any` package listed for two architectures) wrote the same `.partial`
 * at once.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { writeRepoDb } from '../../src/ecosystems/pacman/repo-db.ts';
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.ts';
import { makeTree, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { offline } from '../helpers/offline-cli.ts';
import { workDir } from '../helpers/work-dir.ts';

let work: string;
let npm: FixtureRegistry;
const servers: FixtureServer[] = [];

before(async () => {
  work = await workDir('offline-robust-');
  npm = await startRegistry(makeTree({ packages: 30 }));
});

after(async () => {
  await npm?.close();
  await Promise.all(servers.map((s) => s.close()));
});

type Report = { ok: boolean; ecosystems: Array<{ name: string; downloaded: number; planned: number }>; failures: Array<{ ecosystem: string; item: string; code: string; message: string }> };

async function sync(name: string, sections: Record<string, unknown>): Promise<{ code: number | null; report: Report; stderr: string }> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, stringify({ data: `./${name}`, listen: '127.0.0.1', ...sections }));
  const r = await offline(['sync', '-c', file, '--json', '--retries', '0']);
  assert.doesNotMatch(r.stderr, /internal error/, r.stderr);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

test('regression: a PyPI lockfile against a failing upstream is a reported failure; npm is still synced and reported', async () => {
  const failing = await startFixtureServer((_req, res) => void res.writeHead(500).end('down'));
  servers.push(failing);
  await writeFile(join(work, 'poetry.lock'), [
    '[[package]]', 'name = "requests"', 'version = "2.31.0"', 'description = ""', 'optional = false', 'python-versions = ">=3.7"',
    `files = [{file = "requests-2.31.0-py3-none-any.whl", hash = "sha256:${'a'.repeat(64)}"}]`, '',
    '[metadata]', 'lock-version = "2.0"', 'python-versions = "^3.11"', 'content-hash = "0"', '',
  ].join('\n'));
  const { code, report } = await sync('lockfile-upstream-down', {
    npm: { upstream: npm.url, packages: ['@fx/core'] },
    pypi: { upstream: `http://127.0.0.1:${failing.port}/simple/`, requirements: ['poetry.lock'], python: ['3.11'] },
  });
  assert.equal(code, 1);
  const pypi = report.failures.filter((f) => f.ecosystem === 'pypi');
  assert.ok(pypi.some((f) => f.code === 'OFFLINE_ERR_UPSTREAM' && /poetry\.lock/.test(f.item)), JSON.stringify(pypi));
  assert.ok(report.ecosystems.find((e) => e.name === 'npm')!.downloaded > 0, 'npm was synced and reported');
  assert.ok(report.ecosystems.some((e) => e.name === 'pypi'), 'pypi has its report');
});

test('regression: an `any` package in two architectures is fetched once and published in both', async () => {
  const pkg = Buffer.from('an any-architecture package\n');
  const sha = createHash('sha256').update(pkg).digest('hex');
  const filename = 'docs-1-1-any.pkg.tar.zst';
  const desc = [`%FILENAME%\n${filename}`, '%NAME%\ndocs', '%VERSION%\n1-1', '%ARCH%\nany', `%CSIZE%\n${pkg.length}`, `%SHA256SUM%\n${sha}`].join('\n\n');
  const db = writeRepoDb([{ repo: 'core', filename, name: 'docs', version: '1-1', arch: 'any', depends: [], provides: [], groups: [], entry: 'docs-1-1', files: { desc: Buffer.from(`${desc}\n\n`) } }]);
  const server = await startFixtureServer((req, res) => {
    const path = req.url ?? '/';
    if (/^\/core\/os\/(x86_64|aarch64)\/core\.db$/.test(path)) return void res.end(db);
    if (path.endsWith(`/${filename}`)) return void setTimeout(() => res.end(pkg), 200); // both would be in flight at once
    res.writeHead(404).end();
  });
  servers.push(server);
  const { code, report } = await sync('any-twice', { pacman: { upstream: `http://127.0.0.1:${server.port}/$repo/os/$arch`, repos: ['core'], arch: ['x86_64', 'aarch64'], packages: ['docs'] } });
  assert.equal(code, 0, JSON.stringify(report.failures));
  assert.equal(server.requests.filter((p) => p.endsWith(`/${filename}`)).length, 1, server.requests.join(' '));
  const pacman = report.ecosystems.find((e) => e.name === 'pacman')!;
  assert.equal(pacman.downloaded, 1);
  const pool = join(work, 'any-twice', 'pacman', 'pool', sha);
  assert.deepEqual(await readdir(pool), [filename], 'one file, no stray .partial');
  assert.deepEqual(await readFile(join(pool, filename)), pkg);
  const current = JSON.parse(await readFile(join(work, 'any-twice', 'pacman', 'current.json'), 'utf8')) as { generation: string };
  const manifest = JSON.parse(await readFile(join(work, 'any-twice', 'pacman', 'generations', current.generation, 'manifest.json'), 'utf8')) as { repos: Record<string, { files: Record<string, unknown> }> };
  assert.ok(manifest.repos['core/x86_64']!.files[filename] && manifest.repos['core/aarch64']!.files[filename]);
});
