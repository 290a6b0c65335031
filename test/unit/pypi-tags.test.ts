import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandPlatform, parseWheelFilename, sdistVersion, supportedTags, tagRanks, wheelRank } from '../../src/ecosystems/pypi/tags.ts';

test('manylinux expands to every older glibc and the legacy aliases', () => {
  const tags = expandPlatform('manylinux_2_28_x86_64');
  assert.equal(tags[0], 'manylinux_2_28_x86_64');
  for (const t of ['manylinux_2_17_x86_64', 'manylinux2014_x86_64', 'manylinux2010_x86_64', 'manylinux1_x86_64', 'manylinux_2_5_x86_64']) assert.ok(tags.includes(t), t);
  assert.ok(!tags.includes('manylinux_2_29_x86_64'));
  assert.deepEqual(expandPlatform('manylinux2014_aarch64'), ['manylinux_2_17_aarch64', 'manylinux2014_aarch64']);
  assert.deepEqual(expandPlatform('musllinux_1_2_aarch64'), ['musllinux_1_2_aarch64', 'musllinux_1_1_aarch64', 'musllinux_1_0_aarch64']);
  assert.ok(expandPlatform('macosx_12_0_arm64').includes('macosx_11_0_universal2'));
  assert.deepEqual(expandPlatform('win_amd64'), ['win_amd64']);
});

test('supported tags put the interpreter ABI first, then abi3, none, pure Python and any', () => {
  const tags = supportedTags({ python: '3.12', platform: 'manylinux_2_17_x86_64' });
  assert.equal(tags[0], 'cp312-cp312-manylinux_2_17_x86_64');
  const at = (t: string) => tags.indexOf(t);
  assert.ok(at('cp312-cp312-manylinux1_x86_64') < at('cp312-abi3-manylinux_2_17_x86_64'));
  assert.ok(at('cp312-abi3-manylinux_2_17_x86_64') < at('cp310-abi3-manylinux_2_17_x86_64'));
  assert.ok(at('cp310-abi3-manylinux_2_17_x86_64') < at('py3-none-manylinux_2_17_x86_64'));
  assert.ok(at('py3-none-manylinux_2_17_x86_64') < at('py3-none-any'));
  assert.equal(at('cp311-cp311-manylinux_2_17_x86_64'), -1, 'another interpreter\'s ABI never installs');
  assert.equal(at('cp312-cp312-manylinux_2_28_x86_64'), -1, 'a newer glibc never installs');
  assert.ok(at('py2.py3-none-any') === -1 && at('py3-none-any') > 0);
});

test('wheel file names parse with compressed tag sets and build tags', () => {
  const w = parseWheelFilename('native-1.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl')!;
  assert.equal(w.version, '1.0.0');
  assert.deepEqual(w.tags, ['cp312-cp312-manylinux_2_17_x86_64', 'cp312-cp312-manylinux2014_x86_64']);
  const b = parseWheelFilename('six-1.16.0-1-py2.py3-none-any.whl')!;
  assert.equal(b.build, '1');
  assert.deepEqual(b.tags, ['py2-none-any', 'py3-none-any']);
  assert.equal(parseWheelFilename('x-1.tar.gz'), undefined);
});

test('a wheel ranks by its best tag, or not at all', () => {
  const ranks = tagRanks({ python: '3.12', platform: 'manylinux_2_17_x86_64' });
  const native = wheelRank(parseWheelFilename('n-1-cp312-cp312-manylinux2014_x86_64.whl')!, ranks)!;
  const pure = wheelRank(parseWheelFilename('n-1-py3-none-any.whl')!, ranks)!;
  assert.ok(native < pure);
  assert.equal(wheelRank(parseWheelFilename('n-1-cp312-cp312-musllinux_1_2_x86_64.whl')!, ranks), undefined);
  assert.equal(wheelRank(parseWheelFilename('n-1-cp310-abi3-macosx_11_0_arm64.whl')!, ranks), undefined);
  const musl = tagRanks({ python: '3.12', platform: 'musllinux_1_2_aarch64' });
  assert.notEqual(wheelRank(parseWheelFilename('n-1-cp312-cp312-musllinux_1_2_aarch64.whl')!, musl), undefined);
});

test('sdist versions come from the name however the project is spelled', () => {
  assert.equal(sdistVersion('Mixed_Case.Name-1.0.tar.gz', 'mixed-case-name'), '1.0');
  assert.equal(sdistVersion('only-sdist-2.0rc1.zip', 'only-sdist'), '2.0rc1');
  assert.equal(sdistVersion('other-1.0.tar.gz', 'only-sdist'), undefined);
});
