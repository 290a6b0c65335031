/**
 * The pacman mirror end to end: `offline sync` from a local upstream of two real repositories
 * (repo-add databases, gzip and zstd, signed packages), then `offline serve` and real pacman
 * inside a network namespace with loopback only; and the generation guarantees when a sync
 * fails or is killed half-way.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/ecosystems/config.ts';
import { serve } from '../../src/core/serve.ts';
import { installed, makeRepos, missingTool, pacmanEnv, pacmanRoot, pacmanShell, startMirrorServer, trustKey, type FixtureRepos, type MirrorServer } from '../helpers/pacman-fixtures.ts';
import { CLI, offline, serveInBackground } from '../helpers/offline-cli.ts';
import { hasNetns, inNetns } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const missing = (await Promise.all(['pacman', 'repo-add', 'bsdtar'].map(missingTool))).find(Boolean);
const netnsMissing = await hasNetns();
let work: string;
let fixtures: FixtureRepos;
let upstream: MirrorServer;

before(async () => {
  if (missing) return;
  work = await workDir('offline-pacman-');
  fixtures = await makeRepos(join(work, 'upstream'), { sign: true });
  upstream = await startMirrorServer(fixtures.dir);
});

after(async () => {
  await upstream?.close();
  if (work && !process.env.OFFLINE_TEST_KEEP) await rm(work, { recursive: true, force: true });
});

async function config(dir: string, packages: string[], server = upstream): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'offline.yaml');
  const port = await claimPorts(3);
  await writeFile(file, stringify({
    data: './mirrors', listen: '127.0.0.1',
    npm: { port: port + 1 }, pypi: { port: port + 2 },
    pacman: { port, upstream: `${server.url}/$repo/os/$arch`, repos: ['core', 'extra'], arch: ['x86_64'], packages },
  }));
  return file;
}

async function pool(dir: string): Promise<string[]> {
  const root = join(dir, 'mirrors', 'pacman', 'pool');
  const out: string[] = [];
  for (const digest of await readdir(root).catch(() => [] as string[])) out.push(...(await readdir(join(root, digest))));
  return out.sort();
}

async function current(dir: string): Promise<string | undefined> {
  return readFile(join(dir, 'mirrors', 'pacman', 'current.json'), 'utf8').then((t) => JSON.parse(t).generation as string).catch(() => undefined);
}

test('sync a few names, then real pacman installs every dependency from the mirror with no network', async (t) => {
  if (missing) return t.skip(missing);
  const dir = join(work, 'install');
  const cfg = await config(dir, ['app', 'devtools']);
  const synced = await offline(['sync', '-c', cfg]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
  const files = await pool(dir);
  assert.ok(!files.some((f) => f.startsWith('unrelated')), 'nothing outside the closure');
  assert.ok(!files.some((f) => f.startsWith('libdep-1.0')), 'libdep comes from core, the first repo');
  for (const f of files.filter((x) => x.endsWith('.pkg.tar.zst'))) assert.ok(files.includes(`${f}.sig`), `${f}.sig is served`);
  if (netnsMissing) return t.skip(`no network namespace: ${netnsMissing}`);

  const port = (await loadConfig(cfg)).pacman.port;
  const mirror = `http://127.0.0.1:${port}/$repo/os/$arch`;
  const signed = Boolean(fixtures.publicKey && fixtures.keyId);
  const root = await pacmanRoot(join(dir, 'client'), { core: mirror, extra: mirror }, { sigLevel: signed ? 'Required DatabaseOptional' : 'Never' });
  if (signed) await trustKey(root, fixtures.publicKey!, fixtures.keyId!);
  const script = [
    serveInBackground(cfg, join(dir, 'serve.log')),
    `${pacmanShell(root, '-Sy', '--noconfirm', 'app', 'devtools')} || exit 1`,
    `if ${pacmanShell(root, '-S', '--noconfirm', 'unrelated')} > '${join(dir, 'miss.log')}' 2>&1; then exit 2; fi`,
  ].join('\n');
  const result = await inNetns(script, { env: pacmanEnv(root), timeoutMs: 120_000 });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.deepEqual(Object.keys(await installed(root)).sort(), ['app', 'base-tool', 'dt-a', 'dt-b', 'foo-libs', 'glibc-like', 'libdep', 'provider-pkg']);
  assert.equal((await installed(root)).libdep, '2.1-1');
  assert.match(await readFile(join(dir, 'miss.log'), 'utf8'), /target not found: unrelated/, 'a package not mirrored fails at once, by name');
});

test('a sync that fails half-way leaves the previous generation served, whole', async (t) => {
  if (missing) return t.skip(missing);
  const dir = join(work, 'halfway');
  const first = await offline(['sync', '-c', await config(dir, ['app'])]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const before = await current(dir);
  assert.ok(before);
  const dtB = fixtures.repos.extra.find((p) => p.name === 'dt-b')!.filename;
  const broken = await startMirrorServer(fixtures.dir, { missing: [dtB] });
  try {
    const cfg = await config(dir, ['app', 'devtools'], broken);
    const second = await offline(['sync', '-c', cfg]);
    assert.equal(second.code, 1);
    assert.match(second.stdout, /dt-b .*HTTP 404/);
    assert.match(second.stdout, /generation: not published: .*previous generation is still served/);
    assert.equal(await current(dir), before, 'current.json was not switched');
    await assertServesGeneration(cfg, ['app', 'libdep'], ['dt-a', 'dt-b']);
  } finally {
    await broken.close();
  }
});

test('a sync killed with SIGKILL after the databases leaves the previous generation served; the next run finishes', async (t) => {
  if (missing) return t.skip(missing);
  const dir = join(work, 'killed');
  assert.equal((await offline(['sync', '-c', await config(dir, ['base-tool'])])).code, 0);
  const before = await current(dir);
  const slow = await startMirrorServer(fixtures.dir, { delayMs: 400 });
  try {
    const cfg = await config(dir, ['app', 'devtools'], slow);
    const child = spawn(process.execPath, [CLI, 'sync', '-c', cfg], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !slow.requests.some((r) => r.endsWith('.pkg.tar.zst')); i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(slow.requests.some((r) => r.endsWith('.db')), 'the databases were read before the kill');
    assert.equal(await current(dir), before);
    await assertServesGeneration(cfg, ['base-tool', 'glibc-like'], ['app']);
    const again = await offline(['sync', '-c', await config(dir, ['app', 'devtools'])]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.notEqual(await current(dir), before);
    await assertServesGeneration(cfg, ['app', 'dt-b'], ['unrelated']);
  } finally {
    await slow.close();
  }
});

test('a package whose sha256 does not match is refused and reported; nothing is published', async (t) => {
  if (missing) return t.skip(missing);
  const victim = fixtures.repos.core.find((p) => p.name === 'libdep')!;
  const bad = await startMirrorServer(fixtures.dir, { corrupt: [victim.filename] });
  try {
    const dir = join(work, 'corrupt');
    const synced = await offline(['sync', '-c', await config(dir, ['app'], bad)]);
    assert.equal(synced.code, 1);
    const expected = `sha256-${Buffer.from(victim.sha256, 'hex').toString('base64')}`;
    assert.ok(synced.stdout.includes(`core/libdep 2.1-1 (x86_64): integrity mismatch: expected ${expected}, got sha256-`), synced.stdout);
    assert.ok(!(await pool(dir)).includes(victim.filename));
    assert.equal(await current(dir), undefined);
  } finally {
    await bad.close();
  }
});

test('status shows repos, packages, bytes, generation and last sync', async (t) => {
  if (missing) return t.skip(missing);
  const cfg = join(work, 'install', 'offline.yaml');
  const status = JSON.parse((await offline(['status', '-c', cfg, '--json'])).stdout);
  const pacman = status.mirrors.find((m: { name: string }) => m.name === 'pacman');
  assert.deepEqual(pacman.repos.sort(), ['core/x86_64', 'extra/x86_64']);
  assert.equal(pacman.counts.packages, 8);
  assert.ok(pacman.counts.bytes > 0);
  assert.match(pacman.generation, /^\d{8}T\d+Z-[0-9a-f]{6}$/);
  assert.ok(pacman.lastSync);
});

/** The served databases list exactly the generation's packages, and every package they name is served. */
async function assertServesGeneration(cfg: string, present: string[], absent: string[]): Promise<void> {
  const serving = await serve({ config: await loadConfig(cfg), host: '127.0.0.1', ports: 'ephemeral' });
  try {
    const base = serving.mirrors.find((m) => m.name === 'pacman')!.url.replace('/$repo/os/$arch', '');
    const listed: string[] = [];
    for (const repo of ['core', 'extra']) {
      const db = await fetch(`${base}/${repo}/os/x86_64/${repo}.db`);
      assert.equal(db.status, 200);
      const entries = await dbEntries(Buffer.from(await db.arrayBuffer()));
      for (const [name, filename, sha256] of entries) {
        listed.push(name);
        const pkg = await fetch(`${base}/${repo}/os/x86_64/${filename}`);
        assert.equal(pkg.status, 200, `${filename} named by the served ${repo}.db is served`);
        assert.equal(createHash('sha256').update(Buffer.from(await pkg.arrayBuffer())).digest('hex'), sha256);
      }
    }
    for (const p of present) assert.ok(listed.includes(p), `${p} in ${listed.join(' ')}`);
    for (const a of absent) assert.ok(!listed.includes(a), `${a} not in ${listed.join(' ')}`);
  } finally {
    await serving.close();
  }
}

async function dbEntries(bytes: Buffer): Promise<Array<[string, string, string]>> {
  const { parseRepoDb } = await import('../../src/ecosystems/pacman/repo-db.ts');
  return parseRepoDb(bytes, 'served', 'served db').packages.map((p) => [p.name, p.filename, p.sha256!]);
}
