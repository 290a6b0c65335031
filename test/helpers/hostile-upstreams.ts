/**
 * Upstreams that lie: one per ecosystem, each serving a legitimate item (so a sync has something
 * real to mirror and serve) beside hostile metadata that names paths outside the mirror — every
 * spelling a decoder might undo: `../`, `%2F`, `%2e%2e`, double encoding, backslashes, absolute
 * paths, NUL, hidden files, digests with a tail. Every hostile name ends in `marker`, and every
 * file the server is asked for is answered with real bytes whose digest the metadata gives, so a
 * sync that did not refuse would verify the download and write it: the suite can fail.
 */
import { createHash } from 'node:crypto';
import { startFixtureServer, type FixtureServer } from './fixture-server.ts';
import { makeTarball } from './npm-fixtures.ts';
import { makeWheel, sha256hex } from './pypi-wheels.ts';
import { writeRepoDb } from '../../src/ecosystems/pacman/repo-db.ts';
import type { PkgDesc } from '../../src/ecosystems/pacman/types.ts';

export type Hostile = { server: FixtureServer; url: string; close(): Promise<void> };

const PAYLOAD = Buffer.from('written by a hostile upstream\n');
const sha512 = (b: Buffer) => `sha512-${createHash('sha512').update(b).digest('base64')}`;

/** Traversal spellings of `<marker><suffix>` as a URL's last segment (decoded once by a client). */
export function urlSpellings(marker: string, suffix: string): string[] {
  const name = `${marker}${suffix}`;
  return [
    `..%2F..%2F..%2F..%2F..%2F${name}`,
    `%2e%2e%2f%2e%2e%2f%2e%2e%2f${name}`,
    `%252e%252e%252f%252e%252e%252f${name}`,
    `..%5C..%5C..%5C${name}`,
    `%2Ftmp%2F${name}`,
    `.${name}`,
  ];
}

/** Traversal spellings as literal names in metadata (a JSON field, a database entry). */
export function literalSpellings(marker: string, suffix: string): string[] {
  const name = `${marker}${suffix}`;
  return [
    `../../../../../${name}`,
    `..\\..\\..\\${name}`,
    `/tmp/${name}`,
    `..%2F..%2F${name}`,
    `sub/../../../${name}`,
    `${name}\0.x`,
  ];
}

// --- npm -----------------------------------------------------------------------------------

/** Packages `evil-0…` whose tarball URLs traverse, and `good` with a real tarball. */
export async function hostileNpm(marker: string): Promise<Hostile & { evil: string[] }> {
  const good = await makeTarball({ name: 'good', version: '1.0.0' }, { 'index.js': 'module.exports = 1;\n' });
  const spellings = urlSpellings(marker, '.tgz');
  let base = '';
  const packument = (name: string, tarball: string, bytes: Buffer) => ({
    name, 'dist-tags': { latest: '1.0.0' },
    versions: { '1.0.0': { name, version: '1.0.0', dist: { tarball, integrity: sha512(bytes) } }, '../../../0.0.1': { name, version: '0.0.1', dist: { tarball, integrity: sha512(bytes) } } },
  });
  const server = await startFixtureServer((req, res) => {
    const path = req.url ?? '/';
    const evil = /^\/evil-(\d+)$/.exec(path);
    if (path === '/good') return json(res, packument('good', `${base}/good/-/good-1.0.0.tgz`, good));
    if (evil) return json(res, packument(`evil-${evil[1]}`, `${base}/evil-${evil[1]}/-/${spellings[Number(evil[1])]}`, PAYLOAD));
    if (path === '/good/-/good-1.0.0.tgz') return void res.end(good);
    if (path.includes('/-/')) return void res.end(PAYLOAD);
    void res.writeHead(404).end('{}');
  });
  base = `http://127.0.0.1:${server.port}`;
  return { server, url: `${base}/`, evil: spellings.map((_, i) => `evil-${i}`), close: () => server.close() };
}

/** A package-lock v3 whose entries name packages that are paths. */
export function hostileLockfile(marker: string): string {
  const packages: Record<string, unknown> = { '': { name: 'victim-project', version: '1.0.0' } };
  literalSpellings(marker, '').forEach((name, i) => {
    packages[`node_modules/victim-${i}`] = { name, version: '1.0.0', integrity: sha512(PAYLOAD) };
  });
  return JSON.stringify({ name: 'victim-project', lockfileVersion: 3, requires: true, packages }, null, 2);
}

// --- PyPI ----------------------------------------------------------------------------------

/** Projects `evil-N` whose pages list files with traversing names, and `good` with a real wheel. */
export async function hostilePypi(marker: string): Promise<Hostile & { evil: string[] }> {
  const wheel = await makeWheel({ name: 'good', version: '1.0.0' });
  const literal = literalSpellings(marker, '-1.0-py3-none-any.whl');
  const encoded = urlSpellings(marker, '-1.0-py3-none-any.whl');
  const evil = [...literal.map((_, i) => `evil-${i}`), ...encoded.map((_, i) => `evil-html-${i}`)];
  const server = await startFixtureServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const page = /^\/simple\/([a-z0-9-]+)\/$/.exec(path)?.[1];
    if (page === 'good') {
      return pypiJson(res, page, [{ filename: wheel.filename, url: `/dl/${wheel.filename}`, hashes: { sha256: sha256hex(wheel.bytes) }, 'core-metadata': { sha256: sha256hex(wheel.metadata) } }]);
    }
    const literalIndex = /^evil-(\d+)$/.exec(page ?? '')?.[1];
    if (literalIndex !== undefined) {
      return pypiJson(res, page!, [{ filename: literal[Number(literalIndex)]!, url: '/dl/payload.whl', hashes: { sha256: sha256hex(PAYLOAD) } }]);
    }
    const htmlIndex = /^evil-html-(\d+)$/.exec(page ?? '')?.[1];
    if (htmlIndex !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end(`<html><body><a href="/dl/${encoded[Number(htmlIndex)]}#sha256=${sha256hex(PAYLOAD)}">x</a></body></html>`);
    }
    if (path === `/dl/${wheel.filename}`) return void res.end(wheel.bytes);
    if (path === `/dl/${wheel.filename}.metadata`) return void res.end(wheel.metadata);
    if (path.startsWith('/dl/')) return void res.end(PAYLOAD);
    void res.writeHead(404).end();
  });
  const url = `http://127.0.0.1:${server.port}/simple/`;
  return { server, url, evil, close: () => server.close() };
}

function pypiJson(res: import('node:http').ServerResponse, name: string, files: object[]): void {
  res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' });
  res.end(JSON.stringify({ meta: { 'api-version': '1.1' }, name, files }));
}

/** A poetry.lock pinning packages whose names are paths. */
export function hostilePoetryLock(marker: string): string {
  return literalSpellings(marker, '').filter((n) => !n.includes('\0')).map((name) => [
    '[[package]]', `name = ${JSON.stringify(name)}`, 'version = "1.0"', 'description = ""', 'optional = false', 'python-versions = "*"',
    `files = [{file = "x-1.0-py3-none-any.whl", hash = "sha256:${sha256hex(PAYLOAD)}"}]`, '',
  ].join('\n')).join('\n') + '\n[metadata]\nlock-version = "2.0"\npython-versions = "*"\ncontent-hash = "0"\n';
}

// --- pacman --------------------------------------------------------------------------------

/**
 * A `core` database whose packages `evil-N` name traversing files, entries and digests, and
 * `good`, a plain package. Any file asked for under the repo is answered with the payload, whose
 * sha256 the database gives.
 */
export async function hostilePacman(marker: string): Promise<Hostile & { evil: string[] }> {
  const payloadSha = sha256hex(PAYLOAD);
  const cases: Array<{ filename: string; entry?: string; sha256?: string }> = [
    ...literalSpellings(marker, '-1-1-any.pkg.tar.zst').map((filename) => ({ filename })),
    { filename: `${marker}-1-1-any.pkg.tar.zst`, entry: '..' },
    { filename: `${marker}-1-1-any.pkg.tar.zst`, sha256: `${payloadSha}/../../${marker}` },
    { filename: `${marker}-1-1-any.pkg.tar.zst`, sha256: payloadSha.toUpperCase().slice(0, 63) },
  ];
  const packages: PkgDesc[] = [desc('good', 'good-1-1-any.pkg.tar.zst', 'good-1-1', payloadSha)];
  cases.forEach((c, i) => packages.push(desc(`evil-${i}`, c.filename, c.entry ?? `evil-${i}-1-1`, c.sha256 ?? payloadSha)));
  const db = writeRepoDb(packages);
  const server = await startFixtureServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/core/os/x86_64/core.db') return void res.end(db);
    if (path.startsWith('/core/os/x86_64/') && !path.endsWith('.sig')) return void res.end(PAYLOAD);
    void res.writeHead(404).end();
  });
  return { server, url: `http://127.0.0.1:${server.port}/$repo/os/$arch`, evil: cases.map((_, i) => `evil-${i}`), close: () => server.close() };
}

function desc(name: string, filename: string, entry: string, sha256: string): PkgDesc {
  const text = [`%FILENAME%\n${filename}`, `%NAME%\n${name}`, '%VERSION%\n1-1', '%ARCH%\nany', `%CSIZE%\n${PAYLOAD.length}`, `%SHA256SUM%\n${sha256}`].join('\n\n');
  return { repo: 'core', filename, name, version: '1-1', arch: 'any', depends: [], provides: [], groups: [], entry, files: { desc: Buffer.from(`${text}\n\n`) } };
}

// --- OCI -----------------------------------------------------------------------------------

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const digestOf = (b: Buffer) => `sha256:${sha256hex(b)}`;

/**
 * A registry (`fixture.test` in the config) with `good/app:1`, a real one-layer image, and
 * `evil/e<N>:1`, manifests whose descriptors name digests with a tail, another algorithm, upper
 * case, or whose media type is not what the body is. Any blob asked for is answered.
 */
export async function hostileRegistry(marker: string): Promise<Hostile & { evil: string[] }> {
  const layer = Buffer.from('layer bytes: not a real tar, but content-addressed all the same\n');
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }));
  const image = (cfg: string, layers: string[], mediaType: string = OCI_MANIFEST) => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg, size: config.length },
    layers: layers.map((digest) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: layer.length })),
  }));
  const hex = sha256hex(layer);
  const manifests: Record<string, { bytes: Buffer; type: string }> = {
    'good/app': { bytes: image(digestOf(config), [digestOf(layer)]), type: OCI_MANIFEST },
    'evil/e0': { bytes: image(`sha256:${hex}/../../${marker}`, [digestOf(layer)]), type: OCI_MANIFEST },
    'evil/e1': { bytes: image(digestOf(config), [`sha256:../../../../${marker}`]), type: OCI_MANIFEST },
    'evil/e2': { bytes: image(digestOf(config), [`sha256:${hex}%2F..%2F..%2F${marker}`]), type: OCI_MANIFEST },
    'evil/e3': { bytes: image(digestOf(config), [`sha512:${hex}${hex}`]), type: OCI_MANIFEST },
    'evil/e4': { bytes: image(digestOf(config), [`sha256:${hex.toUpperCase()}`]), type: OCI_MANIFEST },
    'evil/e5': {
      bytes: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: `sha256:${hex}\\..\\${marker}`, size: 1, platform: { os: 'linux', architecture: 'amd64' } }] })),
      type: OCI_INDEX,
    },
    'evil/e6': { bytes: image(digestOf(config), [digestOf(layer)], 'text/html'), type: 'text/html' },
  };
  const server = await startFixtureServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/v2/') return void res.end('{}');
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    const found = m ? manifests[m[1]!] : undefined;
    if (found) {
      res.writeHead(200, { 'content-type': found.type, 'docker-content-digest': digestOf(found.bytes) });
      return void res.end(found.bytes);
    }
    if (/\/blobs\//.test(path)) return void res.end(path.endsWith(digestOf(config)) ? config : path.endsWith(digestOf(layer)) ? layer : PAYLOAD);
    void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
  });
  const evil = Object.keys(manifests).filter((k) => k.startsWith('evil/'));
  return { server, url: `http://127.0.0.1:${server.port}`, evil, close: () => server.close() };
}

function json(res: import('node:http').ServerResponse, doc: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(doc));
}
