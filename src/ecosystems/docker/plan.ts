import { describeError, isOfflineError } from '../../foundation/errors.ts';
import { writeFileAtomic } from '../../foundation/atomic.ts';
import { sriFromHex } from '../../engine/digest.ts';
import type { DownloadItem } from '../../engine/download.ts';
import type { Failure, MirrorPlan, Note, SyncContext } from '../types.ts';
import { createRegistryClient, dockerCredentials, type RegistryClient } from './upstream.ts';
import { formatPlatform, parseManifest, parsePlatform, platformMatches } from './media.ts';
import { formatReference, parseReference, registryUrl } from './reference.ts';
import { blobPath, hasBlob, readRepository, writeRepository } from './store.ts';
import type { Descriptor, ImageRef, Platform } from './types.ts';


type StoredManifest = { digest: string; mediaType: string; bytes: Buffer; platform?: string };
type ImagePlan = { ref: ImageRef; source: string; manifests: StoredManifest[]; blobs: Descriptor[] };

/**
 * Plan a Docker sync: fetch each image's manifest (and, for an index, the manifests of the
 * selected platforms), verifying every digest, and list the configs and layers not yet in the
 * store. The commit writes the manifests byte for byte and tags an image only once every blob it
 * needs is verified on disk.
 */
export async function planDocker(ctx: SyncContext): Promise<MirrorPlan> {
  const { docker } = ctx.config;
  const wanted = docker.platforms.map(parsePlatform);
  const failures: Failure[] = [];
  const notes: Note[] = [];
  const clients = new Map<string, Promise<RegistryClient>>();
  const client = (registry: string) => {
    let c = clients.get(registry);
    if (!c) {
      c = dockerCredentials(registry).then((creds) => createRegistryClient(ctx.http, registryUrl(registry, docker.registries), creds));
      clients.set(registry, c);
    }
    return c;
  };
  ctx.progress.phase('docker: manifests', docker.images.length);
  const images: ImagePlan[] = [];
  await Promise.all(docker.images.map(async (spec, i) => {
    const source = `docker.images[${i}] "${spec}"`;
    try {
      const ref = parseReference(spec, 'docker.images');
      const plan = await planImage(ref, source, await client(ref.registry), wanted, notes);
      images.push(plan);
      ctx.progress.itemDone();
    } catch (err) {
      ctx.progress.itemFailed();
      failures.push({ ecosystem: 'docker', item: source, code: isOfflineError(err) ? err.code : 'OFFLINE_ERR_UPSTREAM', message: describeError(err) });
    }
  }));

  const downloads = new Map<string, DownloadItem>();
  let present = 0;
  for (const image of images) {
    const c = await client(image.ref.registry);
    for (const blob of image.blobs) {
      const dest = blobPath(ctx.dir, blob.digest);
      if (downloads.has(dest)) continue;
      if (await hasBlob(ctx.dir, blob.digest)) {
        present++;
        continue;
      }
      downloads.set(dest, {
        url: `${c.url}/v2/${image.ref.repository}/blobs/${blob.digest}`,
        dest,
        integrity: sriFromHex('sha256', blob.digest.slice('sha256:'.length)),
        label: `${formatReference(image.ref)} ${blob.digest.slice(0, 19)}`,
        size: blob.size,
        authorizer: c.authorizer(image.ref.repository),
      });
    }
  }
  const blobs = new Set(images.flatMap((i) => i.blobs.map((b) => b.digest)));
  return {
    downloads: [...downloads.values()],
    present,
    failures,
    notes,
    summary: { images: images.length, platforms: wanted.length, blobs: blobs.size },
    commit: () => commitDocker(ctx.dir, images),
  };
}

async function planImage(ref: ImageRef, source: string, client: RegistryClient, wanted: Platform[], notes: Note[]): Promise<ImagePlan> {
  const top = await client.manifest(ref.repository, ref.digest ?? ref.tag!);
  if (!top) throw new Error(`${formatReference(ref)} is not on ${client.url}`);
  const parsed = parseManifest(top.bytes, top.mediaType);
  const plan: ImagePlan = { ref, source, manifests: [{ digest: top.digest, mediaType: parsed.mediaType, bytes: top.bytes }], blobs: [] };
  const images: Array<{ descriptor?: Descriptor; manifest: ReturnType<typeof parseManifest>; digest: string }> = [];
  if (parsed.kind === 'index') {
    const selected = parsed.manifests.filter((d) => wanted.some((w) => platformMatches(d.platform, w)));
    if (selected.length === 0) {
      const available = parsed.manifests.map((d) => (d.platform ? formatPlatform(d.platform) : '?')).join(', ');
      throw new Error(`no platform of ${formatReference(ref)} matches ${wanted.map(formatPlatform).join(', ')} (it has ${available})`);
    }
    for (const d of selected) {
      const child = await client.manifest(ref.repository, d.digest);
      if (!child) throw new Error(`${formatReference(ref)}: the index names ${d.digest}, which the registry does not have`);
      const manifest = parseManifest(child.bytes, d.mediaType ?? child.mediaType);
      if (manifest.kind !== 'image') throw new Error(`${formatReference(ref)}: nested index ${d.digest} is not supported`);
      plan.manifests.push({ digest: child.digest, mediaType: manifest.mediaType, bytes: child.bytes, platform: formatPlatform(d.platform!) });
      images.push({ descriptor: d, manifest, digest: child.digest });
    }
  } else {
    images.push({ manifest: parsed, digest: top.digest });
  }
  for (const { manifest } of images) {
    if (manifest.kind !== 'image') continue;
    plan.blobs.push(manifest.config);
    for (const layer of manifest.layers) {
      if (layer.urls?.length) notes.push({ ecosystem: 'docker', message: `${source}: foreign layer ${layer.digest} is served from ${layer.urls[0]}, not mirrored` });
      else plan.blobs.push(layer);
    }
  }
  return plan;
}

async function commitDocker(dir: string, images: ImagePlan[]): Promise<Failure[]> {
  const failures: Failure[] = [];
  for (const image of images) {
    const missing: string[] = [];
    for (const blob of image.blobs) if (!(await hasBlob(dir, blob.digest))) missing.push(blob.digest);
    if (missing.length > 0) {
      failures.push({ ecosystem: 'docker', item: image.source, code: 'OFFLINE_ERR_UPSTREAM', message: `not published: ${missing.length} blob(s) missing (${missing[0]}…); run sync again` });
      continue;
    }
    for (const m of image.manifests) if (!(await hasBlob(dir, m.digest))) await writeFileAtomic(blobPath(dir, m.digest), m.bytes);
    const { registry, repository, tag } = image.ref;
    const index = (await readRepository(dir, registry, repository)) ?? { registry, repository, tags: {}, manifests: {} };
    for (const m of image.manifests) index.manifests[m.digest] = { mediaType: m.mediaType, size: m.bytes.length, ...(m.platform ? { platform: m.platform } : {}) };
    if (tag) index.tags[tag] = image.manifests[0]!.digest;
    await writeRepository(dir, index);
  }
  return failures;
}
