/**
 * Docker benchmark, two comparisons in one run against a real CNCF registry on loopback:
 * - sync: `offline sync` of a set of images beside `skopeo sync` of the same images (linux/amd64);
 * - serving: the mirror's blob throughput beside the CNCF registry serving the same blobs, with
 *   the same client.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { stringify } from 'yaml';
import { makeImage, makeLayer, noise, writeOciLayout, type Image } from '../test/helpers/oci-images.ts';
import { skopeo, startRegistry } from '../test/helpers/oci-registry.ts';
import { run } from '../test/helpers/run.ts';
import { throughput, timed, type BenchRow } from './common.ts';

const BIN = fileURLToPath(new URL('../bin/offline.js', import.meta.url));

export async function benchDocker(count = 12): Promise<BenchRow[]> {
  if ((await run('sh', ['-c', 'command -v skopeo && command -v docker-registry'])).code !== 0) {
    console.log('docker: skipped: skopeo and docker-registry are needed (apt-get install skopeo docker-registry)');
    return [];
  }
  const work = await mkdtemp(join(tmpdir(), 'offline-bench-docker-'));
  const registry = await startRegistry(join(work, 'registry'));
  try {
    const base = await makeLayer({ 'base/data.bin': noise(4 * 1024 * 1024, 'base') });
    const images: Image[] = [];
    for (let i = 0; i < count; i++) {
      const own = await makeLayer({ [`app/${i}.bin`]: noise(2 * 1024 * 1024 + i * 4096, `image-${i}`) });
      const image = makeImage({ architecture: 'amd64', layers: [base, own] });
      images.push(image);
      await writeOciLayout(join(work, 'layouts', `img-${i}`), image, '1.0');
      const pushed = await skopeo(['copy', '--preserve-digests', `oci:${join(work, 'layouts', `img-${i}`)}:1.0`, `docker://${registry.host}/bench/img-${i}:1.0`], join(work, 'skopeo'));
      if (pushed.code !== 0) throw new Error(`push failed: ${pushed.stderr}`);
    }
    const port = 20000 + Math.floor(Math.random() * 20000);
    const config = join(work, 'offline.yaml');
    const refs = images.map((_, i) => `${registry.host}/bench/img-${i}:1.0`);
    await writeFile(config, stringify({
      data: './mirrors', listen: '127.0.0.1', npm: { port: port + 1 }, pypi: { port: port + 2 }, pacman: { port: port + 3 },
      docker: { port, images: refs, platforms: ['linux/amd64'], registries: { [registry.host]: registry.url } },
    }));
    const [syncSeconds, synced] = await timed(() => run(process.execPath, [BIN, 'sync', '-c', config], { timeoutMs: 900_000 }));
    if (synced.code !== 0) throw new Error(`offline sync failed: ${synced.stdout}${synced.stderr}`);
    const source = join(work, 'skopeo-sync.yaml');
    await writeFile(source, stringify({ [registry.host]: { 'tls-verify': false, images: Object.fromEntries(images.map((_, i) => [`bench/img-${i}`, ['1.0']])) } }));
    const [skopeoSeconds, synced2] = await timed(() => skopeo(['sync', '--src', 'yaml', '--dest', 'dir', source, join(work, 'skopeo-out')], join(work, 'skopeo'), { timeoutMs: 900_000 }));
    if (synced2.code !== 0) throw new Error(`skopeo sync failed: ${synced2.stderr}`);

    const server = spawn(process.execPath, [BIN, 'serve', '-c', config], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => server.stdout.on('data', (c: Buffer) => { if (c.toString().includes('serving')) resolve(); }));
    try {
      const paths = images.flatMap((img, i) => img.layers.map((l) => `/v2/${registry.host}/bench/img-${i}/blobs/${l.digest}`));
      const mirror = await throughput(paths.map((p) => `http://127.0.0.1:${port}${p}`), 3);
      const cncf = await throughput(paths.map((p) => `${registry.url}${p.replace(`/v2/${registry.host}/`, '/v2/')}`), 3);
      console.log(`docker: ${count} images (linux/amd64, 2 layers each, one shared), CNCF distribution on loopback; serving measured over 3 rounds, 8 in flight`);
      console.log(`  serving throughput: mirror ${(mirror / 1e6).toFixed(0)} MB/s, CNCF registry ${(cncf / 1e6).toFixed(0)} MB/s, ratio ${(mirror / cncf).toFixed(2)}`);
    } finally {
      server.kill('SIGTERM');
    }
    return [
      { name: `offline sync, cold (${count} images)`, seconds: syncSeconds },
      { name: 'skopeo sync of the same images', seconds: skopeoSeconds },
    ];
  } finally {
    await registry.close();
    await rm(work, { recursive: true, force: true });
  }
}
