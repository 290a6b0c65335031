/**
 * The misses ledger's pieces: what each mirror makes of a 404'd request (hostile paths
 * included: they name nothing), and the ledger file — deduplicated with counts and times,
 * bounded, rewritten whole, an unreadable file started again.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dockerMiss } from '../../src/ecosystems/docker/misses.ts';
import { npmMiss } from '../../src/ecosystems/npm/misses.ts';
import { pacmanMiss } from '../../src/ecosystems/pacman/misses.ts';
import { pypiMiss } from '../../src/ecosystems/pypi/misses.ts';
import { createLedgerWriter, ensureLedgerDir, ledgerDir, MAX_MISSES, readLedger, updateLedger } from '../../src/engine/misses.ts';
import { workDir } from '../helpers/work-dir.ts';

const get = (path: string) => ({ method: 'GET', path });

test('npm: a packument is the package, a tarball its version; probes, audits and bad names are nothing', () => {
  const table: Array<[string, string | undefined]> = [
    ['/lodash', 'lodash'],
    ['/@types%2fnode', '@types/node'],
    ['/@types/node', '@types/node'],
    ['/lodash/-/lodash-4.17.21.tgz', 'lodash@4.17.21'],
    ['/@types/node/-/node-22.1.0.tgz', '@types/node@22.1.0'],
    ['/left-pad/-/left-pad-1.3.0-beta.1.tgz', 'left-pad@1.3.0-beta.1'],
    ['/lodash/-/other-1.0.0.tgz', 'lodash'],
    ['/-/ping?write=true', undefined],
    ['/-/npm/v1/security/advisories/bulk', undefined],
    ['/-/v1/search?text=x', undefined],
    ['/favicon.ico', undefined],
    ['/', undefined],
    ['/../etc/passwd', undefined],
    ['/%2e%2e%2fsecret', undefined],
    ['/a%ZZ', undefined],
    ['/UPPER', 'UPPER'],
    ['/x/y/z', undefined],
  ];
  for (const [path, item] of table) assert.equal(npmMiss(get(path)), item, path);
  assert.equal(npmMiss({ method: 'PUT', path: '/lodash' }), undefined, 'a publish is not a want');
});

test('pypi: a project page is the project, a file its version; the root and metadata are nothing', () => {
  const table: Array<[string, string | undefined]> = [
    ['/simple/Flask/', 'flask'],
    ['/simple/zope.interface/', 'zope-interface'],
    ['/simple/flask', 'flask'],
    ['/files/flask/flask-3.0.0-py3-none-any.whl', 'flask==3.0.0'],
    ['/files/flask/flask-3.0.0.tar.gz', 'flask==3.0.0'],
    ['/files/flask/flask-3.0.0-py3-none-any.whl.metadata', undefined],
    ['/files/flask/not-a-dist.txt', 'flask'],
    ['/simple/', undefined],
    ['/simple/../../etc/', undefined],
    ['/simple/-bad-/', undefined],
    ['/favicon.ico', undefined],
  ];
  for (const [path, item] of table) assert.equal(pypiMiss(get(path)), item, path);
});

test('docker: a manifest is the image reference; blobs, tag lists and the /v2/ probe are nothing', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const table: Array<[string, string | undefined]> = [
    ['/v2/library/node/manifests/24', 'docker.io/library/node:24'],
    ['/v2/node/manifests/24', 'docker.io/library/node:24'],
    ['/v2/library/node/manifests/24?ns=docker.io', 'docker.io/library/node:24'],
    ['/v2/org/app/manifests/1.0?ns=ghcr.io', 'ghcr.io/org/app:1.0'],
    ['/v2/ghcr.io/org/app/manifests/1.0', 'ghcr.io/org/app:1.0'],
    [`/v2/library/node/manifests/${digest}`, `docker.io/library/node@${digest}`],
    [`/v2/library/node/blobs/${digest}`, undefined],
    ['/v2/library/node/tags/list', undefined],
    ['/v2/', undefined],
    ['/v2/UPPER/manifests/1', undefined],
    ['/v2/a/../b/manifests/1', undefined],
    ['/v2/library/node/manifests/bad%20tag', undefined],
  ];
  for (const [path, item] of table) assert.equal(dockerMiss(get(path)), item, path);
});

test('pacman names no misses: its database lists only what is mirrored', () => {
  assert.equal(pacmanMiss(get('/core/os/x86_64/zlib-1.3-1-x86_64.pkg.tar.zst')), undefined);
});

let data: string;
before(async () => {
  data = await workDir('offline-ledger-');
});
after(async () => {
  await rm(data, { recursive: true, force: true });
});

test('the writer deduplicates: one entry per item with its count, first and last time', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const writer = createLedgerWriter(data, 'npm', () => new Date(now));
  writer.record('lodash');
  now += 1000;
  writer.record('lodash');
  writer.record('left-pad@1.3.0');
  await writer.flush();
  now += 1000;
  writer.record('lodash');
  await writer.flush();
  const entries = await readLedger(data, ['npm']);
  assert.deepEqual(entries.map(({ item, count, first, last }) => ({ item, count, first, last })), [
    { item: 'lodash', count: 3, first: '2026-01-01T00:00:00.000Z', last: '2026-01-01T00:00:02.000Z' },
    { item: 'left-pad@1.3.0', count: 1, first: '2026-01-01T00:00:01.000Z', last: '2026-01-01T00:00:01.000Z' },
  ]);
});

test('the ledger keeps the most recent entries when full, and starts again from an unreadable file', async () => {
  await updateLedger(data, 'pypi', () => Array.from({ length: MAX_MISSES + 50 }, (_, i) => ({
    mirror: 'pypi', item: `p${i}`, count: 1, first: new Date(i * 1000).toISOString(), last: new Date(i * 1000).toISOString(),
  })));
  const kept = await readLedger(data, ['pypi']);
  assert.equal(kept.length, MAX_MISSES);
  assert.equal(kept[0]!.item, `p${MAX_MISSES + 49}`, 'newest first');
  assert.ok(!kept.some((e) => e.item === 'p0'), 'the oldest were dropped');

  await writeFile(join(ledgerDir(data), 'docker.json'), '{"version":1,"misses":[{"item":');
  assert.deepEqual(await readLedger(data, ['docker']), []);
  const writer = createLedgerWriter(data, 'docker');
  writer.record('docker.io/library/node:24');
  await writer.flush();
  assert.deepEqual((await readLedger(data, ['docker'])).map((e) => e.item), ['docker.io/library/node:24']);
  assert.equal(JSON.parse(await readFile(join(ledgerDir(data), 'docker.json'), 'utf8')).version, 1);
});

test('a ledger that cannot be written is a warning, and recording goes on', async () => {
  const file = join(data, 'not-a-dir');
  await writeFile(file, 'x');
  const writer = createLedgerWriter(file, 'npm');
  writer.record('lodash');
  await writer.flush();
  await assert.rejects(ensureLedgerDir(file));
});
