import { readFile } from 'node:fs/promises';
import type { CheckContext, CheckResult, Failure } from '../types.ts';
import { formatPlatform, parseManifest, parsePlatform, platformMatches } from './media.ts';
import { formatReference, parseReference } from './reference.ts';
import { blobPath, hasBlob, readRepository, servedManifest } from './store.ts';

/**
 * Readiness from the store itself: each configured image resolves (tag or digest) in its
 * repository, has a manifest for every configured platform, and every config and layer is there —
 * exactly what the registry API would need to serve a pull.
 */
export async function checkDocker(ctx: CheckContext): Promise<CheckResult> {
  const missing: Failure[] = [];
  const wanted = ctx.config.docker.platforms.map(parsePlatform);
  let checked = 0;
  for (const [i, spec] of ctx.config.docker.images.entries()) {
    const item = `docker.images[${i}] "${spec}"`;
    const miss = (message: string) => missing.push({ ecosystem: 'docker', item, code: 'OFFLINE_ERR_MISSING', message });
    checked++;
    const ref = parseReference(spec, 'docker.images');
    const repo = await readRepository(ctx.dir, ref.registry, ref.repository);
    const served = repo ? servedManifest(repo, ref.digest ?? ref.tag!) : undefined;
    if (!repo || !served || !(await hasBlob(ctx.dir, served.digest))) {
      miss(`${formatReference(ref)} is not in the mirror: run \`offline sync\``);
      continue;
    }
    const digest = served.digest;
    const top = parseManifest(await readFile(blobPath(ctx.dir, digest)), served.mediaType);
    const images: string[] = [];
    if (top.kind === 'index') {
      for (const platform of wanted) {
        const entry = top.manifests.find((d) => platformMatches(d.platform, platform) && servedManifest(repo, d.digest));
        if (entry) images.push(entry.digest);
        else if (top.manifests.some((d) => platformMatches(d.platform, platform))) miss(`${formatReference(ref)}: ${formatPlatform(platform)} is not in the mirror`);
      }
    } else {
      images.push(digest);
    }
    for (const image of images) {
      const manifest = parseManifest(await readFile(blobPath(ctx.dir, image)), servedManifest(repo, image)?.mediaType);
      if (manifest.kind !== 'image') continue;
      for (const blob of [manifest.config, ...manifest.layers.filter((l) => !l.urls?.length)]) {
        if (!(await hasBlob(ctx.dir, blob.digest))) miss(`${formatReference(ref)}: blob ${blob.digest} is missing from the store`);
      }
    }
  }
  return { checked, missing };
}
