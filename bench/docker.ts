/**
 * Docker benchmark, two comparisons in one run against a real CNCF registry on loopback:
 * - sync: `offline sync` of a set of images beside `skopeo sync` of the same images (linux/amd64);
 * - serving: wrk against the mirror's blobs and against the CNCF registry serving the same blobs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeImage, makeLayer, noise, writeOciLayout, type Image } from '../test/helpers/oci-images.ts';
import { skopeo, startRegistry } from '../test/helpers/oci-registry.ts';
import { run } from '../test/helpers/run.ts';
import { BIN, durationRow, must, rateRow, startServe, timed, type Row } from './common.ts';
import { missingTool, rss, WORKERS, wrk, wrkWorkers } from './load.ts';
import { claimPorts } from '../test/helpers/ports.ts';

const LAYER_BYTES = 12 * 1024 * 1024;

/** `count` images of one 12 MB layer each, pushed to the registry; the images. */
async function pushImages(work: string, registryHost: string, count: number): Promise<Image[]> {
  const images: Image[] = [];
  for (let i = 0; i < count; i++) {
    const layer = await makeLayer({ [`app/${i}.bin`]: noise(LAYER_BYTES + i * 4096, `image-${i}`) });
    const image = makeImage({ architecture: 'amd64', layers: [layer] });
    images.push(image);
    await writeOciLayout(join(work, 'layouts', `img-${i}`), image, '1.0');
    const pushed = await skopeo(['copy', '--preserve-digests', `oci:${join(work, 'layouts', `img-${i}`)}:1.0`, `docker://${registryHost}/bench/img-${i}:1.0`], join(work, 'skopeo'));
    must(pushed, 'skopeo copy (push)');
  }
  return images;
}

export async function benchDocker(count = 4): Promise<Row[]> {
  const missing = await missingTool('skopeo', 'docker-registry', 'wrk');
  if (missing) {
    console.log(`docker: skipped: ${missing} is not installed (apt-get install skopeo docker-registry wrk)`);
    return [];
  }
  const work = await mkdtemp(join(tmpdir(), 'offline-bench-docker-'));
  const registry = await startRegistry(join(work, 'registry'));
  try {
    const images = await pushImages(work, registry.host, count);
    const port = await claimPorts(4);
    const config = join(work, 'offline.yaml');
    const refs = images.map((_, i) => `${registry.host}/bench/img-${i}:1.0`);
    await writeFile(config, stringify({
      data: './mirrors', listen: '127.0.0.1', npm: { port: port + 1 }, pypi: { port: port + 2 }, pacman: { port: port + 3 },
      docker: { port, images: refs, platforms: ['linux/amd64'], registries: { [registry.host]: registry.url } },
    }));
    const [syncSeconds, synced] = await timed(() => run(process.execPath, [BIN, 'sync', '-c', config], { timeoutMs: 900_000 }));
    must(synced, 'offline sync');
    const source = join(work, 'skopeo-sync.yaml');
    await writeFile(source, stringify({ [registry.host]: { 'tls-verify': false, images: Object.fromEntries(images.map((_, i) => [`bench/img-${i}`, ['1.0']])) } }));
    const [skopeoSeconds, synced2] = await timed(() => skopeo(['sync', '--src', 'yaml', '--dest', 'dir', source, join(work, 'skopeo-out')], join(work, 'skopeo'), { timeoutMs: 900_000 }));
    must(synced2, 'skopeo sync');

    const server = await startServe(config);
    try {
      const paths = images.flatMap((img, i) => img.layers.map((l) => `/v2/bench/img-${i}/blobs/${l.digest}`));
      const mirror = await wrk(`http://127.0.0.1:${port}`, paths.map((p) => p.replace('/v2/', `/v2/${registry.host}/`)), work);
      const peak = (await rss(server.pid)).peak;
      const cncf = await wrk(registry.url, paths, work);
      await server.stop();
      const workers = await wrkWorkers(config, `http://127.0.0.1:${port}`, paths.map((p) => p.replace('/v2/', `/v2/${registry.host}/`)), work);
      console.log(`docker: ${count} images (linux/amd64) of one ${LAYER_BYTES / 1024 / 1024} MiB layer each, CNCF distribution on loopback; serving: wrk, 50 connections`);
      return [
        durationRow(`Docker: sync of ${count} images`, syncSeconds, '`skopeo sync`', skopeoSeconds),
        rateRow(`Docker: serving ${count} × 12 MB blobs, wrk 50 connections`, mirror.bytesPerSecond, 'CNCF registry', cncf.bytesPerSecond),
        rateRow(`Docker: the same, serve --workers ${WORKERS}`, workers.bytesPerSecond, 'CNCF registry', cncf.bytesPerSecond),
        { benchmark: 'Docker: peak RSS of serve after 50 clients', offline: `${peak.toFixed(0)} MB` },
      ];
    } finally {
      await server.stop();
    }
  } finally {
    await registry.close();
    await rm(work, { recursive: true, force: true });
  }
}
