import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/foundation/errors.ts';
import { evaluateMarker, markerEnvironment, parseMarker } from '../../src/ecosystems/pypi/markers.ts';
import { isValidName, normalizeName } from '../../src/ecosystems/pypi/names.ts';
import { isValidSpecifier, parseRequirement } from '../../src/ecosystems/pypi/pep508.ts';
import type { MarkerEnvironment } from '../../src/ecosystems/pypi/types.ts';

function throwsInput(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

test('normalizeName follows PEP 503 and isValidName PEP 508', () => {
  assert.equal(normalizeName('Friendly-Bard'), 'friendly-bard');
  assert.equal(normalizeName('FRIENDLY._-_BARD'), 'friendly-bard');
  assert.equal(normalizeName('zope.interface'), 'zope-interface');
  for (const name of ['A', 'aa', 'A.B-C_D', 'x1', '1x']) assert.ok(isValidName(name), name);
  for (const name of ['', '-a', 'a-', 'a_', '.a', 'a b', 'a@b']) assert.ok(!isValidName(name), name);
});

test('parseRequirement reads names, extras, specifiers, markers and URLs', () => {
  const cases: Array<[string, Partial<ReturnType<typeof parseRequirement>>]> = [
    ['requests', { name: 'requests', normalized: 'requests', extras: [], specifier: '' }],
    ['Django>=4.2,<5', { name: 'Django', normalized: 'django', specifier: '>=4.2,<5' }],
    ['name (>=1)', { specifier: '>=1' }],
    ['zope.interface >= 5.0 , != 5.1.* , < 7', { normalized: 'zope-interface', specifier: '>=5.0,!=5.1.*,<7' }],
    ['requests[socks,Security]>=2.31', { extras: ['security', 'socks'], specifier: '>=2.31' }],
    ['name[ b , a ]', { extras: ['a', 'b'] }],
    ['name[]', { extras: [] }],
    ['tomli==2.0.1; python_version < "3.11" and sys_platform == "linux"', {
      specifier: '==2.0.1',
      marker: 'python_version < "3.11" and sys_platform == "linux"',
    }],
    ['name;os_name=="nt"', { specifier: '', marker: 'os_name=="nt"' }],
    ['pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686', {
      url: 'https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686',
      specifier: '',
    }],
    ['local @ file:///opt/wheels/local-1.0-py3-none-any.whl', { url: 'file:///opt/wheels/local-1.0-py3-none-any.whl' }],
    ["name [fred,bar] @ http://foo.com ; python_version=='2.7'", { extras: ['bar', 'fred'], url: 'http://foo.com', marker: "python_version=='2.7'" }],
    ['a@https://x/a.whl', { url: 'https://x/a.whl' }],
    // PEP 508: `;` right after a URL is part of the URL.
    ['a @ https://x/y.whl;python_version<"3"', { url: 'https://x/y.whl;python_version<"3"' }],
    ['a===foobar', { specifier: '===foobar' }],
    ['a ~= 1.4.5', { specifier: '~=1.4.5' }],
    ['a==1.0+local', { specifier: '==1.0+local' }],
    ['a==2!1.0.post1', { specifier: '==2!1.0.post1' }],
    ['a>=1.0,', { specifier: '>=1.0' }],
    ['  spaced  >=  1.0  ', { name: 'spaced', specifier: '>=1.0' }],
  ];
  for (const [text, expected] of cases) {
    const req = parseRequirement(text, 'requirements.txt:3');
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(req[key as keyof typeof req], value, `${text}: ${key}`);
    assert.deepEqual(req.hashes, []);
    assert.equal(req.source, 'requirements.txt:3');
    if (!('url' in expected)) assert.equal(req.url, undefined, text);
    if (!('marker' in expected)) assert.equal(req.marker, undefined, text);
  }
});

test('parseRequirement parses the PEP 508 test examples', () => {
  const examples = [
    'A',
    'A.B-C_D',
    'aa',
    'name',
    'name<=1',
    'name>=3',
    'name>=3,<2',
    'name@http://foo.com',
    "name [fred,bar] @ http://foo.com ; python_version=='2.7'",
    "name[quux, strange];python_version<'2.7' and platform_version=='2'",
    "name; os_name=='a' or os_name=='b'",
    "name; os_name=='a' and os_name=='b' or os_name=='c'",
    "name; os_name=='a' and (os_name=='b' or os_name=='c')",
    "name; os_name=='a' or os_name=='b' and os_name=='c'",
    "name; (os_name=='a' or os_name=='b') and os_name=='c'",
    'requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < "2.7"',
  ];
  for (const text of examples) assert.doesNotThrow(() => parseRequirement(text, 'pep508'), text);
});

test('parseRequirement rejects what PEP 508 and PEP 440 reject, naming the source', () => {
  const bad: Array<[string, RegExp]> = [
    ['-e .', /expected a project name/],
    ['a b', /"b" is not a version specifier/],
    ['a==1.0 b', /"==1.0 b" is not a version specifier/],
    ['a=1', /"=1" is not a version specifier/],
    ['a (>=1', /expected "\)"/],
    ['a[x,]', /"" is not a valid extra name/],
    ['a[x y]', /"x y" is not a valid extra name/],
    ['a[x', /expected "\]"/],
    ['a @ ', /expected a URL/],
    ['a @ https://x extra', /expected ";" and a marker after the URL/],
    ['a;', /expected a marker after ";"/],
    ['a~=1', /"~=1" is not a valid PEP 440/],
    ['a>=1.0+local', /">=1.0\+local" is not a valid PEP 440/],
    ['a==1.0a1.*', /"==1.0a1.\*" is not a valid PEP 440/],
    ['a>=1.*', /">=1.\*" is not a valid PEP 440/],
    ['a==1.0.*.*', /not a valid PEP 440/],
    ['a>=1,,<2', /"" is not a version specifier/],
    ['a==foo', /"==foo" is not a valid PEP 440/],
    ['a ; python_version < 3.8', /invalid marker "python_version < 3.8": unexpected "3" at column 18/],
    ['a ; foo == "x"', /invalid marker .*at column 1, got "foo"/],
  ];
  for (const [text, message] of bad) {
    throwsInput(() => parseRequirement(text, 'foo 1.0 (Requires-Dist)'), message);
    throwsInput(() => parseRequirement(text, 'foo 1.0 (Requires-Dist)'), /^foo 1\.0 \(Requires-Dist\): /);
  }
  throwsInput(() => parseRequirement('a b', 'reqs/base.txt:12', 'reqs/base.txt'), /^reqs\/base\.txt: line 12: invalid requirement "a b"/);
  throwsInput(() => parseRequirement('a ; x', 'poetry.lock: package "a"', 'poetry.lock'), /^poetry\.lock: package "a": invalid marker "x"/);
  assert.throws(() => parseRequirement('a b', 'reqs.txt:2', 'reqs.txt'), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.equal(err.file, 'reqs.txt');
    assert.equal(err.entry, 'line 2');
    return true;
  });
});

test('isValidSpecifier covers what @renovatebot/pep440 gets right and wrong', () => {
  for (const s of ['', '>=1', '==1.*', '!=1.0.*', '===1.0.*', '=== anything', '~=1.0', '~=2!1.0', '==1.0+local', '<3.0.0.dev0', '== 1.0 , != 1.0.1'])
    assert.ok(isValidSpecifier(s), s);
  for (const s of ['1.0', '~=1', '>=1.*', '==1.0a1.*', '!=1.0.post1.*', '==1.0.dev1.*', '>=1.0+local', '>=', '>=1.0 <2', ',>=1'])
    assert.ok(!isValidSpecifier(s), s);
});

const LINUX = markerEnvironment('3.12', 'manylinux_2_17_x86_64');
const MUSL_ARM = markerEnvironment('3.11', 'musllinux_1_2_aarch64');
const MAC = markerEnvironment('3.13', 'macosx_11_0_arm64');
const WINDOWS = markerEnvironment('3.9', 'win_amd64');

test('markerEnvironment derives the PEP 508 variables from a Python version and a platform tag', () => {
  assert.deepEqual(LINUX, {
    python_version: '3.12',
    python_full_version: '3.12.0',
    os_name: 'posix',
    sys_platform: 'linux',
    platform_system: 'Linux',
    platform_machine: 'x86_64',
    platform_release: '',
    platform_version: '',
    platform_python_implementation: 'CPython',
    implementation_name: 'cpython',
    implementation_version: '3.12.0',
    extra: '',
  });
  assert.equal(MUSL_ARM.platform_machine, 'aarch64');
  assert.equal(MUSL_ARM.sys_platform, 'linux');
  assert.deepEqual(
    [MAC.sys_platform, MAC.platform_system, MAC.platform_machine, MAC.os_name, MAC.platform_release],
    ['darwin', 'Darwin', 'arm64', 'posix', '20.0.0'],
  );
  assert.equal(markerEnvironment('3.12', 'macosx_10_9_x86_64').platform_machine, 'x86_64');
  assert.equal(markerEnvironment('3.12', 'macosx_10_9_x86_64').platform_release, '13.0.0');
  assert.deepEqual(
    [WINDOWS.sys_platform, WINDOWS.platform_system, WINDOWS.platform_machine, WINDOWS.os_name],
    ['win32', 'Windows', 'AMD64', 'nt'],
  );
  assert.equal(markerEnvironment('3.12', 'win32').platform_machine, 'x86');
  assert.equal(markerEnvironment('3.12', 'win_arm64').platform_machine, 'ARM64');
  assert.equal(markerEnvironment('3.12', 'manylinux2014_aarch64').platform_machine, 'aarch64');
  assert.equal(markerEnvironment('3.10', 'linux_armv7l').platform_machine, 'armv7l');
  assert.equal(markerEnvironment('3.12.4', 'manylinux_2_28_x86_64').python_full_version, '3.12.4');
  assert.equal(markerEnvironment('3.12.4', 'manylinux_2_28_x86_64').python_version, '3.12');
  throwsInput(() => markerEnvironment('3', 'win_amd64'), /pypi\.python: "3": not a Python version/);
  throwsInput(() => markerEnvironment('3.12', 'any'), /pypi\.platforms: "any": not a wheel platform tag/);
});

// Expected values checked against packaging 24.1's Marker.evaluate for the same environments.
const TABLE: Array<[string, boolean, boolean, boolean, boolean]> = [
  // marker                                                       linux  musl   mac    windows
  ['python_version < "3.11"',                                     false, false, false, true],
  ["python_version >= '3.8'",                                     true,  true,  true,  true],
  ['"3.11" > python_version',                                     false, false, false, true],
  ["'3.13' <= python_version",                                    false, false, true,  false],
  ['python_version == "3.12"',                                    true,  false, false, false],
  ['python_version == "3.*"',                                     true,  true,  true,  true],
  ['python_version != "3.12"',                                    false, true,  true,  true],
  ['python_version ~= "3.10"',                                    true,  true,  true,  false],
  ['python_version === "3.12"',                                   true,  false, false, false],
  ['python_version > "3.9"',                                      true,  true,  true,  false],
  // 3.9 < 3.10 as versions; as strings "3.9" > "3.10".
  ['python_version < "3.10"',                                     false, false, false, true],
  ['python_full_version >= "3.12.0"',                             true,  false, true,  false],
  ['python_full_version < "3.12"',                                false, true,  false, true],
  ['python_version in "3.11 3.12"',                               true,  true,  false, false],
  ['python_version not in "3.11 3.12"',                           false, false, true,  true],
  ['sys_platform == "linux"',                                     true,  true,  false, false],
  ["sys_platform == 'win32'",                                     false, false, false, true],
  ['sys_platform != "darwin"',                                    true,  true,  false, true],
  ["'linux' in sys_platform",                                     true,  true,  false, false],
  ['os_name == "posix" and platform_machine == "x86_64"',         true,  false, false, false],
  ['platform_machine == "aarch64" or platform_machine == "arm64"', false, true, true,  false],
  ['platform_system == "Linux" and (platform_machine == "x86_64" or platform_machine == "AMD64")', true, false, false, false],
  ['platform_system == "Windows" and platform_machine == "AMD64"', false, false, false, true],
  ["os_name=='a' or os_name=='posix' and os_name=='c'",           false, false, false, false],
  ["os_name=='nt' or os_name=='posix' and sys_platform=='linux'", true,  true,  false, true],
  ["(os_name=='nt' or os_name=='posix') and sys_platform=='linux'", true, true, false, false],
  ["os_name=='posix' and os_name=='b' or os_name=='nt'",          false, false, false, true],
  ["os_name=='posix' and (os_name=='b' or sys_platform=='darwin')", false, false, true, false],
  ['platform_python_implementation == "CPython"',                 true,  true,  true,  true],
  ['implementation_name == "cpython"',                            true,  true,  true,  true],
  ['platform_python_implementation != "PyPy"',                    true,  true,  true,  true],
  ['implementation_version >= "3.12"',                            true,  false, true,  false],
  ["python_version >= '3.6' and python_version not in '3.0, 3.1, 3.2, 3.3, 3.4, 3.5'", true, true, true, true],
  ['platform_version == ""',                                      true,  true,  true,  true],
  ["sys.platform == 'linux'",                                     true,  true,  false, false],
  ["os.name == 'nt'",                                             false, false, false, true],
  ["python_implementation == 'CPython'",                          true,  true,  true,  true],
  ['python_version<"3.13"and sys_platform=="linux"',              true,  true,  false, false],
  // Not versions on the left: string comparison ('' < '20').
  ['platform_release >= "20"',                                    false, false, true,  false],
  ['extra == "socks"',                                            false, false, false, false],
];

test('evaluateMarker follows PEP 508 for a table of markers and environments', () => {
  for (const [marker, ...expected] of TABLE) {
    const actual = [LINUX, MUSL_ARM, MAC, WINDOWS].map((env) => evaluateMarker(marker, env));
    assert.deepEqual(actual, expected, marker);
  }
});

test('evaluateMarker compares extras after name normalization', () => {
  const env: MarkerEnvironment = { ...LINUX, extra: 'socks_proxy' };
  assert.equal(evaluateMarker('extra == "Socks.Proxy"', env), true);
  assert.equal(evaluateMarker("extra == 'socks-proxy' and python_version >= '3.8'", env), true);
  assert.equal(evaluateMarker('extra != "socks-proxy"', env), false);
  assert.equal(evaluateMarker('"socks-proxy" == extra', env), true);
  assert.equal(evaluateMarker('extra == "security"', env), false);
});

test('evaluateMarker compares pre-releases and string fallbacks as packaging does', () => {
  const rc: MarkerEnvironment = { ...LINUX, python_full_version: '3.12.0rc1' };
  assert.equal(evaluateMarker('python_full_version < "3.12"', rc), false);
  assert.equal(evaluateMarker('python_full_version >= "3.11"', rc), true);
  const kernel: MarkerEnvironment = { ...LINUX, platform_release: '5.15.0-1049-azure' };
  assert.equal(evaluateMarker('platform_release >= "5"', kernel), true);
  assert.equal(evaluateMarker('platform_release == "5.15.0-1049-azure"', kernel), true);
  assert.equal(evaluateMarker('"a" == "a"', LINUX), true);
  throwsInput(() => evaluateMarker('platform_release ~= "x"', kernel), /"~=" needs PEP 440 versions/);
});

test('parseMarker builds an AST with and binding tighter than or', () => {
  const ast = parseMarker("os_name=='a' or os_name=='b' and (os_name=='c')");
  assert.equal(ast.type, 'or');
  assert.ok(ast.type === 'or');
  assert.equal(ast.items.length, 2);
  assert.deepEqual(ast.items[0], { type: 'compare', left: { type: 'variable', name: 'os_name' }, op: '==', right: { type: 'string', value: 'a' } });
  assert.equal(ast.items[1]?.type, 'and');
  const reversed = parseMarker('"3.11" > python_version');
  assert.deepEqual(reversed, { type: 'compare', left: { type: 'string', value: '3.11' }, op: '>', right: { type: 'variable', name: 'python_version' } });
  assert.equal((parseMarker('sys_platform not in "win32 cygwin"') as { op: string }).op, 'not in');
});

test('parseMarker reports what is wrong and where', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /expected a marker variable or a quoted string at column 1, got the end/],
    ['python_version', /expected a comparison operator at column 15/],
    ['python_version < ', /expected a marker variable or a quoted string at column 18/],
    ['python_version < "3', /unterminated string starting at column 18/],
    ['python_version <> "3"', /expected a marker variable or a quoted string at column 17, got ">"/],
    ['python_version not "3"', /expected "in" after "not" at column 20/],
    ['(python_version < "3"', /expected "\)" at column 22, got the end/],
    ['python_version < "3")', /expected "and", "or" or the end at column 21/],
    ['python_version < "3" xor os_name == "nt"', /expected "and", "or" or the end at column 22, got "xor"/],
    ['unknown_var == "x"', /got "unknown_var"/],
    ['python_version < "3" && os_name', /unexpected "&"/],
  ];
  for (const [text, message] of bad) throwsInput(() => parseMarker(text), message);
  throwsInput(() => parseMarker('x', 'Pipfile.lock', 'default["a"]'), /^Pipfile\.lock: default\["a"\]: invalid marker "x"/);
});
