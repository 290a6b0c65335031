/**
 * A mirrored file cut short on disk (a full disk, a killed copy, bit rot) is not "ready": `check`
 * re-reads every file against its digest and names it, `check --quick` skips that, and the next
 * `sync` fetches it again instead of reporting "already mirrored".
 */
import assert from 'node:assert/strict';
import { readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { makeTree, startRegistry as startNpmRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { offline } from '../helpers/offline-cli.ts';
import { makeFixtureIndex, startIndex } from '../helpers/pypi-fixtures.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

let work: string;
let config: string;
let npm: FixtureRegistry;
let pypi: { url: string; close(): Promise<void> };
const cut: string[] = [];

before(async () => {
  work = await workDir('offline-truncated-');
  npm = await startNpmRegistry(makeTree({ packages: 30 }));
  pypi = await startIndex(await makeFixtureIndex());
  const port = await claimPorts(2);
  config = join(work, 'offline.yaml');
  await writeFile(config, stringify({
    data: './mirrors', listen: '127.0.0.1',
    npm: { port, upstream: npm.url, packages: ['multi-ver@^1'] },
    pypi: { port: port + 1, upstream: pypi.url, packages: ['app[fast]'], python: ['3.11'], platforms: ['manylinux_2_28_x86_64'] },
  }));
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
});

after(async () => {
  await Promise.all([npm?.close(), pypi?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

async function cutShort(dir: string, match: (name: string) => boolean): Promise<string> {
  const found = (await readdir(dir, { recursive: true, withFileTypes: true })).find((e) => e.isFile() && match(e.name));
  assert.ok(found, `a file to cut short in ${dir}`);
  const path = join(found.parentPath, found.name);
  await truncate(path, Math.floor((await stat(path)).size / 2));
  cut.push(path);
  return found.name;
}

test('check names each file that no longer matches its digest; --quick does not read them', async () => {
  await cutShort(join(work, 'mirrors', 'npm'), (n) => n === 'multi-ver-1.1.0.tgz');
  await cutShort(join(work, 'mirrors', 'pypi', 'files'), (n) => n.startsWith('lib-1.5.0') && n.endsWith('.whl'));
  const r = await offline(['check', '-c', config]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /npm multi-ver@1\.1\.0: \S+multi-ver-1\.1\.0\.tgz does not match its digest \(truncated or altered\): run `offline sync` to fetch it again/);
  assert.match(r.stdout, /pypi lib-1\.5\.0-py3-none-any\.whl: \S+ does not match its digest/);
  const quick = await offline(['check', '--quick', '-c', config]);
  assert.equal(quick.code, 0, quick.stdout + quick.stderr);
});

test('the next sync fetches them again, and check is ready', async () => {
  const sizes = await Promise.all(cut.map(async (p) => (await stat(p)).size));
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  for (const [i, p] of cut.entries()) assert.ok((await stat(p)).size > sizes[i]!, `${p} fetched again whole`);
  const r = await offline(['check', '-c', config]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});
