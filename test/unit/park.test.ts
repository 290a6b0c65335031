import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { deriveImage, familiarName, imageHasPath, type MirroredImage } from '../../src/ecosystems/docker/daemon-image.ts';
import { parseReference } from '../../src/ecosystems/docker/reference.ts';
import { originalName } from '../../src/park/base-images.ts';
import { composeOverride, splitComposeArgs } from '../../src/park/compose-file.ts';
import { buildTarget } from '../../src/park/build.ts';
import { makeLayer, type Layer } from '../helpers/oci-images.ts';

test('daemon names are the ones docker prints; originals are kept under a name docker accepts', () => {
  assert.equal(familiarName(parseReference('node:22')), 'node:22');
  assert.equal(familiarName(parseReference('archlinux')), 'archlinux:latest');
  assert.equal(familiarName(parseReference('moby/buildkit:v0.13')), 'moby/buildkit:v0.13');
  assert.equal(familiarName(parseReference('ghcr.io/org/app:1')), 'ghcr.io/org/app:1');
  assert.equal(originalName('node:22'), 'offline-original/node:22');
  assert.equal(originalName('localhost:5000/x/y:2'), 'offline-original/localhost_5000/x/y:2');
});

test('docker build arguments: the context, its Dockerfile, build args and a --network of the user', () => {
  assert.deepEqual(buildTarget(['-t', 'api:dev', './api'], '/src'), { context: '/src/api', dockerfile: '/src/api/Dockerfile', buildArgs: {} });
  assert.deepEqual(buildTarget(['--file=ops/Dockerfile.prod', '--build-arg', 'V=3', '--no-cache', '.'], '/src'), {
    context: '/src', dockerfile: '/src/ops/Dockerfile.prod', buildArgs: { V: '3' },
  });
  assert.equal(buildTarget(['--network', 'host', '.'], '/src').network, 'host');
  assert.equal(buildTarget(['-'], '/src').context, undefined, 'a Dockerfile on stdin has no context to check');
  assert.equal(buildTarget(['https://github.com/org/repo.git'], '/src').dockerfile, undefined);
});

test('compose files are found as compose finds them: -f, COMPOSE_FILE, or the default file and its override, walking up', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'offline-compose-'));
  try {
    await mkdir(join(dir, 'svc', 'deep'), { recursive: true });
    await writeFile(join(dir, 'compose.yaml'), 'services: {}\n');
    await writeFile(join(dir, 'compose.override.yml'), 'services: {}\n');
    const found = await splitComposeArgs(['-p', 'shop', 'up', '--build', '-d'], join(dir, 'svc', 'deep'), {});
    assert.deepEqual(found, { files: [join(dir, 'compose.yaml'), join(dir, 'compose.override.yml')], globals: ['-p', 'shop'], rest: ['up', '--build', '-d'] });
    const named = await splitComposeArgs(['-f', 'a.yaml', '--file=b.yaml', '--profile', 'dev', 'run', '--rm', 'x', '-f'], dir, {});
    assert.deepEqual(named, { files: [join(dir, 'a.yaml'), join(dir, 'b.yaml')], globals: ['--profile', 'dev'], rest: ['run', '--rm', 'x', '-f'] });
    const env = await splitComposeArgs(['ps'], dir, { COMPOSE_FILE: 'x.yaml:y.yaml' });
    assert.deepEqual(env.files, [join(dir, 'x.yaml'), join(dir, 'y.yaml')]);
    await assert.rejects(splitComposeArgs(['-f', '-', 'up'], dir, {}), /standard input cannot be given an override/);
    await assert.rejects(splitComposeArgs(['-p', 'x'], dir, {}), /name a compose command after --/);
    await assert.rejects(splitComposeArgs(['up'], tmpdir(), {}), /has no compose\.yaml/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the compose override puts every service and build on the isolated network only', () => {
  const text = composeOverride({
    services: {
      web: { build: { context: '/src/web' }, networks: { front: {} } },
      host: { image: 'x', network_mode: 'host' },
      sidecar: { image: 'y', network_mode: 'service:web' },
      quiet: { image: 'z', network_mode: 'none' },
      'odd: name': { image: 'w' },
    },
  }, 'no-internet');
  const customTags = [
    { tag: '!override', resolve: (v: unknown) => ({ override: (v as { toJSON(): unknown }).toJSON() }), collection: 'map' as const },
    { tag: '!reset', resolve: () => 'RESET' },
  ];
  const doc = parse(text, { customTags }) as { services: Record<string, Record<string, unknown>>; networks: Record<string, unknown> };
  assert.deepEqual(doc.services.web, { networks: { override: { 'offline-isolated': {} } }, build: { network: 'no-internet' } });
  assert.deepEqual(doc.services.host, { network_mode: 'RESET', networks: { override: { 'offline-isolated': {} } } });
  assert.deepEqual(doc.services.sidecar, {}, 'a service sharing another one\'s network is isolated with it');
  assert.deepEqual(doc.services.quiet, {});
  assert.ok(doc.services['odd: name']);
  assert.deepEqual(doc.networks, { 'offline-isolated': { name: 'no-internet', external: true } });
});

async function store(layers: Layer[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'offline-store-'));
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const l of layers) await writeFile(join(dir, 'blobs', 'sha256', l.digest.slice(7)), l.bytes);
  return dir;
}

test('a path is in an image when the last layer that names it says so: whiteouts and opaque directories remove it', async () => {
  const conf = await makeLayer({ 'etc/pacman.conf': '[options]\n', 'etc/hostname': 'x\n' });
  const whiteout = await makeLayer({ 'etc/.wh.pacman.conf': '' });
  const opaque = await makeLayer({ 'etc/.wh..wh..opq': '', 'etc/other': 'y\n' });
  const back = await makeLayer({ 'etc/pacman.conf': '[options]\n' });
  const dir = await store([conf, whiteout, opaque, back]);
  try {
    assert.equal(await imageHasPath(dir, [conf.digest], 'etc/pacman.conf'), true);
    assert.equal(await imageHasPath(dir, [conf.digest, whiteout.digest], 'etc/pacman.conf'), false);
    assert.equal(await imageHasPath(dir, [conf.digest, opaque.digest], 'etc/pacman.conf'), false);
    assert.equal(await imageHasPath(dir, [conf.digest, whiteout.digest, back.digest], 'etc/pacman.conf'), true);
    assert.equal(await imageHasPath(dir, [conf.digest], 'etc/pacman.d/mirrorlist'), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the derived image: settings merged into the config (ours win), files only where wanted, labels, and the same ID every time', async () => {
  const arch = await makeLayer({ 'etc/pacman.conf': '[options]\n' });
  const debian = await makeLayer({ 'etc/debian_version': '12\n' });
  const dir = await store([arch, debian]);
  try {
    const image = (layer: Layer): MirroredImage => ({
      name: 'x:1', ref: parseReference('x:1'), manifest: `sha256:${'c'.repeat(64)}`, layers: [layer.digest],
      config: Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin', 'PIP_INDEX_URL=https://pypi.org/simple/'] }, rootfs: { type: 'layers', diff_ids: [layer.diffId] } })),
    });
    const additions = {
      env: { PIP_INDEX_URL: 'http://10.1.1.254:3141/simple/', npm_config_registry: 'http://10.1.1.254:4873/' },
      files: [{ path: 'etc/pacman.d/mirrorlist', content: 'Server = http://10.1.1.254:9129/$repo/os/$arch\n', when: 'etc/pacman.conf' }],
    };
    const derived = await deriveImage(dir, image(arch), additions);
    const config = JSON.parse(derived.derivedConfig.toString());
    assert.deepEqual(config.config.Env, ['PATH=/bin', 'PIP_INDEX_URL=http://10.1.1.254:3141/simple/', 'npm_config_registry=http://10.1.1.254:4873/']);
    assert.equal(config.config.Labels['dev.offline.base'], 'x:1');
    assert.equal(config.rootfs.diff_ids.length, 2, 'one layer more: the mirrorlist');
    assert.match(derived.extraLayer!.toString('latin1'), /^etc\/pacman\.d\/mirrorlist\0/);
    assert.equal((await deriveImage(dir, image(arch), additions)).configDigest, derived.configDigest, 'deterministic');
    const plain = await deriveImage(dir, image(debian), additions);
    assert.equal(plain.extraLayer, undefined, 'no pacman, no mirrorlist');
    assert.equal(JSON.parse(plain.derivedConfig.toString()).rootfs.diff_ids.length, 1);
    assert.notEqual(plain.settings, derived.settings);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
