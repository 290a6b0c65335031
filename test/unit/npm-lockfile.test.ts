import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../src/foundation/errors.ts';
import { parseLockfile, readLockfile } from '../../src/ecosystems/npm/lockfile.ts';
import type { LockfileContents } from '../../src/ecosystems/npm/types.ts';

// Fixtures follow the shapes that npm 11, yarn 1.22, yarn 4.18, pnpm 8.15 and pnpm 9.15 wrote
// for a small project against a local registry, plus real-world cases (git, tarballs, bundles).
const I_A100 = 'sha512-qowywREu0cRxDBXAaqIMU5FI0hGQt4xhRXGnL8XucMelqLcuUBtIOCo699JgQcmLxQrnxwF86DeDVzzlVRxnrw==';
const I_A110 = 'sha512-BVCyL21IctHxsZ8jqY/nnrU2dcLMxjZZyAqnwl4pidF+1ZyYtIH2gKq8utfW3OvCJxYYN35/O2wwiz0drt6HHg==';
const I_B200 = 'sha512-/XcJ/YzKWkNp6LzTYwgAwuhzDztQqyriOQjHOZCT9nVQD/JGiGXVt4tHo8aMVOKpCQCEGH9MYxuB2gecyG5Dhw==';
const REG = 'https://registry.npmjs.org';

/** `name@version` of each entry, and `kind name spec` of each unmirrorable, for compact asserts. */
function summary(contents: LockfileContents): { entries: string[]; unmirrorable: string[] } {
  return {
    entries: contents.entries.map((e) => `${e.name}@${e.version}`),
    unmirrorable: contents.unmirrorable.map((u) => `${u.kind} ${u.name} ${u.spec}`),
  };
}

function entry(contents: LockfileContents, id: string) {
  const found = contents.entries.find((e) => `${e.name}@${e.version}` === id);
  assert.ok(found, `no entry ${id}`);
  return found;
}

function throwsInput(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

const npmV3 = JSON.stringify({
  name: 'app',
  version: '1.0.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: 'app', version: '1.0.0', workspaces: ['local'], dependencies: { a: '^1.0.0' } },
    local: { version: '0.1.0' },
    'node_modules/@s/b': { version: '2.0.0', resolved: `${REG}/@s/b/-/b-2.0.0.tgz`, integrity: I_B200 },
    'node_modules/@s/b/node_modules/a': { version: '1.0.0', resolved: `${REG}/a/-/a-1.0.0.tgz` },
    'node_modules/a': { version: '1.1.0', resolved: `${REG}/a/-/a-1.1.0.tgz`, integrity: I_A110 },
    'node_modules/c': { name: 'a', version: '1.0.0', resolved: `${REG}/a/-/a-1.0.0.tgz`, integrity: I_A100 },
    'node_modules/local': { resolved: 'local', link: true },
    'node_modules/bundler': { version: '1.0.0', resolved: `${REG}/bundler/-/bundler-1.0.0.tgz`, bundleDependencies: ['inner'] },
    'node_modules/bundler/node_modules/inner': { version: '3.0.0', inBundle: true },
    'node_modules/g': { version: '1.0.0', resolved: 'git+ssh://git@github.com/u/g.git#0123456789abcdef0123456789abcdef01234567' },
    'node_modules/f': { version: '1.0.0', resolved: 'file:vendor/f-1.0.0.tgz', integrity: I_A100 },
    'node_modules/t': { version: '1.0.0', resolved: 'https://example.com/downloads/t.tgz' },
    'node_modules/v': { version: 'file:../v' },
    // Artifactory-style proxy path with the scope's slash encoded.
    'node_modules/@s/i': { version: '1.0.0', resolved: 'https://npm.internal/api/npm/npm-remote/@s%2fi/-/i-1.0.0.tgz' },
  },
});

test('package-lock v3: registry packages, scoped, nested, npm: alias via name', () => {
  const result = parseLockfile('package-lock.json', npmV3);
  assert.deepEqual(summary(result).entries, ['@s/b@2.0.0', 'a@1.0.0', 'a@1.1.0', 'bundler@1.0.0', '@s/i@1.0.0']);
  assert.deepEqual(entry(result, '@s/b@2.0.0'), {
    name: '@s/b',
    version: '2.0.0',
    integrity: I_B200,
    resolved: `${REG}/@s/b/-/b-2.0.0.tgz`,
    source: 'package-lock.json: packages["node_modules/@s/b"]',
  });
  // The nested a@1.0.0 came first without integrity; the alias entry has one and wins the dedupe.
  assert.equal(entry(result, 'a@1.0.0').integrity, I_A100);
  assert.equal(entry(result, 'a@1.0.0').source, 'package-lock.json: packages["node_modules/c"]');
});

test('package-lock v3: link, git, file, remote tarball and non-semver versions are reported, bundled skipped', () => {
  const { unmirrorable } = summary(parseLockfile('package-lock.json', npmV3));
  assert.deepEqual(unmirrorable, [
    'link local local',
    'git g git+ssh://git@github.com/u/g.git#0123456789abcdef0123456789abcdef01234567',
    'file f file:vendor/f-1.0.0.tgz',
    'remote-tarball t https://example.com/downloads/t.tgz',
    'file v file:../v',
  ]);
  const inner = parseLockfile('package-lock.json', npmV3).entries.find((e) => e.name === 'inner');
  assert.equal(inner, undefined);
});

test('package-lock v2 prefers packages over the v1 dependencies tree', () => {
  const text = JSON.stringify({
    lockfileVersion: 2,
    packages: { '': {}, 'node_modules/a': { version: '1.1.0', resolved: `${REG}/a/-/a-1.1.0.tgz`, integrity: I_A110 } },
    dependencies: { a: { version: '1.0.0', resolved: `${REG}/a/-/a-1.0.0.tgz`, integrity: I_A100 } },
  });
  assert.deepEqual(summary(parseLockfile('package-lock.json', text)).entries, ['a@1.1.0']);
});

const npmV1 = JSON.stringify({
  name: 'app',
  version: '1.0.0',
  lockfileVersion: 1,
  requires: true,
  dependencies: {
    '@s/b': {
      version: '2.0.0',
      resolved: `${REG}/@s/b/-/b-2.0.0.tgz`,
      integrity: I_B200,
      requires: { a: '^1.0.0' },
      dependencies: { a: { version: '1.0.0', resolved: `${REG}/a/-/a-1.0.0.tgz`, integrity: I_A100 } },
    },
    a: { version: '1.1.0', resolved: `${REG}/a/-/a-1.1.0.tgz`, integrity: I_A110 },
    'string-width-cjs': {
      version: 'npm:string-width@4.2.3',
      resolved: `${REG}/string-width/-/string-width-4.2.3.tgz`,
      integrity: 'sha512-wKyQRQpjJ0sIp62ErSZdGsjMJWsap5oRNihHhu6G7JVO/9jIB6UyevL+tXuOqrng8j/cxKTWyWUwvSTriiZz/g==',
    },
    abbrev: { version: 'git+https://github.com/isaacs/abbrev-js.git#a9ee72e', from: 'git+https://github.com/isaacs/abbrev-js.git' },
    ghshort: { version: 'github:isaacs/abbrev-js#a9ee72e', from: 'github:isaacs/abbrev-js' },
    local: { version: 'file:libs/local' },
    tgz: { version: 'https://example.com/tgz-1.0.0.tgz', integrity: I_A100 },
    bund: {
      version: '1.0.0',
      resolved: `${REG}/bund/-/bund-1.0.0.tgz`,
      dependencies: { inner: { version: '1.0.0', bundled: true, dependencies: { deeper: { version: '1.0.0' } } } },
    },
  },
});

test('package-lock v1: nested tree, npm: alias, git/github/file/tarball reported, bundled skipped', () => {
  const result = parseLockfile('package-lock.json', npmV1);
  assert.deepEqual(summary(result), {
    entries: ['@s/b@2.0.0', 'a@1.0.0', 'a@1.1.0', 'string-width@4.2.3', 'bund@1.0.0'],
    unmirrorable: [
      'git abbrev git+https://github.com/isaacs/abbrev-js.git#a9ee72e',
      'git ghshort github:isaacs/abbrev-js#a9ee72e',
      'file local file:libs/local',
      'remote-tarball tgz https://example.com/tgz-1.0.0.tgz',
    ],
  });
  assert.equal(entry(result, 'a@1.0.0').source, 'package-lock.json: dependencies["@s/b"].dependencies["a"]');
  assert.equal(entry(result, 'string-width@4.2.3').source, 'package-lock.json: dependencies["string-width-cjs"]');
});

test('npm-shrinkwrap.json uses the npm parser and keeps the path as passed', () => {
  const result = parseLockfile('sub/dir/npm-shrinkwrap.json', npmV1);
  assert.equal(result.entries[0]?.source, 'sub/dir/npm-shrinkwrap.json: dependencies["@s/b"]');
});

test('package-lock errors name the file, the entry and the position', () => {
  throwsInput(() => parseLockfile('package-lock.json', '{"lockfileVersion": 3,\n "packages": {,}}'), /^package-lock\.json: invalid JSON: .*position \d+/);
  const lock = (packages: unknown) => JSON.stringify({ lockfileVersion: 3, packages: { '': {}, ...(packages as object) } });
  throwsInput(() => parseLockfile('package-lock.json', lock({ 'node_modules/foo': {} })), /^package-lock\.json: packages\["node_modules\/foo"\]: no version$/);
  throwsInput(() => parseLockfile('package-lock.json', lock({ 'node_modules/foo': 'x' })), /packages\["node_modules\/foo"\]: not an object/);
  throwsInput(() => parseLockfile('package-lock.json', lock({ 'node_modules/foo': { version: 1 } })), /packages\["node_modules\/foo"\]: version is not a string/);
  throwsInput(() => parseLockfile('package-lock.json', lock({ 'node_modules/foo': { version: 'latest' } })), /packages\["node_modules\/foo"\]: version "latest" is not a semver version/);
  throwsInput(() => parseLockfile('package-lock.json', '[]'), /^package-lock\.json: not a package-lock/);
  const v1 = JSON.stringify({ lockfileVersion: 1, dependencies: { a: { version: '1.0.0', dependencies: { b: {} } } } });
  throwsInput(() => parseLockfile('package-lock.json', v1), /^package-lock\.json: dependencies\["a"\]\.dependencies\["b"\]: no version$/);
  throwsInput(() => parseLockfile('package-lock.json', JSON.stringify({ lockfileVersion: 1, dependencies: { x: { version: 'npm:nope' } } })), /dependencies\["x"\]: cannot read the alias "npm:nope"/);
});

const yarnClassic = `# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@s/b@^2.0.0":
  version "2.0.0"
  resolved "https://registry.yarnpkg.com/@s/b/-/b-2.0.0.tgz#7f19d375df7c02166bec501caf2064ce16c24b43"
  integrity ${I_B200}
  dependencies:
    a "^1.0.0"

a@^1.0.0, a@^1.1.0:
  version "1.1.0"
  resolved "https://registry.yarnpkg.com/a/-/a-1.1.0.tgz#5a5914b13dabea7bb21cb4f714812ddca4614906"
  integrity ${I_A110}

"c@npm:a@1.0.0":
  version "1.0.0"
  resolved "https://registry.yarnpkg.com/a/-/a-1.0.0.tgz#5504e79b742b57e56c49b1d5da073176c95b0aba"
  integrity ${I_A100}

old@^0.1.0:
  version "0.1.0"
  resolved "https://registry.yarnpkg.com/old/-/old-0.1.0.tgz#5504e79b742b57e56c49b1d5da073176c95b0aba"

"local@file:./local":
  version "0.1.0"

"g@git+https://github.com/u/g.git#v1":
  version "1.0.0"
  resolved "git+https://github.com/u/g.git#0123456789abcdef0123456789abcdef01234567"

gh@u/gh:
  version "2.0.0"
  resolved "https://codeload.github.com/u/gh/tar.gz/0123456789abcdef0123456789abcdef01234567"

"t@https://example.com/t-1.0.0.tgz":
  version "1.0.0"
  resolved "https://example.com/t-1.0.0.tgz#5504e79b742b57e56c49b1d5da073176c95b0aba"

"lnk@link:./local":
  version "0.0.0"
`;

test('yarn.lock classic: multi-descriptor keys, scoped, npm: alias, resolved without #sha1', () => {
  const result = parseLockfile('yarn.lock', yarnClassic);
  assert.deepEqual(summary(result).entries, ['@s/b@2.0.0', 'a@1.1.0', 'a@1.0.0', 'old@0.1.0']);
  assert.deepEqual(entry(result, '@s/b@2.0.0'), {
    name: '@s/b',
    version: '2.0.0',
    integrity: I_B200,
    resolved: 'https://registry.yarnpkg.com/@s/b/-/b-2.0.0.tgz',
    source: 'yarn.lock: "@s/b@^2.0.0"',
  });
  assert.equal(entry(result, 'a@1.1.0').source, 'yarn.lock: "a@^1.0.0"');
  assert.equal(entry(result, 'a@1.0.0').source, 'yarn.lock: "c@npm:a@1.0.0"');
  // Before yarn 1.10 the only digest is the sha1 after `#`.
  assert.equal(entry(result, 'old@0.1.0').integrity, 'sha1-VQTnm3QrV+VsSbHV2gcxdslbCro=');
});

test('yarn.lock classic: file, git, github shorthand, remote tarball and link reported, each as the `resolved` URL yarn fetches (the pinned commit)', () => {
  assert.deepEqual(summary(parseLockfile('yarn.lock', yarnClassic)).unmirrorable, [
    'file local file:./local',
    'git g git+https://github.com/u/g.git#0123456789abcdef0123456789abcdef01234567',
    'git gh https://codeload.github.com/u/gh/tar.gz/0123456789abcdef0123456789abcdef01234567',
    'remote-tarball t https://example.com/t-1.0.0.tgz#5504e79b742b57e56c49b1d5da073176c95b0aba',
    'link lnk link:./local',
  ]);
});

test('yarn.lock classic errors name the entry and the line', () => {
  throwsInput(() => parseLockfile('yarn.lock', '# yarn lockfile v1\n\nfoo@^1:\n  version "1.0.0\n  x\n'), /^yarn\.lock: invalid yarn\.lock: .*\(line 4, column \d+\)/);
  throwsInput(() => parseLockfile('yarn.lock', '# yarn lockfile v1\n\nfoo@^1:\n  resolved "x"\n'), /^yarn\.lock: "foo@\^1": no version$/);
  throwsInput(() => parseLockfile('yarn.lock', '# yarn lockfile v1\n\nfoo@^1:\n  version "one"\n'), /^yarn\.lock: "foo@\^1": version "one" is not a semver version$/);
});

const yarnBerry = `# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@s/b@npm:^2.0.0":
  version: 2.0.0
  resolution: "@s/b@npm:2.0.0"
  dependencies:
    a: "npm:^1.0.0"
  checksum: 10c0/f555553a553c62abaca76ca79a520abf06c38503eeaebda17acaa245c5e15a15e2c3ca3c4d63e7961419aebed775669d46ef47ad345034c77824fcbd15c10ae4
  languageName: node
  linkType: hard

"a@npm:^1.0.0, a@npm:^1.1.0":
  version: 1.1.0
  resolution: "a@npm:1.1.0"
  checksum: 10c0/4a3ac83c8393768bdbfe1e436cf21bca0e27bbc9855ec0915c22d4922fdfaf2f6c81916392bf9906d120f5293cb7dd273d719f5245ffa37d2c9fb854f8e7670a
  languageName: node
  linkType: hard

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  dependencies:
    "@s/b": "npm:^2.0.0"
  languageName: unknown
  linkType: soft

"c@npm:a@1.0.0":
  version: 1.0.0
  resolution: "a@npm:1.0.0"
  checksum: 10c0/c98f6d406286e7ad0be87d37d797718bce6e38bdee499e00e87ae4b6e6c3a7da451bd91be7b71e80d1ec9d587ac20ff9c0843219cb385955fb4d0efe500f61be
  languageName: node
  linkType: hard

"pkg-a@workspace:packages/a":
  version: 0.0.0-use.local
  resolution: "pkg-a@workspace:packages/a"
  languageName: unknown
  linkType: soft

"resolve@patch:resolve@npm%3A^1.22.0#optional!builtin<compat/resolve>":
  version: 1.22.8
  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=9bd1a5"
  checksum: 10c0/efd3336576a6c7f0ac7c09cd0f72b212388900aa125c81224711355b930f9130fd78d615713c8c2dbb4ac24daa75232e6db0aa894d90cc5bd7112b95e9b16d17
  languageName: node
  linkType: hard

"@s/p@patch:@s/p@npm%3A3.0.0#~/.yarn/patches/@s-p-npm-3.0.0-0a1b2c3d4e.patch":
  version: 3.0.0
  resolution: "@s/p@patch:@s/p@npm%3A3.0.0#~/.yarn/patches/@s-p-npm-3.0.0-0a1b2c3d4e.patch::version=3.0.0&hash=0a1b2c&locator=app%40workspace%3A."
  languageName: node
  linkType: hard

"priv@npm:^1.0.0":
  version: 1.0.0
  resolution: "priv@npm:1.0.0::__archiveUrl=https%3A%2F%2Fnpm.internal%2Fpriv%2Fdownload%2F1.0.0"
  languageName: node
  linkType: hard

"lnk@link:./local::locator=app%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "lnk@link:./local::locator=app%40workspace%3A."
  languageName: node
  linkType: soft

"local@file:./local::locator=app%40workspace%3A.":
  version: 0.1.0
  resolution: "local@file:./local#./local::hash=08ed1f&locator=app%40workspace%3A."
  languageName: node
  linkType: hard

"por@portal:./local::locator=app%40workspace%3A.":
  version: 0.0.0-use.local
  resolution: "por@portal:./local::locator=app%40workspace%3A."
  languageName: node
  linkType: soft

"g@https://github.com/u/g.git#v1":
  version: 1.0.0
  resolution: "g@https://github.com/u/g.git#commit=0123456789abcdef0123456789abcdef01234567"
  languageName: node
  linkType: hard

"t@https://example.com/t-1.0.0.tgz":
  version: 1.0.0
  resolution: "t@https://example.com/t-1.0.0.tgz"
  languageName: node
  linkType: hard

"gen@exec:./gen.js::locator=app%40workspace%3A.":
  version: 0.0.0
  resolution: "gen@exec:./gen.js#./gen.js::hash=1d2e3f&locator=app%40workspace%3A."
  languageName: node
  linkType: hard
`;

test('yarn.lock berry: npm resolutions, alias, patch: unwrapped, checksum is not integrity', () => {
  const result = parseLockfile('yarn.lock', yarnBerry);
  assert.deepEqual(summary(result).entries, ['@s/b@2.0.0', 'a@1.1.0', 'a@1.0.0', 'resolve@1.22.8', '@s/p@3.0.0', 'priv@1.0.0']);
  assert.deepEqual(entry(result, '@s/b@2.0.0'), { name: '@s/b', version: '2.0.0', source: 'yarn.lock: "@s/b@npm:^2.0.0"' });
  assert.equal(entry(result, 'a@1.1.0').source, 'yarn.lock: "a@npm:^1.0.0, a@npm:^1.1.0"');
  assert.equal(entry(result, 'priv@1.0.0').resolved, 'https://npm.internal/priv/download/1.0.0');
  assert.ok(result.entries.every((e) => e.integrity === undefined));
});

test('yarn.lock berry: workspaces, link, file, portal, git, tarball and exec reported; the project skipped', () => {
  assert.deepEqual(summary(parseLockfile('yarn.lock', yarnBerry)).unmirrorable, [
    'workspace pkg-a workspace:packages/a',
    'link lnk link:./local::locator=app%40workspace%3A.',
    'file local file:./local#./local::hash=08ed1f&locator=app%40workspace%3A.',
    'file por portal:./local::locator=app%40workspace%3A.',
    'git g https://github.com/u/g.git#commit=0123456789abcdef0123456789abcdef01234567',
    'remote-tarball t https://example.com/t-1.0.0.tgz',
    'other gen exec:./gen.js#./gen.js::hash=1d2e3f&locator=app%40workspace%3A.',
  ]);
});

test('yarn.lock berry errors name the entry and the line', () => {
  const head = '__metadata:\n  version: 8\n\n';
  throwsInput(() => parseLockfile('yarn.lock', `${head}"a@npm:^1":\n  version: [1\n`), /^yarn\.lock: invalid yarn\.lock: .*\(\d+:\d+\)/);
  throwsInput(() => parseLockfile('yarn.lock', `${head}"a@npm:^1":\n  version: 1.0.0\n`), /^yarn\.lock: "a@npm:\^1": no resolution$/);
  throwsInput(() => parseLockfile('yarn.lock', `${head}"a@npm:^1":\n  resolution: "a@npm:latest"\n`), /^yarn\.lock: "a@npm:\^1": version "latest" is not a semver version$/);
  throwsInput(() => parseLockfile('yarn.lock', `${head}"a@npm:^1": 3\n`), /^yarn\.lock: "a@npm:\^1": not an object$/);
});

const pnpmV5 = `lockfileVersion: 5.4

specifiers:
  '@s/b': ^2.0.0
  peer-host: 1.0.0

dependencies:
  '@s/b': 2.0.0
  peer-host: 1.0.0_a@1.1.0

packages:

  /@s/b/2.0.0:
    resolution: {integrity: ${I_B200}}
    dependencies:
      a: 1.1.0
    dev: false

  /a/1.1.0:
    resolution: {integrity: ${I_A110}}
    dev: false

  /peer-host/1.0.0_a@1.1.0:
    resolution: {integrity: ${I_A100}}
    peerDependencies:
      a: ^1.0.0
    dev: false

  /@s/c/1.0.0_3fvc5mgq2fm3nzvvqvqb5uqv7e:
    resolution: {integrity: ${I_A100}}
    dev: false

  github.com/u/g/0123456789abcdef0123456789abcdef01234567:
    resolution: {tarball: https://codeload.github.com/u/g/tar.gz/0123456789abcdef0123456789abcdef01234567}
    name: g
    version: 1.0.0
    dev: false

  file:local:
    resolution: {directory: local, type: directory}
    name: local
    version: 0.1.0
    dev: false
`;

test('pnpm-lock v5: /name/version keys, scoped, _peer suffixes, git and directory reported', () => {
  const result = parseLockfile('pnpm-lock.yaml', pnpmV5);
  assert.deepEqual(summary(result), {
    entries: ['@s/b@2.0.0', 'a@1.1.0', 'peer-host@1.0.0', '@s/c@1.0.0'],
    unmirrorable: ['git g https://codeload.github.com/u/g/tar.gz/0123456789abcdef0123456789abcdef01234567', 'file local file:local'],
  });
  assert.deepEqual(entry(result, '@s/b@2.0.0'), {
    name: '@s/b',
    version: '2.0.0',
    integrity: I_B200,
    source: 'pnpm-lock.yaml: packages["/@s/b/2.0.0"]',
  });
});

const pnpmV6 = `lockfileVersion: '6.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

dependencies:
  c:
    specifier: npm:a@1.0.0
    version: /a@1.0.0
  peer-host:
    specifier: 1.0.0
    version: 1.0.0(a@1.1.0)

packages:

  /@s/b@2.0.0:
    resolution: {integrity: ${I_B200}}
    dependencies:
      a: 1.1.0
    dev: false

  /a@1.0.0:
    resolution: {integrity: ${I_A100}, tarball: https://npm.internal/a/-/a-1.0.0.tgz}
    dev: false

  /peer-host@1.0.0(a@1.1.0):
    resolution: {integrity: ${I_A110}}
    peerDependencies:
      a: ^1.0.0
    dev: false

  /@s/d@1.0.0(@s/b@2.0.0)(a@1.1.0):
    resolution: {integrity: ${I_A110}}
    dev: false

  file:local:
    resolution: {directory: local, type: directory}
    name: local
    dev: false

  github.com/u/g/0123456789abcdef0123456789abcdef01234567:
    resolution: {commit: 0123456789abcdef0123456789abcdef01234567, repo: git+ssh://git@github.com/u/g.git, type: git}
    name: g
    version: 1.0.0
    dev: false

  example.com/t-1.0.0.tgz:
    resolution: {tarball: https://example.com/t-1.0.0.tgz}
    name: t
    version: 1.0.0
    dev: false
`;

test('pnpm-lock v6: /name@version keys, (peer) suffixes, registry tarball kept as resolved', () => {
  const result = parseLockfile('pnpm-lock.yaml', pnpmV6);
  assert.deepEqual(summary(result), {
    entries: ['@s/b@2.0.0', 'a@1.0.0', 'peer-host@1.0.0', '@s/d@1.0.0'],
    unmirrorable: [
      'file local file:local',
      'git g git+ssh://git@github.com/u/g.git#0123456789abcdef0123456789abcdef01234567',
      'remote-tarball t https://example.com/t-1.0.0.tgz',
    ],
  });
  assert.deepEqual(entry(result, 'a@1.0.0'), {
    name: 'a',
    version: '1.0.0',
    integrity: I_A100,
    resolved: 'https://npm.internal/a/-/a-1.0.0.tgz',
    source: 'pnpm-lock.yaml: packages["/a@1.0.0"]',
  });
  assert.equal(entry(result, '@s/d@1.0.0').source, 'pnpm-lock.yaml: packages["/@s/d@1.0.0(@s/b@2.0.0)(a@1.1.0)"]');
});

const pnpmV9 = `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      c:
        specifier: npm:a@1.0.0
        version: a@1.0.0
      peer-host:
        specifier: 1.0.0
        version: 1.0.0(a@1.1.0)

packages:

  '@s/b@2.0.0':
    resolution: {integrity: ${I_B200}}

  a@1.0.0:
    resolution: {integrity: ${I_A100}}

  peer-host@1.0.0:
    resolution: {integrity: ${I_A110}}
    peerDependencies:
      a: ^1.0.0

  '@s/d@1.0.0(a@1.1.0)':
    resolution: {integrity: ${I_A110}}

  local@file:local:
    resolution: {directory: local, type: directory}

  g@git+https://github.com/u/g.git#0123456789abcdef0123456789abcdef01234567:
    resolution: {commit: 0123456789abcdef0123456789abcdef01234567, repo: https://github.com/u/g.git, type: git}
    version: 1.0.0

  gh@https://codeload.github.com/u/gh/tar.gz/0123456789abcdef0123456789abcdef01234567:
    resolution: {tarball: https://codeload.github.com/u/gh/tar.gz/0123456789abcdef0123456789abcdef01234567}
    version: 2.0.0

  t@https://example.com/t-1.0.0.tgz:
    resolution: {tarball: https://example.com/t-1.0.0.tgz}
    version: 1.0.0

  v@file:vendor/v-1.0.0.tgz:
    resolution: {integrity: ${I_A100}, tarball: file:vendor/v-1.0.0.tgz}
    version: 1.0.0

snapshots:

  '@s/b@2.0.0':
    dependencies:
      a: 1.1.0

  a@1.0.0: {}

  peer-host@1.0.0(a@1.1.0):
    dependencies:
      a: 1.1.0
`;

test('pnpm-lock v9: name@version keys, peers stripped, snapshots ignored, non-registry reported', () => {
  const result = parseLockfile('pnpm-lock.yaml', pnpmV9);
  assert.deepEqual(summary(result), {
    entries: ['@s/b@2.0.0', 'a@1.0.0', 'peer-host@1.0.0', '@s/d@1.0.0'],
    unmirrorable: [
      'file local file:local',
      'git g https://github.com/u/g.git#0123456789abcdef0123456789abcdef01234567',
      'git gh https://codeload.github.com/u/gh/tar.gz/0123456789abcdef0123456789abcdef01234567',
      'remote-tarball t https://example.com/t-1.0.0.tgz',
      'file v file:vendor/v-1.0.0.tgz',
    ],
  });
  assert.deepEqual(entry(result, '@s/b@2.0.0'), {
    name: '@s/b',
    version: '2.0.0',
    integrity: I_B200,
    source: 'pnpm-lock.yaml: packages["@s/b@2.0.0"]',
  });
});

test('pnpm-lock errors name the version, the entry and the line', () => {
  throwsInput(() => parseLockfile('pnpm-lock.yaml', "lockfileVersion: '4'\npackages: {}\n"), /^pnpm-lock\.yaml: unsupported lockfileVersion "4": offline reads 5\.x, 6\.x and 9\.0/);
  throwsInput(() => parseLockfile('pnpm-lock.yaml', 'packages: {}\n'), /^pnpm-lock\.yaml: no lockfileVersion: offline reads/);
  throwsInput(() => parseLockfile('pnpm-lock.yaml', "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: [1\n"), /^pnpm-lock\.yaml: invalid YAML: .*at line 4, column \d+$/);
  const v9 = (body: string) => `lockfileVersion: '9.0'\npackages:\n${body}`;
  throwsInput(() => parseLockfile('pnpm-lock.yaml', v9('  a@1.0.0: {}\n')), /^pnpm-lock\.yaml: packages\["a@1\.0\.0"\]: no resolution$/);
  throwsInput(() => parseLockfile('pnpm-lock.yaml', v9('  a@1.0.0: 3\n')), /packages\["a@1\.0\.0"\]: not a map/);
  throwsInput(() => parseLockfile('pnpm-lock.yaml', v9('  a@latest:\n    resolution: {integrity: sha512-x}\n')), /packages\["a@latest"\]: version "latest" is not a semver version/);
  throwsInput(() => parseLockfile('pnpm-lock.yaml', v9('  a@1.0.0:\n    resolution: {integrity: 5}\n')), /packages\["a@1\.0\.0"\]\.resolution: integrity is not a string/);
});

test('an unknown file name is refused', () => {
  throwsInput(() => parseLockfile('bun.lockb', ''), /^bun\.lockb: not a lockfile offline knows: expected package-lock\.json, npm-shrinkwrap\.json, yarn\.lock or pnpm-lock\.yaml$/);
});

test('readLockfile reads from disk and reports a missing file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'offline-lockfile-'));
  try {
    const file = join(dir, 'pnpm-lock.yaml');
    await writeFile(file, pnpmV9);
    const result = await readLockfile(file);
    assert.equal(result.entries[0]?.source, `${file}: packages["@s/b@2.0.0"]`);
    const missing = join(dir, 'yarn.lock');
    await assert.rejects(readLockfile(missing), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.message, `${missing}: cannot read the lockfile: file not found`);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
