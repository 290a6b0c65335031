import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packument } from '../../src/ecosystems/npm/packument.ts';
import { mergePackument, tarballFilename } from '../../src/ecosystems/npm/storage.ts';

function packument(name: string, versions: string[], tags: Record<string, string>): Packument {
  const base = name.split('/').pop();
  return {
    name,
    'dist-tags': tags,
    time: Object.fromEntries([['created', '2020-01-01T00:00:00Z'], ...versions.map((v) => [v, '2021-01-01T00:00:00Z'])]),
    versions: Object.fromEntries(versions.map((v) => [v, { name, version: v, dist: { tarball: `https://r.example/${name}/-/${base}-${v}.tgz`, shasum: 'aa' } }])),
  };
}

test('tarball file names come from the upstream URL, scoped names included', () => {
  assert.equal(tarballFilename('@s/a', { version: '1.0.0', dist: { tarball: 'https://r/@s/a/-/a-1.0.0.tgz' } }), 'a-1.0.0.tgz');
  assert.equal(tarballFilename('b', { version: '2.0.0', dist: { tarball: 'not a url' } }), 'b-2.0.0.tgz');
});

test('only versions whose tarballs are present are served; latest falls back to the highest stable one', () => {
  const up = packument('@s/a', ['1.0.0', '1.1.0', '2.0.0', '3.0.0-beta.1'], { latest: '2.0.0', next: '3.0.0-beta.1', old: '1.0.0' });
  const merged = mergePackument('@s/a', up, undefined, new Set(['a-1.0.0.tgz', 'a-1.1.0.tgz', 'a-3.0.0-beta.1.tgz']))!;
  assert.deepEqual(Object.keys(merged.versions).sort(), ['1.0.0', '1.1.0', '3.0.0-beta.1']);
  assert.deepEqual(merged['dist-tags'], { latest: '1.1.0', next: '3.0.0-beta.1', old: '1.0.0' });
  assert.deepEqual(Object.keys(merged.time!).sort(), ['1.0.0', '1.1.0', '3.0.0-beta.1', 'created']);
  assert.deepEqual(merged._uplinks, {});
  assert.deepEqual(Object.keys(merged._attachments as object).sort(), ['a-1.0.0.tgz', 'a-1.1.0.tgz', 'a-3.0.0-beta.1.tgz']);
});

test('versions mirrored by an earlier sync are kept when the upstream no longer lists them', () => {
  const stored = packument('b', ['1.0.0'], { latest: '1.0.0' });
  const up = packument('b', ['2.0.0'], { latest: '2.0.0' });
  const merged = mergePackument('b', up, stored, new Set(['b-1.0.0.tgz', 'b-2.0.0.tgz', 'package.json']))!;
  assert.deepEqual(Object.keys(merged.versions).sort(), ['1.0.0', '2.0.0']);
  assert.equal(merged['dist-tags'].latest, '2.0.0');
});

test('a package with no tarball on disk has no packument', () => {
  assert.equal(mergePackument('c', packument('c', ['1.0.0'], { latest: '1.0.0' }), undefined, new Set()), undefined);
});

test('regression: old manifests with `dependencies: []` (mime 1.x) are usable, not dropped', async () => {
  const { readPackument } = await import('../../src/ecosystems/npm/packument.ts');
  const read = readPackument({
    name: 'mime',
    'dist-tags': { latest: '1.2.3' },
    versions: {
      '1.0.0': { name: 'mime', version: '1.0.0', dependencies: [], dist: { tarball: 'https://r/mime/-/mime-1.0.0.tgz', shasum: 'aa' } },
      '1.2.3': { name: 'mime', version: '1.2.3', dependencies: { a: '1', b: 2 }, dist: { tarball: 'https://r/mime/-/mime-1.2.3.tgz' } },
      '0.0.1': { name: 'mime', version: '0.0.1' },
    },
  }, 'mime')!;
  assert.deepEqual(read.packument.versions['1.0.0']!.dependencies, {});
  assert.deepEqual(read.packument.versions['1.2.3']!.dependencies, { a: '1' });
  assert.deepEqual(read.dropped.map((d) => d.split(':')[0]), ['mime@0.0.1'], 'a version with no dist is dropped, and said so');
});
