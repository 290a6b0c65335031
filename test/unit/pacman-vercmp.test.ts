import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/foundation/errors.ts';
import { packageSatisfies, parseProvision, parseRelation, satisfies } from '../../src/ecosystems/pacman/relation.ts';
import { vercmp } from '../../src/ecosystems/pacman/vercmp.ts';
import type { Relation } from '../../src/ecosystems/pacman/types.ts';

type Vector = [string, string, -1 | 0 | 1];

// Every vector of pacman's test/util/vercmptest.sh (`tap_plan 92`: 46 pairs, each run both ways
// as the script's tap_runtest does), under the script's own group comments.
const UPSTREAM: Array<[string, Vector[]]> = [
  ['all similar length, no pkgrel', [['1.5.0', '1.5.0', 0], ['1.5.1', '1.5.0', 1]]],
  ['mixed length', [['1.5.1', '1.5', 1]]],
  ['with pkgrel, simple', [
    ['1.5.0-1', '1.5.0-1', 0], ['1.5.0-1', '1.5.0-2', -1], ['1.5.0-1', '1.5.1-1', -1], ['1.5.0-2', '1.5.1-1', -1],
  ]],
  ['with pkgrel, mixed lengths', [['1.5-1', '1.5.1-1', -1], ['1.5-2', '1.5.1-1', -1], ['1.5-2', '1.5.1-2', -1]]],
  ['mixed pkgrel inclusion', [
    ['1.5', '1.5-1', 0], ['1.5-1', '1.5', 0], ['1.1-1', '1.1', 0], ['1.0-1', '1.1', -1], ['1.1-1', '1.0', 1],
  ]],
  ['alphanumeric versions', [['1.5b-1', '1.5-1', -1], ['1.5b', '1.5', -1], ['1.5b-1', '1.5', -1], ['1.5b', '1.5.1', -1]]],
  ['from the manpage', [
    ['1.0a', '1.0alpha', -1], ['1.0alpha', '1.0b', -1], ['1.0b', '1.0beta', -1], ['1.0beta', '1.0rc', -1], ['1.0rc', '1.0', -1],
  ]],
  ['going crazy? alpha-dotted versions', [['1.5.a', '1.5', 1], ['1.5.b', '1.5.a', 1], ['1.5.1', '1.5.b', 1]]],
  ['alpha dots and dashes', [['1.5.b-1', '1.5.b', 0], ['1.5-1', '1.5.b', -1]]],
  ['same/similar content, differing separators', [['2.0', '2_0', 0], ['2.0_a', '2_0.a', 0], ['2.0a', '2.0.a', -1], ['2___a', '2_a', 1]]],
  ['epoch included version comparisons', [
    ['0:1.0', '0:1.0', 0], ['0:1.0', '0:1.1', -1], ['1:1.0', '0:1.0', 1], ['1:1.0', '0:1.1', 1], ['1:1.0', '2:1.1', -1],
  ]],
  ['epoch + sometimes present pkgrel', [['1:1.0', '0:1.0-1', 1], ['1:1.0-1', '0:1.1-1', 1]]],
  ['epoch included on one version', [
    ['0:1.0', '1.0', 0], ['0:1.0', '1.1', -1], ['0:1.1', '1.0', 1], ['1:1.0', '1.0', 1], ['1:1.0', '1.1', 1], ['1:1.1', '1.1', 1],
  ]],
];

// Behaviour read off version.c and checked against libalpm 13.0.2's alpm_pkg_vercmp.
const OURS: Vector[] = [
  ['1.0~rc1', '1.0', 1], // no tilde rule: `~` is a separator, and a separator then more is newer
  ['1.0~rc1', '1.0rc1', 1],
  ['1.0~1', '1.0.1', 0], // separators of the same length compare equal whatever they are
  ['1.0', '1.0.0', -1],
  ['010', '10', 0], // leading zeros are ignored
  ['1.0001', '1.1', 0],
  ['12345678901234567890', '12345678901234567891', -1], // digit runs never overflow
  ['1a', '1', -1],
  ['1', 'a', 1], // numeric beats alpha
  ['a', 'B', 1], // alpha segments compare bytewise
  ['1.0-1.1', '1.0-1', 1], // pkgrel is compared like a version
  ['1.0-10', '1.0-9', 1],
  ['1.0-', '1.0-1', -1],
  ['1:', '0:999', 1],
  [':1.0', '1.0', 0], // an empty epoch is 0
  ['2.0.rc1', '2.0', 1],
  ['1.0é', '1.0', 1], // non-ASCII bytes are separators in the C locale
  ['', '0', -1],
  ['', '', 0],
];

/** The expected result with the arguments swapped (and no `-0`). */
function reverse(want: -1 | 0 | 1): -1 | 0 | 1 {
  return want === 0 ? 0 : want === 1 ? -1 : 1;
}

test('vercmp passes every vector of pacman test/util/vercmptest.sh, both ways', () => {
  let checks = 0;
  for (const [group, vectors] of UPSTREAM) {
    for (const [a, b, want] of vectors) {
      assert.equal(vercmp(a, b), want, `${group}: vercmp ${a} ${b}`);
      assert.equal(vercmp(b, a), reverse(want), `${group}: vercmp ${b} ${a}`);
      checks += 2;
    }
  }
  assert.equal(checks, 92); // the script's tap_plan
});

test('vercmp follows alpm on tildes, zeros, overflow, empty parts and non-ASCII', () => {
  for (const [a, b, want] of OURS) {
    assert.equal(vercmp(a, b), want, `vercmp ${a} ${b}`);
    assert.equal(vercmp(b, a), reverse(want), `vercmp ${b} ${a}`);
  }
});

test('parseRelation reads names, operators and versions like alpm_dep_from_string', () => {
  const cases: Array<[string, Relation]> = [
    ['glibc', { name: 'glibc' }],
    ['bar>=1.0', { name: 'bar', op: '>=', version: '1.0' }],
    ['bar<2', { name: 'bar', op: '<', version: '2' }],
    ['bar<=2', { name: 'bar', op: '<=', version: '2' }],
    ['bar>2', { name: 'bar', op: '>', version: '2' }],
    ['python=3.12.1-2', { name: 'python', op: '=', version: '3.12.1-2' }],
    ['gnupg>1:2.0', { name: 'gnupg', op: '>', version: '1:2.0' }],
    ['libfoo.so=1-64', { name: 'libfoo.so', op: '=', version: '1-64' }],
    ['libstdc++.so', { name: 'libstdc++.so' }],
    ['gtk+-2.0>=2.24', { name: 'gtk+-2.0', op: '>=', version: '2.24' }],
    ['perl-foo_bar@x.y', { name: 'perl-foo_bar@x.y' }],
    ['  zlib>=1:1.2  ', { name: 'zlib', op: '>=', version: '1:1.2' }],
    ['python-pip: for installing things', { name: 'python-pip' }],
    ['python>=3: needed for scripts', { name: 'python', op: '>=', version: '3' }],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseRelation(text), want, text);
});

test('parseRelation rejects a missing name or version with an InputError naming the source', () => {
  for (const text of ['', '>=1', '=2', 'foo>=', 'foo=']) {
    assert.throws(() => parseRelation(text, 'foo-1-1 %DEPENDS%'), (err: unknown) => {
      assert.ok(err instanceof InputError, String(err));
      assert.match(err.message, /^foo-1-1 %DEPENDS%: .*not a pacman relation/);
      return true;
    });
  }
});

test('parseProvision keeps a version only for name=version', () => {
  assert.deepEqual(parseProvision('sh'), { name: 'sh' });
  assert.deepEqual(parseProvision('libfoo.so=1-64'), { name: 'libfoo.so', version: '1-64' });
  assert.deepEqual(parseProvision('java-runtime=21'), { name: 'java-runtime', version: '21' });
  // alpm only honours `=` in a provision; any other operator leaves an unversioned one.
  assert.deepEqual(parseProvision('foo>=1'), { name: 'foo' });
  assert.deepEqual(parseProvision('foo='), { name: 'foo', version: '' });
  assert.ok(satisfies(parseRelation('foo<1'), 'foo', ''), 'alpm compares the empty version');
  assert.throws(() => parseProvision('=1'), InputError);
});

test('satisfies follows _alpm_depcmp_literal and _alpm_depcmp_provides', () => {
  const cases: Array<[string, string, string | undefined, boolean]> = [
    // unversioned relations: any version of the name, or none
    ['foo', 'foo', '1.0-1', true],
    ['foo', 'foo', undefined, true],
    ['foo', 'bar', '1.0-1', false],
    ['foo', 'Foo', '1.0-1', false],
    // versioned relations against package versions
    ['foo>=1.0', 'foo', '1.0-1', true],
    ['foo>=1.0', 'foo', '0.9-5', false],
    ['foo>1.0', 'foo', '1.0-5', false], // pkgrel ignored: 1.0-5 equals 1.0
    ['foo>1.0-1', 'foo', '1.0-5', true],
    ['foo<2', 'foo', '1:1.0-1', false], // the epoch wins
    ['foo<=1.0', 'foo', '1.0-9', true],
    ['foo<1.0', 'foo', '1.0rc1-1', true],
    ['foo>=1:2.0', 'foo', '2.0-1', false],
    ['foo>=1:2.0', 'foo', '1:2.0-1', true],
    // `=` without a pkgrel ignores the candidate's pkgrel; with one, it must match
    ['foo=1.0', 'foo', '1.0-3', true],
    ['foo=1.0', 'foo', '1.0.1-1', false],
    ['foo=1.0-3', 'foo', '1.0-3', true],
    ['foo=1.0-3', 'foo', '1.0-2', false],
    ['foo=1.0-3', 'foo', '1.0', true], // neither side's pkgrel counts when one lacks it
    ['foo=1:1.0', 'foo', '1.0-1', false],
    // versioned provisions
    ['libfoo.so=1-64', 'libfoo.so', '1-64', true],
    ['libfoo.so=1-64', 'libfoo.so', '1-32', false],
    ['libfoo.so>=1-64', 'libfoo.so', '2-64', true],
    ['libfoo.so', 'libfoo.so', '1-64', true],
    ['sh>=5', 'sh', '5.2.026', true],
    // an unversioned provision never meets a versioned relation
    ['foo>=1', 'foo', undefined, false],
    ['foo=1', 'foo', undefined, false],
    ['foo<1', 'foo', undefined, false],
  ];
  for (const [rel, name, version, want] of cases) {
    assert.equal(satisfies(parseRelation(rel), name, version), want, `${rel} by ${name} ${version ?? '(unversioned)'}`);
  }
});

test('packageSatisfies checks the package itself, then its provisions', () => {
  const bash = { name: 'bash', version: '5.2.026-2', provides: ['sh'] };
  const mesa = { name: 'mesa', version: '1:24.0.1-1', provides: ['libgl', 'opengl-driver', 'libEGL.so=1-64', 'odd>=', '>=1'] };
  assert.ok(packageSatisfies(parseRelation('bash>=5'), bash));
  assert.ok(packageSatisfies(parseRelation('sh'), bash));
  assert.ok(!packageSatisfies(parseRelation('sh>=1'), bash));
  assert.ok(packageSatisfies(parseRelation('mesa>=24'), mesa));
  assert.ok(packageSatisfies(parseRelation('libEGL.so=1-64'), mesa));
  assert.ok(!packageSatisfies(parseRelation('libEGL.so=1-32'), mesa));
  assert.ok(packageSatisfies(parseRelation('libgl'), mesa));
  assert.ok(!packageSatisfies(parseRelation('libgl>=1'), mesa));
  assert.ok(packageSatisfies(parseRelation('odd'), mesa)); // alpm keeps the name of `odd>=`
  assert.ok(!packageSatisfies(parseRelation('odd>=1'), mesa)); // but not its version
});
