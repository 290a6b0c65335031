/**
 * Regression: undici 7 crashed the whole process with an uncatchable `AssertionError:
 * assert(!this.paused)` when a server closed the connection while a response body was paused
 * under backpressure (nodejs/undici#5360, fixed in undici 8). A sync of a few hundred files of
 * 20 kB–2 MB from `python3 -m http.server` (HTTP/1.0, one connection per response) died every
 * time. The upstream here is exactly that server over a static directory.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stringify } from 'yaml';
import { noise } from '../helpers/oci-images.ts';
import { offline } from '../helpers/offline-cli.ts';
import { run } from '../helpers/run.ts';
import { startStaticServer } from '../helpers/static-server.ts';

const work = await mkdtemp(join(tmpdir(), 'offline-http10-'));
after(() => rm(work, { recursive: true, force: true }));
const python = (await run('python3', ['-c', 'import http.server'])).code === 0 ? undefined : 'python3 with http.server is not installed';

const COUNT = 300;

/** Sizes spread over 20 kB–2 MB, the same every run. */
function sizeOf(i: number): number {
  return 20_000 + Math.round(((i * 7919) % COUNT) / (COUNT - 1) * (2_000_000 - 20_000));
}

test(`a sync of ${COUNT} files up to 2 MB from a server that closes after each response completes`, { skip: python }, async () => {
  const root = join(work, 'upstream');
  await mkdir(join(root, 'registry'), { recursive: true });
  await mkdir(join(root, 'tarballs'), { recursive: true });
  const server = await startStaticServer(root);
  try {
    const names: string[] = [];
    const sizes = new Map<string, number>();
    for (let i = 0; i < COUNT; i++) {
      const name = `pkg-${String(i).padStart(3, '0')}`;
      const tarball = noise(sizeOf(i), name);
      await writeFile(join(root, 'tarballs', `${name}-1.0.0.tgz`), tarball);
      const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
      const manifest = { name, version: '1.0.0', dist: { tarball: `${server.url}/tarballs/${name}-1.0.0.tgz`, integrity } };
      await writeFile(join(root, 'registry', name), JSON.stringify({ name, 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': manifest } }));
      names.push(name);
      sizes.set(`${name}-1.0.0.tgz`, tarball.length);
    }
    const config = join(work, 'offline.yaml');
    await writeFile(config, stringify({ data: './mirrors', listen: '127.0.0.1', npm: { upstream: `${server.url}/registry/`, packages: names } }));

    const synced = await offline(['sync', '-c', config, '--json'], { timeoutMs: 600_000 });
    assert.doesNotMatch(synced.stderr, /AssertionError|internal error/, synced.stderr);
    assert.equal(synced.code, 0, `${synced.stdout}\n${synced.stderr}`);
    const report = JSON.parse(synced.stdout) as { ecosystems: Array<{ name: string; downloaded: number }> };
    assert.equal(report.ecosystems.find((e) => e.name === 'npm')!.downloaded, COUNT);

    let checked = 0;
    const storage = join(work, 'mirrors', 'npm', 'storage');
    for (const name of await readdir(storage)) {
      if (name.startsWith('.')) continue;
      const file = `${name}-1.0.0.tgz`;
      assert.equal((await stat(join(storage, name, file))).size, sizes.get(file), file);
      checked++;
    }
    assert.equal(checked, COUNT);
  } finally {
    await server.close();
  }
});
