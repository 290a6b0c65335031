import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import type { ImageFile } from '../types.ts';
import { formatPlatform, parseManifest, platformMatches } from './media.ts';
import { digestHex } from './names.ts';
import { formatReference, parseReference } from './reference.ts';
import { blobPath, hasBlob, readRepository, servedManifest } from './store.ts';
import type { ImageRef, Platform } from './types.ts';

/** Labels that mark an image in the daemon as one offline put there (and for which settings). */
export const BASE_LABEL = 'dev.offline.base';
export const MANIFEST_LABEL = 'dev.offline.manifest';
export const SETTINGS_LABEL = 'dev.offline.settings';

/** What a base image gets: environment for RUN steps and files, each only where its `when` exists. */
export type ImageAdditions = { env: Record<string, string>; files: ImageFile[] };

/** One mirrored image, resolved for the daemon's platform, ready to become a `docker load` archive. */
export type MirroredImage = {
  /** The name the daemon knows it by: `node:22`, `ghcr.io/org/app:1`. */
  name: string;
  ref: ImageRef;
  /** The platform manifest's digest. */
  manifest: string;
  layers: string[];
  config: Buffer;
};

/**
 * The name docker prints for a reference (`node:22` for `docker.io/library/node:22`), as
 * `docker load` tags it and `docker image inspect` finds it.
 */
export function familiarName(ref: ImageRef): string {
  const repo = ref.registry === 'docker.io' ? ref.repository.replace(/^library\//, '') : `${ref.registry}/${ref.repository}`;
  return `${repo}:${ref.tag ?? 'latest'}`;
}

/**
 * Find `spec` (a `docker.images` entry) in the store for `platform`. Throws an Error saying what
 * is missing — the image, the platform, a blob — or that a digest-only reference cannot be given a
 * name in the daemon.
 */
export async function mirroredImage(dir: string, spec: string, platform: Platform): Promise<MirroredImage> {
  const ref = parseReference(spec, 'docker.images');
  if (!ref.tag) throw new Error(`${spec} names a digest only: the daemon can be given an image by name and tag, not by digest (add a tag)`);
  const repo = await readRepository(dir, ref.registry, ref.repository);
  const served = repo ? servedManifest(repo, ref.digest ?? ref.tag) : undefined;
  if (!repo || !served || !(await hasBlob(dir, served.digest))) throw new Error(`${formatReference(ref)} is not in the mirror: run \`offline sync\` online`);
  let digest = served.digest;
  let manifest = parseManifest(await readFile(blobPath(dir, digest)), served.mediaType);
  if (manifest.kind === 'index') {
    const entry = manifest.manifests.find((d) => platformMatches(d.platform, platform) && servedManifest(repo, d.digest));
    if (!entry) throw new Error(`${formatReference(ref)} has no ${formatPlatform(platform)} image in the mirror: add it to docker.platforms and run \`offline sync\``);
    digest = entry.digest;
    manifest = parseManifest(await readFile(blobPath(dir, digest)), servedManifest(repo, digest)!.mediaType);
    if (manifest.kind !== 'image') throw new Error(`${formatReference(ref)}: the ${formatPlatform(platform)} entry is not an image manifest`);
  }
  if (manifest.kind !== 'image') throw new Error(`${formatReference(ref)}: not an image manifest`);
  for (const blob of [manifest.config, ...manifest.layers]) {
    if (blob.urls?.length) throw new Error(`${formatReference(ref)}: layer ${blob.digest} is non-distributable (foreign URLs); it cannot be loaded offline`);
    if (!(await hasBlob(dir, blob.digest))) throw new Error(`${formatReference(ref)}: blob ${blob.digest} is missing from the store: run \`offline sync\``);
  }
  const config = await readFile(blobPath(dir, manifest.config.digest));
  if (sha256(config) !== manifest.config.digest) throw new Error(`${formatReference(ref)}: the stored config does not match its digest ${manifest.config.digest}`);
  return { name: familiarName(ref), ref, manifest: digest, layers: manifest.layers.map((l) => l.digest), config };
}

/**
 * Whether the image's filesystem has `path` (relative, `etc/pacman.conf`): the last layer that
 * names it, or removes it with a whiteout (`.wh.<name>`, or an opaque `.wh..wh..opq` in a parent),
 * decides. Reads the layers as streams; decompresses gzip and zstd.
 */
export async function imageHasPath(dir: string, layers: string[], path: string): Promise<boolean> {
  const parts = path.split('/');
  const name = parts.at(-1)!;
  const parent = parts.slice(0, -1).join('/');
  const parents = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
  let present = false;
  for (const layer of layers) {
    let verdict: boolean | undefined;
    await pipeline(createReadStream(blobPath(dir, layer)), tar.t({
      onReadEntry: (entry) => {
        const p = entry.path.replace(/^(\.\/)+/, '').replace(/\/$/, '');
        if (p === path) verdict = true;
        else if (p === `${parent ? `${parent}/` : ''}.wh.${name}`) verdict = false;
        else if (verdict === undefined && parents.some((d) => p === `${d}/.wh..wh..opq`)) verdict = false;
        entry.resume();
      },
    }));
    if (verdict !== undefined) present = verdict;
  }
  return present;
}

/** The derived image: the mirrored one, plus the additions as a layer and config changes, with offline's labels. */
export type DerivedImage = MirroredImage & { configDigest: string; derivedConfig: Buffer; extraLayer?: Buffer; settings: string };

/**
 * Derive the image the daemon gets: the mirrored layers untouched, one more (uncompressed) layer
 * with the files whose `when` the image has, the environment merged into the config's (ours win),
 * and the labels. Deterministic: the same image and additions give the same image ID.
 */
export async function deriveImage(dir: string, image: MirroredImage, additions: ImageAdditions): Promise<DerivedImage> {
  const files: ImageFile[] = [];
  for (const file of additions.files) if (file.when === undefined || await imageHasPath(dir, image.layers, file.when)) files.push(file);
  const settings = sha256(JSON.stringify({ env: additions.env, files })).slice('sha256:'.length, 'sha256:'.length + 16);
  const config = JSON.parse(image.config.toString('utf8')) as {
    created?: string;
    config?: { Env?: string[]; Labels?: Record<string, string> | null };
    rootfs?: { type: string; diff_ids: string[] };
    history?: Array<Record<string, unknown>>;
  };
  const inner = (config.config ??= {});
  const env = new Map((inner.Env ?? []).map((e) => [e.slice(0, Math.max(0, e.indexOf('='))) || e, e]));
  for (const [k, v] of Object.entries(additions.env)) env.set(k, `${k}=${v}`);
  inner.Env = [...env.values()];
  inner.Labels = { ...(inner.Labels ?? {}), [BASE_LABEL]: image.name, [MANIFEST_LABEL]: image.manifest, [SETTINGS_LABEL]: settings };
  const extraLayer = files.length > 0 ? layerTar(files) : undefined;
  config.rootfs ??= { type: 'layers', diff_ids: [] };
  if (extraLayer) config.rootfs.diff_ids.push(sha256(extraLayer));
  config.history = [...(config.history ?? []), {
    ...(config.created ? { created: config.created } : {}),
    created_by: `offline up: clients pointed at the mirrors${files.length ? ` (${files.map((f) => `/${f.path}`).join(', ')})` : ''}`,
    ...(extraLayer ? {} : { empty_layer: true }),
  }];
  const derivedConfig = Buffer.from(JSON.stringify(config));
  return { ...image, configDigest: sha256(derivedConfig), derivedConfig, ...(extraLayer ? { extraLayer } : {}), settings };
}

/** An uncompressed tar of regular files (mode 0644, root, mtime 0), tar's own header encoding. */
function layerTar(files: ImageFile[]): Buffer {
  const blocks: Buffer[] = [];
  for (const file of files) {
    const data = Buffer.from(file.content);
    const header = new tar.Header({ path: file.path, mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: new Date(0), type: 'File', uname: 'root', gname: 'root' });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/**
 * Write the `docker load` archive for a derived image into `out`: `manifest.json` tagging it with
 * its name, the derived config, the mirrored layers (streamed from the store, gzip or zstd as
 * stored: the daemon decompresses them) and the extra layer. `work` is an empty scratch directory.
 */
export async function writeArchive(dir: string, image: DerivedImage, work: string, out: Writable): Promise<void> {
  const blobs = join(work, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const entry = (digest: string) => `blobs/sha256/${digestHex(digest)}`;
  const layers = [...image.layers];
  for (const layer of new Set(image.layers)) await symlink(blobPath(dir, layer), join(work, entry(layer)));
  await writeFile(join(work, entry(image.configDigest)), image.derivedConfig);
  if (image.extraLayer) {
    const digest = sha256(image.extraLayer);
    await writeFile(join(work, entry(digest)), image.extraLayer);
    layers.push(digest);
  }
  await writeFile(join(work, 'manifest.json'), JSON.stringify([{ Config: entry(image.configDigest), RepoTags: [image.name], Layers: layers.map(entry) }]));
  await pipeline(tar.c({ cwd: work, follow: true, portable: true, noMtime: true }, ['manifest.json', 'blobs']), out);
}

function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
