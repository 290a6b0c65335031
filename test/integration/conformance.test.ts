/**
 * The conformance suite every mirror passes (as distribution runs one suite against every storage
 * driver): a second sync downloads nothing; a file whose digest does not match is refused with a
 * typed error carrying both digests; an unreachable upstream is a typed error, not a crash; and
 * an item that was not mirrored is a 404 at once. Each ecosystem plugs in an adapter.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/ecosystems/config.ts';
import { serve } from '../../src/core/serve.ts';
import { makeTree, startRegistry as startNpm } from '../helpers/npm-fixtures.ts';
import { makeFixtureImages } from '../helpers/oci-images.ts';
import { pushImages, startRegistry as startOci } from '../helpers/oci-registry.ts';
import { offline } from '../helpers/offline-cli.ts';
import { makeRepos, missingTool, startMirrorServer } from '../helpers/pacman-fixtures.ts';
import { makeFixtureIndex, startIndex } from '../helpers/pypi-fixtures.ts';
import { run } from '../helpers/run.ts';
import { claimPorts } from '../helpers/ports.ts';

type Upstream = { section: Record<string, unknown>; close(): Promise<void> };

/** What the suite needs from an ecosystem: an upstream (optionally corrupting one file), and names. */
type Adapter = {
  name: 'npm' | 'pypi' | 'pacman' | 'docker';
  missing?: string;
  upstream(corrupt: boolean): Promise<Upstream>;
  /** The config section pointing at a closed port. */
  unreachable(url: string): Record<string, unknown>;
  /** The failure item the corrupted file is reported under. */
  corruptItem: RegExp;
  /** A path on the served mirror for something not mirrored. */
  missingPath: string;
};

const work = await mkdtemp(join(tmpdir(), 'offline-conformance-'));
after(() => rm(work, { recursive: true, force: true }));

const npmTree = makeTree({ packages: 30 });
const pypiProjects = await makeFixtureIndex();
const pacmanMissing = (await Promise.all(['pacman', 'repo-add', 'bsdtar'].map(missingTool))).find(Boolean);
const pacmanRepos = pacmanMissing ? undefined : await makeRepos(join(work, 'pacman-upstream'));
const ociMissing = (await run('sh', ['-c', 'command -v skopeo && command -v docker-registry'])).code === 0 ? undefined : 'skopeo or docker-registry is not installed';

const adapters: Adapter[] = [
  {
    name: 'npm',
    async upstream(corrupt) {
      const r = await startNpm(npmTree, corrupt ? { corrupt: ['multi-ver@1.1.0'] } : {});
      return { section: { upstream: r.url, packages: ['multi-ver@^1', '@fx/core'] }, close: () => r.close() };
    },
    unreachable: (url) => ({ upstream: url, packages: ['@fx/core'] }),
    corruptItem: /^multi-ver@1\.1\.0$/,
    missingPath: '/not-mirrored-package',
  },
  {
    name: 'pypi',
    async upstream(corrupt) {
      const r = await startIndex(pypiProjects, corrupt ? { corrupt: ['lib-1.5.0-py3-none-any.whl'] } : {});
      return { section: { upstream: r.url, packages: ['app'], python: ['3.11'], platforms: ['manylinux_2_28_x86_64'] }, close: () => r.close() };
    },
    unreachable: (url) => ({ upstream: `${url}/simple/`, packages: ['app'], python: ['3.11'], platforms: ['manylinux_2_28_x86_64'] }),
    corruptItem: /^lib-1\.5\.0-py3-none-any\.whl$/,
    missingPath: '/simple/not-mirrored/',
  },
  {
    name: 'pacman',
    missing: pacmanMissing,
    async upstream(corrupt) {
      const libdep = pacmanRepos!.repos.core.find((p) => p.name === 'libdep')!.filename;
      const r = await startMirrorServer(pacmanRepos!.dir, corrupt ? { corrupt: [libdep] } : {});
      return { section: { upstream: `${r.url}/$repo/os/$arch`, packages: ['app'] }, close: () => r.close() };
    },
    unreachable: (url) => ({ upstream: `${url}/$repo/os/$arch`, packages: ['app'] }),
    corruptItem: /^core\/libdep 2\.1-1 \(x86_64\)$/,
    missingPath: '/core/os/x86_64/not-mirrored-1.0-1-x86_64.pkg.tar.zst',
  },
  {
    name: 'docker',
    missing: ociMissing,
    async upstream(corrupt) {
      const registry = await startOci(join(work, `oci-${corrupt}`));
      const fixtures = await makeFixtureImages(join(work, `images-${corrupt}`));
      await pushImages(registry.host, fixtures, join(work, `skopeo-${corrupt}`));
      const victim = fixtures.single.layers.at(-1)!.digest;
      const proxy = createServer(async (req, res) => {
        const up = await request(`${registry.url}${req.url}`, { headers: { accept: req.headers.accept ?? '*/*' } });
        const body = Buffer.from(await up.body.arrayBuffer());
        if (corrupt && req.url!.endsWith(victim)) body[0] = body[0]! ^ 0xff;
        res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/octet-stream') }).end(body);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      return {
        section: { images: ['fixture.test/fixtures/single:1.0'], registries: { 'fixture.test': url } },
        close: async () => { proxy.close(); await registry.close(); },
      };
    },
    unreachable: (url) => ({ images: ['fixture.test/fixtures/single:1.0'], registries: { 'fixture.test': url } }),
    corruptItem: /^fixture\.test\/fixtures\/single:1\.0 sha256:/,
    missingPath: '/v2/library/not-mirrored/manifests/latest',
  },
];

async function configFor(name: Adapter['name'], section: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(work, `${name}-`));
  const port = await claimPorts(4);
  const sections: Record<Adapter['name'], Record<string, unknown>> = { npm: { port }, pypi: { port: port + 1 }, pacman: { port: port + 2 }, docker: { port: port + 3 } };
  sections[name] = { ...sections[name], ...section };
  const file = join(dir, 'offline.yaml');
  await writeFile(file, stringify({ data: './mirrors', listen: '127.0.0.1', ...sections }));
  return file;
}

async function syncJson(file: string, extra: string[] = []): Promise<{ code: number | null; report: { ok: boolean; ecosystems: Array<{ name: string; downloaded: number; present: number }>; failures: Array<Record<string, string>> } }> {
  const r = await offline(['sync', '-c', file, '--json', ...extra]);
  assert.doesNotMatch(r.stderr, /internal error/, r.stderr);
  return { code: r.code, report: JSON.parse(r.stdout) };
}

for (const adapter of adapters) {
  describe(`${adapter.name} mirror conformance`, () => {
    test('a second sync downloads nothing; a missing item is a 404 at once', async (t) => {
      if (adapter.missing) return t.skip(adapter.missing);
      const upstream = await adapter.upstream(false);
      try {
        const file = await configFor(adapter.name, upstream.section);
        const first = await syncJson(file);
        assert.equal(first.code, 0, JSON.stringify(first.report.failures));
        const mine = (r: typeof first.report) => r.ecosystems.find((e) => e.name === adapter.name)!;
        assert.ok(mine(first.report).downloaded > 0);
        const second = await syncJson(file);
        assert.equal(second.code, 0);
        assert.equal(mine(second.report).downloaded, 0);
        assert.ok(mine(second.report).present > 0);

        const serving = await serve({ config: await loadConfig(file), host: '127.0.0.1', ports: 'ephemeral' });
        try {
          const base = new URL(serving.mirrors.find((m) => m.name === adapter.name)!.url.replace('$repo/os/$arch', ''));
          const started = performance.now();
          const res = await request(`${base.origin}${adapter.missingPath}`);
          await res.body.dump();
          assert.equal(res.statusCode, 404);
          assert.ok(performance.now() - started < 3000, 'never waits on an upstream');
        } finally {
          await serving.close();
        }
      } finally {
        await upstream.close();
      }
    });

    test('a file whose digest does not match is refused with a typed error and both digests', async (t) => {
      if (adapter.missing) return t.skip(adapter.missing);
      const upstream = await adapter.upstream(true);
      try {
        const { code, report } = await syncJson(await configFor(adapter.name, upstream.section));
        assert.equal(code, 1);
        const failure = report.failures.find((f) => adapter.corruptItem.test(f.item!));
        assert.ok(failure, JSON.stringify(report.failures));
        assert.equal(failure.code, 'OFFLINE_ERR_INTEGRITY');
        assert.match(failure.expected!, /^sha(256|512)-/);
        assert.match(failure.actual!, /^sha(256|512)-/);
        assert.notEqual(failure.expected, failure.actual);
      } finally {
        await upstream.close();
      }
    });

    test('an unreachable upstream is a typed error, not a crash or a hang', async (t) => {
      if (adapter.missing) return t.skip(adapter.missing);
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
      closed.close();
      const { code, report } = await syncJson(await configFor(adapter.name, adapter.unreachable(url)), ['--retries', '0']);
      assert.equal(code, 1);
      assert.ok(report.failures.length > 0);
      assert.ok(report.failures.some((f) => f.code === 'OFFLINE_ERR_UPSTREAM'), JSON.stringify(report.failures));
    });
  });
}
