import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseConfig, withAllMirrors } from '../../src/ecosystems/config.ts';
import { imageSettings } from '../../src/core/env.ts';
import { mirrorPorts, servedMirrors } from '../../src/ecosystems/index.ts';
import { ConfigError } from '../../src/foundation/errors.ts';

test('defaults follow the brief and relative paths resolve against the config file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  await writeFile(join(dir, 'package-lock.json'), '{}');
  const config = await parseConfig('npm:\n  lockfiles: [package-lock.json]\n', join(dir, 'offline.yaml'), {});
  assert.equal(config.data, join(dir, 'mirrors'));
  assert.equal(config.listen, '10.1.1.254');
  assert.equal(config.npm.port, 4873);
  assert.deepEqual(config.npm.lockfiles, [join(dir, 'package-lock.json')]);
  assert.equal(config.network.bridge, 'br-offline');
  assert.equal(config.pypi.port, 3141);
});

test('every problem is reported at once, each with its path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  const yaml = [
    'npm:',
    '  port: 99999',
    '  upstream: ftp://example',
    '  lockfiles: [missing.json]',
    'network:',
    '  address: not-an-ip',
    'bogus: 1',
  ].join('\n');
  const err = await parseConfig(yaml, join(dir, 'offline.yaml'), {}).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  const paths = err.issues.map((i) => i.path).sort();
  assert.deepEqual(paths, ['', 'network.address', 'npm.lockfiles[0]', 'npm.port', 'npm.upstream'], 'the missing file too, beside the type errors');
  assert.match(err.message, /offline\.yaml: invalid configuration/);
  assert.match(err.message, /bogus/);
});

test('a missing lockfile is reported with its index', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  await writeFile(join(dir, 'a.json'), '{}');
  const err = await parseConfig('npm: { lockfiles: [a.json, b/missing.json] }', join(dir, 'offline.yaml'), {}).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.equal(err.issues.length, 1);
  assert.equal(err.issues[0]!.path, 'npm.lockfiles[1]');
  assert.match(err.issues[0]!.message, /file not found: .*b\/missing\.json/);
});

test('environment overrides win over the file and are validated', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'offline.yaml');
  const config = await parseConfig('listen: 10.0.0.1\n', file, { OFFLINE_LISTEN: '127.0.0.1', OFFLINE_NPM_PORT: '5873', OFFLINE_DATA: '/srv/m' });
  assert.equal(config.listen, '127.0.0.1');
  assert.equal(config.npm.port, 5873);
  assert.equal(config.data, '/srv/m');
  const err = await parseConfig('', file, { OFFLINE_NPM_PORT: 'abc' }).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.equal(err.issues[0]!.path, 'OFFLINE_NPM_PORT');
});

test('YAML syntax errors and a missing file are config errors, not crashes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  await assert.rejects(parseConfig('npm: [unclosed', join(dir, 'offline.yaml'), {}), ConfigError);
  await assert.rejects(parseConfig('- a list', join(dir, 'offline.yaml'), {}), /must be a YAML mapping/);
  await assert.rejects(loadConfig(join(dir, 'nope.yaml'), {}), /file not found/);
});

test('data directories that are not storage are refused in one line each', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  await writeFile(join(dir, 'a-file'), 'x');
  const cases: Array<[string, RegExp]> = [
    ['data: /', /must not be \//],
    ['data: /proc/offline', /on \/proc, a kernel interface/],
    ['data: /sys/fs/offline', /on \/sys/],
    ['data: /dev/offline', /on \/dev/],
    ['data: a-file', /is a file, not a directory/],
    ['data: a-file/below', /cannot be created: .*a-file is a file/],
    ['data: "a\\0b"', /NUL/],
  ];
  for (const [yaml, expected] of cases) {
    const err = await parseConfig(yaml, join(dir, 'offline.yaml'), {}).catch((e: unknown) => e);
    assert.ok(err instanceof ConfigError, yaml);
    assert.equal(err.issues.length, 1, `${yaml}: ${err.message}`);
    assert.equal(err.issues[0]!.path, 'data', yaml);
    assert.match(err.issues[0]!.message, expected, yaml);
    assert.doesNotMatch(err.issues[0]!.message, /\n/, 'one line');
  }
  const ok = await parseConfig('data: not-yet/created\n', join(dir, 'offline.yaml'), {});
  assert.equal(ok.data, join(dir, 'not-yet', 'created'));
});

test('a YAML alias bomb is a config error, not a hang or an internal error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++) levels.push(`l${i}: &l${i} [${Array(10).fill(i === 1 ? '*a' : `*l${i - 1}`).join(', ')}]`);
  const err = await parseConfig(levels.join('\n'), join(dir, 'offline.yaml'), {}).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.match(err.message, /alias/i);
});

test('addresses, subnets and sizes are checked for range, not only shape', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  const err = await parseConfig('network: { address: 999.999.1.1, subnet: 10.1.1.0/40 }\nlimits: { document: lots }\npacman: { repos: [../core] }\n', join(dir, 'offline.yaml'), {}).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(err.issues.map((i) => i.path).sort(), ['limits.document', 'network.address', 'network.subnet', 'pacman.repos[0]']);
  const ok = await parseConfig('limits: { document: 1GiB, unpacked: 300MB }\n', join(dir, 'offline.yaml'), {});
  assert.equal(ok.limits.document, 1024 ** 3);
  assert.equal(ok.limits.unpacked, 300_000_000);
});

test('the mirrors acted on are the sections the file has (an environment override adds one); --all is every mirror', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'offline.yaml');
  const npmOnly = await parseConfig('npm: { port: 4873 }\n', file, {});
  assert.deepEqual(npmOnly.mirrors, ['npm']);
  assert.deepEqual(servedMirrors(npmOnly).map((m) => m.name), ['npm']);
  // npm answers registry hosts and codeload over https on the isolated network: 443 beside 4873, nothing else.
  assert.deepEqual(mirrorPorts(npmOnly), [4873, 443]);
  const settings = imageSettings(npmOnly, '10.1.1.254');
  assert.equal(settings.env.npm_config_registry, 'http://10.1.1.254:4873/');
  assert.equal(settings.env.PIP_INDEX_URL, undefined, 'no base image is pointed at a mirror that is not served');
  assert.ok(!settings.files.some((f) => f.path.includes('pacman')));

  assert.deepEqual((await parseConfig('data: ./m\n', file, {})).mirrors, []);
  assert.deepEqual((await parseConfig('pacman: {}\n', file, { OFFLINE_PYPI_PORT: '3142' })).mirrors, ['pypi', 'pacman']);
  assert.deepEqual(withAllMirrors(npmOnly).mirrors, ['npm', 'pypi', 'pacman', 'docker']);
  assert.deepEqual(mirrorPorts(withAllMirrors(npmOnly)), [4873, 3141, 9129, 5000, 443]);
});

test('the controller listens on 127.0.0.1:7070 by default, never on the mirror address or every address', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'offline.yaml');
  assert.deepEqual((await parseConfig('npm: {}\n', file, {})).controller, { listen: '127.0.0.1', port: 7070 });
  const moved = await parseConfig('controller: { listen: 192.168.1.20, port: 8080 }\n', file, {});
  assert.deepEqual(moved.controller, { listen: '192.168.1.20', port: 8080 });
  const env = await parseConfig('', file, { OFFLINE_CONTROLLER_LISTEN: '::1', OFFLINE_CONTROLLER_PORT: '7171' });
  assert.deepEqual(env.controller, { listen: '::1', port: 7171 });
  const refused = async (yaml: string, envs: NodeJS.ProcessEnv = {}) => {
    const err = await parseConfig(yaml, file, envs).catch((e: unknown) => e);
    assert.ok(err instanceof ConfigError, yaml);
    return err.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
  };
  assert.match(await refused('controller: { listen: 10.1.1.254 }\n'), /^controller\.listen: must not be the mirror address \(10\.1\.1\.254\)/);
  assert.match(await refused('network: { address: 10.9.9.9, subnet: 10.9.9.0/24 }\n', { OFFLINE_CONTROLLER_LISTEN: '10.9.9.9' }), /^controller\.listen: must not be the mirror address/);
  assert.match(await refused('controller: { listen: 0.0.0.0 }\n'), /^controller\.listen: must be one address, not every address/);
  assert.match(await refused('controller: { listen: example.org, port: 0 }\n'), /controller\.listen: must be an IP address[\s\S]*controller\.port/);
  assert.match(await refused('', { OFFLINE_CONTROLLER_PORT: 'x' }), /OFFLINE_CONTROLLER_PORT: must be an integer/);
});

test('two configured mirrors, or a mirror and the controller, on one port are refused naming both keys', async () => {
  const file = join(await mkdtemp(join(tmpdir(), 'cfg-')), 'offline.yaml');
  const issues = async (yaml: string, env: NodeJS.ProcessEnv = {}) => {
    const err = await parseConfig(yaml, file, env).catch((e: unknown) => e);
    assert.ok(err instanceof ConfigError, yaml);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  };
  assert.deepEqual(await issues('npm: { port: 5000 }\ndocker: {}\n'), ['docker.port: 5000 is also npm.port: each mirror and the controller need a port of their own']);
  assert.deepEqual(await issues('pypi: { port: 7070 }\n'), ['controller.port: 7070 is also pypi.port: each mirror and the controller need a port of their own']);
  assert.deepEqual(await issues('npm: {}\n', { OFFLINE_PYPI_PORT: '4873' }), ['pypi.port: 4873 is also npm.port: each mirror and the controller need a port of their own']);
  // A section the file does not have serves nothing: its default port is free for another.
  assert.equal((await parseConfig('npm: { port: 5000 }\n', file, {})).npm.port, 5000);
});
