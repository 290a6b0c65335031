import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/ecosystems/config.ts';
import { resolveSpecs } from '../../src/ecosystems/npm/resolve.ts';
import { resolveUpstream } from '../../src/ecosystems/npm/upstream.ts';
import type { Manifest, Packument } from '../../src/ecosystems/npm/packument.ts';

type Deps = Partial<Pick<Manifest, 'dependencies' | 'optionalDependencies' | 'peerDependencies'>>;

function registry(defs: Record<string, Record<string, Deps>>, tags: Record<string, Record<string, string>> = {}) {
  const asked: string[] = [];
  const get = async (name: string): Promise<Packument | undefined> => {
    asked.push(name);
    const versions = defs[name];
    if (!versions) return undefined;
    const all = Object.keys(versions);
    return {
      name,
      'dist-tags': tags[name] ?? { latest: all.at(-1)! },
      versions: Object.fromEntries(all.map((v) => [v, { name, version: v, dist: { tarball: `http://r/${name}/-/x-${v}.tgz` }, ...versions[v] }])),
    };
  };
  return { get, asked };
}

test('specs resolve to their whole closure: deps, optional platform deps and peers', async () => {
  const { get } = registry({
    app: { '1.0.0': { dependencies: { lib: '^1.0.0' }, peerDependencies: { react: '>=17' } }, '2.0.0': {} },
    lib: { '1.0.0': {}, '1.2.0': { optionalDependencies: { '@fx/bin-linux-x64': '1.0.0', '@fx/bin-darwin-arm64': '1.0.0' } }, '2.0.0': {} },
    '@fx/bin-linux-x64': { '1.0.0': {} },
    '@fx/bin-darwin-arm64': { '1.0.0': {} },
    react: { '17.0.0': {}, '18.2.0': {} },
  });
  const r = await resolveSpecs(['app@^1'], get);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.wanted.map((w) => `${w.name}@${w.version}`).sort(), [
    '@fx/bin-darwin-arm64@1.0.0', '@fx/bin-linux-x64@1.0.0', 'app@1.0.0', 'lib@1.2.0', 'react@18.2.0',
  ]);
});

test('tags, scoped names and npm: aliases resolve; git and file specs are notes, not crashes', async () => {
  const { get } = registry({
    '@s/a': { '1.0.0': {}, '2.0.0-rc.1': { dependencies: { real: 'npm:other@^1', g: 'github:u/r', f: 'file:../f' } } },
    other: { '1.0.0': {}, '1.5.0': {} },
  }, { '@s/a': { latest: '1.0.0', next: '2.0.0-rc.1' } });
  const r = await resolveSpecs(['@s/a@next', '@s/a'], get);
  assert.deepEqual(r.wanted.map((w) => `${w.name}@${w.version}`).sort(), ['@s/a@1.0.0', '@s/a@2.0.0-rc.1', 'other@1.5.0']);
  assert.deepEqual(r.unmirrorable.map((u) => u.kind).sort(), ['file', 'git']);
  assert.deepEqual(r.problems, []);
});

test('an unsatisfiable range names the package, the range and the chain; optional ones are flagged', async () => {
  const { get } = registry({
    app: { '1.0.0': { dependencies: { lib: '^9.0.0' }, optionalDependencies: { gone: '1' } } },
    lib: { '1.0.0': {} },
  });
  const r = await resolveSpecs(['app', 'nope@1'], get);
  const messages = r.problems.map((p) => `${p.optional ? 'optional ' : ''}${p.item}: ${p.message}`).sort();
  assert.equal(messages.length, 3);
  assert.match(messages[0]!, /^app@1\.0\.0 → lib@\^9\.0\.0: lib has no version matching "\^9\.0\.0"/);
  assert.match(messages[1]!, /^npm\.packages\[1\] "nope@1": nope is not on the upstream registry/);
  assert.match(messages[2]!, /^optional app@1\.0\.0 → gone@1: gone is not on the upstream registry/);
});

test('each packument is asked for once however many ranges name it', async () => {
  const { get, asked } = registry({
    a: { '1.0.0': { dependencies: { c: '^1' } } },
    b: { '1.0.0': { dependencies: { c: '^1.0.0' } } },
    c: { '1.0.0': {} },
  });
  const cached = new Map<string, Promise<Packument | undefined>>();
  const once = (n: string) => cached.get(n) ?? (cached.set(n, get(n)), cached.get(n)!);
  await resolveSpecs(['a', 'b'], once);
  assert.deepEqual([...asked].sort(), ['a', 'b', 'c']);
});

test('when npm cannot say which registry it uses, the public one is used and the sync says why', async () => {
  const saved = { PATH: process.env.PATH, a: process.env.npm_config_registry, b: process.env.NPM_CONFIG_REGISTRY };
  const empty = await mkdtemp(join(tmpdir(), 'no-npm-'));
  process.env.PATH = empty;
  delete process.env.npm_config_registry;
  delete process.env.NPM_CONFIG_REGISTRY;
  try {
    const config = await parseConfig('', join(empty, 'offline.yaml'), {});
    const resolved = await resolveUpstream(config);
    assert.equal(resolved.url, 'https://registry.npmjs.org/');
    assert.match(resolved.why ?? '', /`npm config get registry` cannot run: npm is not installed/);
    assert.deepEqual(await resolveUpstream({ ...config, npm: { ...config.npm, upstream: 'http://127.0.0.1:1/' } }), { url: 'http://127.0.0.1:1/' });
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.a !== undefined) process.env.npm_config_registry = saved.a;
    if (saved.b !== undefined) process.env.NPM_CONFIG_REGISTRY = saved.b;
  }
});
