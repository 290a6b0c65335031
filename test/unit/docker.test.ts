import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenge } from '../../src/ecosystems/docker/upstream.ts';
import { parseManifest, parsePlatform, platformMatches } from '../../src/ecosystems/docker/media.ts';
import { formatReference, parseReference, registryUrl } from '../../src/ecosystems/docker/reference.ts';

const digest = `sha256:${'ab'.repeat(32)}`;

test('references resolve as docker resolves them', () => {
  assert.deepEqual(parseReference('archlinux:latest'), { registry: 'docker.io', repository: 'library/archlinux', tag: 'latest' });
  assert.deepEqual(parseReference('node'), { registry: 'docker.io', repository: 'library/node', tag: 'latest' });
  assert.deepEqual(parseReference('node:22-alpine'), { registry: 'docker.io', repository: 'library/node', tag: '22-alpine' });
  assert.deepEqual(parseReference('moby/buildkit:v0.13'), { registry: 'docker.io', repository: 'moby/buildkit', tag: 'v0.13' });
  assert.deepEqual(parseReference(`ghcr.io/org/app@${digest}`), { registry: 'ghcr.io', repository: 'org/app', digest });
  assert.deepEqual(parseReference(`ghcr.io/org/app:1@${digest}`), { registry: 'ghcr.io', repository: 'org/app', tag: '1', digest });
  assert.deepEqual(parseReference('localhost:5000/x/y:2'), { registry: 'localhost:5000', repository: 'x/y', tag: '2' });
  assert.deepEqual(parseReference('127.0.0.1:5000/fixtures/multi'), { registry: '127.0.0.1:5000', repository: 'fixtures/multi', tag: 'latest' });
  assert.deepEqual(parseReference('index.docker.io/library/node:22').registry, 'docker.io');
  assert.equal(formatReference(parseReference('node:22')), 'docker.io/library/node:22');
});

test('bad references name the config entry', () => {
  assert.throws(() => parseReference('Node:22', 'docker.images[3]'), /docker\.images\[3\]: "Node:22": the repository name must be lowercase/);
  assert.throws(() => parseReference('node@sha256:xyz'), /the digest must be sha256:/);
  assert.throws(() => parseReference('node:bad tag'), /is not a valid tag/);
});

test('upstreams come from docker.registries, else Docker Hub\'s API host or https', () => {
  assert.equal(registryUrl('docker.io', {}), 'https://registry-1.docker.io');
  assert.equal(registryUrl('docker.io', { 'docker.io': 'http://127.0.0.1:5001/' }), 'http://127.0.0.1:5001');
  assert.equal(registryUrl('ghcr.io', {}), 'https://ghcr.io');
});

test('platforms match on os and architecture, and on a variant when one is asked for', () => {
  assert.ok(platformMatches({ os: 'linux', architecture: 'amd64' }, parsePlatform('linux/amd64')));
  assert.ok(!platformMatches({ os: 'linux', architecture: 'arm64' }, parsePlatform('linux/amd64')));
  assert.ok(platformMatches({ os: 'linux', architecture: 'arm', variant: 'v7' }, parsePlatform('linux/arm/v7')));
  assert.ok(!platformMatches({ os: 'linux', architecture: 'arm', variant: 'v6' }, parsePlatform('linux/arm/v7')));
  assert.ok(platformMatches({ os: 'linux', architecture: 'arm64' }, parsePlatform('linux/arm64/v8')));
  assert.ok(!platformMatches({ os: 'unknown', architecture: 'unknown' }, parsePlatform('linux/amd64')), 'attestation manifests are skipped');
});

test('manifests are told apart by media type or shape', () => {
  const index = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ digest }] })));
  assert.equal(index.kind, 'index');
  const image = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest }, layers: [] })), 'application/vnd.docker.distribution.manifest.v2+json');
  assert.deepEqual([image.kind, image.mediaType], ['image', 'application/vnd.docker.distribution.manifest.v2+json']);
});

test('bearer challenges are read as Docker Hub and ghcr.io send them', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:library/node:pull"'), {
    realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:library/node:pull',
  });
});
