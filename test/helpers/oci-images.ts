/**
 * OCI and Docker images made in code, byte for byte the same on every run: layers are ustar
 * archives with fixed mtimes and root ownership, gzipped by Node's zlib; manifests are indented
 * JSON (as Docker writes them), so a mirror that re-serialises a manifest changes its digest.
 * No image is ever pulled; the only borrowed bytes are the host's static busybox.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** 2020-01-01T00:00:00Z: every tar entry's mtime and every config's `created`. */
const EPOCH = 1_577_836_800;
const CREATED = new Date(EPOCH * 1000).toISOString().replace('.000Z', 'Z');
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type Format = 'oci' | 'docker';
export type Platform = { os: 'linux'; architecture: string; variant?: string };
export type Descriptor = { mediaType: string; digest: string; size: number };
/** A file's content (mode 0644), content with a mode, or a symbolic link. */
export type LayerFile = string | Buffer | { mode: number; data: Buffer } | { symlink: string };
export type Layer = { bytes: Buffer /* tar.gz */; digest: string /* of the gzip */; diffId: string /* of the tar */; size: number };
export type Image = {
  format: Format;
  platform: Platform;
  layers: Layer[];
  config: Buffer;
  configDigest: string;
  configMediaType: string;
  manifest: Buffer;
  manifestDigest: string;
  mediaType: typeof OCI_MANIFEST | typeof DOCKER_MANIFEST;
};
export type Index = { format: Format; images: Image[]; manifest: Buffer; manifestDigest: string; mediaType: typeof OCI_INDEX | typeof DOCKER_LIST };
export type ImageOptions = { os?: 'linux'; architecture: string; variant?: string; layers: Layer[]; cmd?: string[]; format?: Format };

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** One 512-byte ustar header; names must fit its 100 bytes (ours are short). */
function tarHeader(name: string, type: '0' | '2' | '5', mode: number, size: number, link = ''): Buffer {
  if (Buffer.byteLength(name) > 100 || Buffer.byteLength(link) > 100) throw new Error(`tar name too long: ${name}`);
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s, off, len, 'utf8');
  const octal = (n: number, off: number, len: number) => put(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len);
  put(name, 0, 100);
  octal(mode, 100, 8);
  octal(0, 108, 8); // uid
  octal(0, 116, 8); // gid
  octal(size, 124, 12);
  octal(EPOCH, 136, 12);
  put(' '.repeat(8), 148, 8); // the checksum counts its own field as spaces
  put(type, 156, 1);
  put(link, 157, 100);
  put('ustar\0' + '00', 257, 8);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** A gzipped layer of `files` (paths relative to `/`), parents added as 0755 directories, sorted. */
export async function makeLayer(files: Record<string, LayerFile>): Promise<Layer> {
  const entries = new Map<string, LayerFile | 'dir'>();
  for (const [path, file] of Object.entries(files)) {
    const parts = path.replace(/^\/+/, '').split('/');
    for (let i = 1; i < parts.length; i++) entries.set(`${parts.slice(0, i).join('/')}/`, 'dir');
    entries.set(parts.join('/'), file);
  }
  const blocks: Buffer[] = [];
  for (const name of [...entries.keys()].sort()) {
    const file = entries.get(name)!;
    if (file === 'dir') blocks.push(tarHeader(name, '5', 0o755, 0));
    else if (typeof file === 'object' && 'symlink' in file) blocks.push(tarHeader(name, '2', 0o777, 0, file.symlink));
    else {
      const { mode, data } = typeof file === 'string' || Buffer.isBuffer(file) ? { mode: 0o644, data: Buffer.from(file) } : file;
      blocks.push(tarHeader(name, '0', mode, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  const tar = Buffer.concat([...blocks, Buffer.alloc(1024)]);
  const bytes = gzipSync(tar); // zlib writes mtime 0 and no name: equal tars give equal gzips
  return { bytes, digest: sha256(bytes), diffId: sha256(tar), size: bytes.length };
}

/** `n` bytes that do not compress, the same on every run (AES-256-CTR over zeros, fixed key). */
export function noise(n: number, seed = 'offline-fixture'): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

function json(doc: unknown, indent?: number): Buffer {
  return Buffer.from(JSON.stringify(doc, null, indent));
}

/** An image manifest and config; `format` (default `oci`) picks OCI or Docker v2 schema 2 types. */
export function makeImage(opts: ImageOptions): Image {
  const format = opts.format ?? 'oci';
  const platform: Platform = { os: opts.os ?? 'linux', architecture: opts.architecture, ...(opts.variant ? { variant: opts.variant } : {}) };
  const config = json({
    created: CREATED,
    ...platform,
    config: { Env: [PATH_ENV], ...(opts.cmd ? { Cmd: opts.cmd } : {}) },
    rootfs: { type: 'layers', diff_ids: opts.layers.map((l) => l.diffId) },
    history: opts.layers.map(() => ({ created: CREATED, created_by: 'offline test fixtures' })),
  });
  const configMediaType = format === 'oci' ? OCI_CONFIG : DOCKER_CONFIG;
  const layerType = format === 'oci' ? OCI_LAYER : DOCKER_LAYER;
  const mediaType = format === 'oci' ? OCI_MANIFEST : DOCKER_MANIFEST;
  const manifest = json(
    {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: configMediaType, digest: sha256(config), size: config.length },
      layers: opts.layers.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.size })),
    },
    3,
  );
  return { format, platform, layers: opts.layers, config, configDigest: sha256(config), configMediaType, manifest, manifestDigest: sha256(manifest), mediaType };
}

/** An OCI image index or a Docker manifest list over `images`, each entry with its `platform`. */
export function makeIndex(images: Image[], format: Format = 'oci'): Index {
  const mediaType = format === 'oci' ? OCI_INDEX : DOCKER_LIST;
  const manifests = images.map((i) => ({ mediaType: i.mediaType, digest: i.manifestDigest, size: i.manifest.length, platform: i.platform }));
  const manifest = json({ schemaVersion: 2, mediaType, manifests }, 3);
  return { format, images, manifest, manifestDigest: sha256(manifest), mediaType };
}

/** Every blob `item` consists of, each once: manifests (index first), configs, layers. */
export function descriptors(item: Image | Index): Descriptor[] {
  const images = 'images' in item ? item.images : [item];
  const all: Descriptor[] = 'images' in item ? [{ mediaType: item.mediaType, digest: item.manifestDigest, size: item.manifest.length }] : [];
  for (const i of images) {
    all.push({ mediaType: i.mediaType, digest: i.manifestDigest, size: i.manifest.length });
    all.push({ mediaType: i.configMediaType, digest: i.configDigest, size: i.config.length });
    for (const l of i.layers) all.push({ mediaType: i.format === 'oci' ? OCI_LAYER : DOCKER_LAYER, digest: l.digest, size: l.size });
  }
  return all.filter((d, n) => all.findIndex((e) => e.digest === d.digest) === n);
}

function blobBytes(item: Image | Index): Map<string, Buffer> {
  const images = 'images' in item ? item.images : [item];
  const blobs = new Map<string, Buffer>([[item.manifestDigest, item.manifest]]);
  for (const i of images) {
    blobs.set(i.manifestDigest, i.manifest).set(i.configDigest, i.config);
    for (const l of i.layers) blobs.set(l.digest, l.bytes);
  }
  return blobs;
}

/**
 * Adds `item` to the OCI image layout in `dir` (made if absent) under `tag`, replacing an entry
 * of the same tag; idempotent. skopeo's `oci:` transport finds a tag only among OCI media types,
 * so a Docker v2 image must be alone in its layout and named as `oci:DIR` without a tag.
 */
export async function writeOciLayout(dir: string, item: Image | Index, tag: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const [digest, bytes] of blobBytes(item)) await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  await writeFile(join(dir, 'oci-layout'), json({ imageLayoutVersion: '1.0.0' }));
  type Entry = Descriptor & { annotations?: Record<string, string> };
  let manifests: Entry[] = [];
  try {
    manifests = (JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Entry[] }).manifests;
  } catch {
    // no layout yet
  }
  manifests = manifests.filter((m) => m.annotations?.[REF_NAME] !== tag);
  manifests.push({ mediaType: item.mediaType, digest: item.manifestDigest, size: item.manifest.length, annotations: { [REF_NAME]: tag } });
  await writeFile(join(dir, 'index.json'), json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }, 2));
}

export type FixtureRef = { layout: string; tag: string; repo: string; manifestDigest: string; mediaType: string };
export type FixtureImages = {
  dir: string;
  /** OCI index `multi`: linux/amd64 (runnable, prints `multi amd64`), linux/arm64, linux/arm/v7. */
  multi: { index: Index; amd64: Image; arm64: Image; armv7: Image; layout: string };
  /** Docker v2 schema 2 linux/amd64 image `single` (runnable, prints `single amd64`), no list. */
  single: Image & { layout: string };
  /** busybox and its applet links: the first layer of both `multi` amd64 and `single`. */
  sharedLayer: Layer;
  /** About 8 MiB that do not compress, in `single`, for Range and resume paths. */
  bigLayer: Layer;
  /** What `pushImages` pushes: `fixtures/multi:{1.0,latest}`, `fixtures/single:1.0`, `library/single:1.0`. */
  refs: FixtureRef[];
};

export const BUSYBOX = '/bin/busybox';
const CMD = ['/bin/cat', '/etc/offline-fixture'];

/** The busybox layer: applets work through links, as busybox picks the applet by `argv[0]`. */
async function busyboxLayer(): Promise<Layer> {
  const data = await readFile(BUSYBOX).catch((e: Error) => {
    throw new Error(`${BUSYBOX} is needed for the runnable fixture images (apt-get install busybox-static): ${e.message}`);
  });
  const links = Object.fromEntries(['sh', 'cat', 'echo', 'ls'].map((a) => [`bin/${a}`, { symlink: 'busybox' }]));
  return makeLayer({ 'bin/busybox': { mode: 0o755, data }, ...links });
}

function marker(text: string): Promise<Layer> {
  return makeLayer({ 'etc/offline-fixture': `${text}\n` });
}

/**
 * Builds the fixture images and writes their OCI layouts to `dir/multi` (tags `1.0`, `latest`)
 * and `dir/single` (its only entry, tag `1.0`). Byte for byte equal given the same busybox and Node (zlib).
 */
export async function makeFixtureImages(dir: string): Promise<FixtureImages> {
  const sharedLayer = await busyboxLayer();
  const bigLayer = await makeLayer({ 'opt/offline-fixture/noise.bin': noise(8 * 1024 * 1024) });
  const amd64 = makeImage({ architecture: 'amd64', layers: [sharedLayer, await marker('multi amd64')], cmd: CMD });
  const arm64 = makeImage({ architecture: 'arm64', layers: [await marker('multi arm64')], cmd: CMD });
  const armv7 = makeImage({ architecture: 'arm', variant: 'v7', layers: [await marker('multi arm/v7')], cmd: CMD });
  const index = makeIndex([amd64, arm64, armv7], 'oci');
  const single = makeImage({ format: 'docker', architecture: 'amd64', layers: [sharedLayer, bigLayer, await marker('single amd64')], cmd: CMD });
  const multiLayout = join(dir, 'multi');
  const singleLayout = join(dir, 'single');
  await writeOciLayout(multiLayout, index, '1.0');
  await writeOciLayout(multiLayout, index, 'latest');
  await writeOciLayout(singleLayout, single, '1.0');
  const m = { layout: multiLayout, manifestDigest: index.manifestDigest, mediaType: index.mediaType, repo: 'fixtures/multi' };
  const s = { layout: singleLayout, manifestDigest: single.manifestDigest, mediaType: single.mediaType, tag: '1.0' };
  return {
    dir,
    multi: { index, amd64, arm64, armv7, layout: multiLayout },
    single: { ...single, layout: singleLayout },
    sharedLayer,
    bigLayer,
    refs: [
      { ...m, tag: '1.0' },
      { ...m, tag: 'latest' },
      { ...s, repo: 'fixtures/single' },
      { ...s, repo: 'library/single' },
    ],
  };
}
