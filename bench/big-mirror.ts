/**
 * Serving memory at size (no peer): a 10 GiB Docker mirror (one image of 40 layers of 256 MiB,
 * incompressible), synced from a local upstream that generates the layers as it sends them, then
 * served to 50 wrk connections walking every blob. Reports the RSS of `offline serve` (all four
 * mirrors configured, as a user runs it) idle, at the end of the load, and its peak (VmHWM):
 * flat means the mirror's size and the clients' downloads do not show in it.
 * `BENCH_BIG_GIB` sizes the mirror.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { drainedOrClosed, startFixtureServer } from '../test/helpers/fixture-server.ts';
import { claimPorts } from '../test/helpers/ports.ts';
import { run } from '../test/helpers/run.ts';
import { BIN, must, startServe, timed, type Row } from './common.ts';
import { missingTool, rss, wrk } from './load.ts';

const MiB = 1024 * 1024;
const LAYER = 256 * MiB;
const ZEROS = Buffer.alloc(MiB);

/** Layer `i`, a MiB at a time: an AES-CTR keystream, so unique, incompressible and never stored. */
function* layerChunks(i: number): Generator<Buffer> {
  const key = createHash('sha256').update(`big-mirror-layer-${i}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  for (let sent = 0; sent < LAYER; sent += MiB) yield cipher.update(ZEROS);
}

function layerDigest(i: number): string {
  const hash = createHash('sha256');
  for (const chunk of layerChunks(i)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

async function sendLayer(res: ServerResponse, i: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': LAYER });
  let gone = false;
  res.once('close', () => { gone = true; });
  for (const chunk of layerChunks(i)) {
    if (gone) return;
    if (!res.write(chunk)) await drainedOrClosed(res);
  }
  res.end();
}


export async function benchBigMirror(gib = Number(process.env.BENCH_BIG_GIB ?? 10)): Promise<Row[]> {
  const missing = await missingTool('wrk');
  if (missing) {
    console.log('big mirror: skipped: wrk is not installed (apt-get install wrk)');
    return [];
  }
  const count = Math.max(1, Math.round((gib * 1024 * MiB) / LAYER));
  const work = await mkdtemp(join(tmpdir(), 'offline-bench-big-'));
  const digests = Array.from({ length: count }, (_, i) => layerDigest(i));
  const json = (doc: unknown) => Buffer.from(JSON.stringify(doc));
  const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const config = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: digests } });
  const manifest = json({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: digests.map((digest) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: LAYER })),
  });
  const upstream = await startFixtureServer(async (req, res) => {
    const path = req.url ?? '/';
    if (path === '/v2/') return void res.end('{}');
    if (path === '/v2/big/app/manifests/1') return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
    if (path.endsWith(digestOf(config))) return void res.end(config);
    const layer = digests.findIndex((d) => path.endsWith(d));
    if (layer >= 0) return sendLayer(res, layer);
    res.writeHead(404).end();
  });
  try {
    const port = await claimPorts(4);
    const file = join(work, 'offline.yaml');
    await writeFile(file, stringify({
      data: './mirrors', listen: '127.0.0.1', npm: { port: port + 1 }, pypi: { port: port + 2 }, pacman: { port: port + 3 },
      docker: { port, images: ['fixture.test/big/app:1'], registries: { 'fixture.test': `http://127.0.0.1:${upstream.port}` } },
    }));
    const [syncSeconds, synced] = await timed(() => run(process.execPath, [BIN, 'sync', '-c', file], { timeoutMs: 1_800_000 }));
    must(synced, 'offline sync');
    const server = await startServe(file);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const idle = await rss(server.pid);
      const paths = digests.map((d) => `/v2/fixture.test/big/app/blobs/${d}`);
      const load = await wrk(`http://127.0.0.1:${port}`, paths, work, { seconds: 10 });
      const loaded = await rss(server.pid);
      console.log(`big mirror: ${count} layers of 256 MiB (${((count * LAYER) / 2 ** 30).toFixed(1)} GiB) synced in ${syncSeconds.toFixed(1)} s; served ${(load.bytesPerSecond / 1e6).toFixed(0)} MB/s to 50 connections`);
      const mb = (n: number) => `${n.toFixed(0)} MB`;
      return [
        { benchmark: `Docker, ${(count * LAYER / 2 ** 30).toFixed(0)} GiB mirror: RSS of serve idle, all four mirrors`, offline: mb(idle.now) },
        { benchmark: `Docker, ${(count * LAYER / 2 ** 30).toFixed(0)} GiB mirror: RSS after 10 s of 50 clients (peak)`, offline: `${mb(loaded.now)} (${mb(loaded.peak)})` },
      ];
    } finally {
      await server.stop();
    }
  } finally {
    await upstream.close();
    await rm(work, { recursive: true, force: true });
  }
}
