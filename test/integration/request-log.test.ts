/**
 * The request log (docs/adr/0012) over real mirrors: every request any mirror or the https
 * listener for outside names answers is one record with its mirror, status and body bytes, hits
 * and misses alike (verdaccio's 404 too); a sink that is stuck never holds up a response — records
 * are dropped and counted instead, and the count is written where the gap is; `offline serve`
 * writes the records to stderr, and `--no-request-log` does not.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders, type RequestListener } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/ecosystems/config.ts';
import { serve, type Serving } from '../../src/core/serve.ts';
import { startMirrorServer } from '../../src/foundation/http-server.ts';
import { fdSink } from '../../src/foundation/log-batch.ts';
import { createRequestLog, type RequestLog, type RequestRecord } from '../../src/foundation/request-log.ts';
import { makeTree, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { CLI, offline } from '../helpers/offline-cli.ts';
import { makeRepos, missingTool, startMirrorServer as startPacmanUpstream, type FixtureRepos, type MirrorServer } from '../helpers/pacman-fixtures.ts';
import { makeWheel, startIndex, type FixtureIndex } from '../helpers/pypi-fixtures.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const pacmanMissing = (await Promise.all(['pacman', 'repo-add', 'bsdtar'].map(missingTool))).find(Boolean);
let work: string;
let config: string;
let npm: FixtureRegistry;
let pypi: FixtureIndex;
let pacman: MirrorServer | undefined;
let repos: FixtureRepos | undefined;
let bigWheel: string;

before(async () => {
  work = await workDir('offline-request-log-');
  npm = await startRegistry(makeTree({ packages: 30 }));
  // `big` is over 64 KiB, so it is streamed (send-file's pump) rather than sent as one buffer.
  const big = await makeWheel({ name: 'big', version: '1.0.0', files: { 'big/data.txt': randomBytes(96 * 1024).toString('base64') } });
  bigWheel = big.filename;
  pypi = await startIndex([{ name: 'app', files: [await makeWheel({ name: 'app', version: '1.0.0' })] }, { name: 'big', files: [big] }]);
  if (!pacmanMissing) {
    repos = await makeRepos(join(work, 'pacman-upstream'));
    pacman = await startPacmanUpstream(repos.dir);
  }
  const port = await claimPorts(4);
  config = join(work, 'offline.yaml');
  await writeFile(config, stringify({
    data: './mirrors', listen: '127.0.0.1',
    npm: { port, upstream: npm.url, packages: ['multi-ver@^1'] },
    pypi: { port: port + 1, upstream: pypi.url, packages: ['app', 'big'], python: ['3.12'], platforms: ['manylinux_2_17_x86_64'] },
    ...(pacman ? { pacman: { port: port + 2, upstream: `${pacman.url}/$repo/os/$arch`, packages: ['app'] } } : {}),
    docker: { port: port + 3 },
  }));
  const synced = await offline(['sync', '-c', config]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
});

after(async () => {
  await Promise.all([npm?.close(), pypi?.close(), pacman?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

type Answer = { status: number; headers: IncomingHttpHeaders; body: Buffer };
type Ask = { method?: string; headers?: Record<string, string>; host?: string; servername?: string };

/** One request on its own connection, no compression asked for: the bytes read are the bytes sent. */
function ask(url: string, opts: Ask = {}, ca?: string): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const options = { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? 'GET', agent: false as const, headers: { 'user-agent': 'request-log-test/1.0', ...(opts.host ? { host: opts.host } : {}), ...opts.headers } };
    const req = (u.protocol === 'https:' ? httpsRequest({ ...options, ca, servername: opts.servername ?? opts.host }) : httpRequest(options)).on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves with the next record `requests` makes. */
function nextRecord(requests: RequestLog): Promise<RequestRecord> {
  return new Promise((resolve) => {
    const off = requests.onRecord((record) => {
      off();
      resolve(record);
    });
  });
}

type Case = { mirror: string; url: string; opts?: Ask; status: number; path?: string; host?: string };

/** Every mirror: hits, misses, HEAD, Range, a redirect, a refused method, and the https listener. */
function cases(serving: Serving): Case[] {
  const at = (name: string) => new URL(serving.mirrors.find((m) => m.name === name)!.url).origin;
  const front = serving.front!.url.replace(/\/$/, '');
  const core = repos?.repos.core.find((p) => p.name === 'libdep');
  return [
    { mirror: 'npm', url: `${at('npm')}/multi-ver`, status: 200 },
    { mirror: 'npm', url: `${at('npm')}/multi-ver/-/multi-ver-1.1.0.tgz`, status: 200 },
    { mirror: 'npm', url: `${at('npm')}/not-mirrored-package`, status: 404 },
    { mirror: 'npm', url: `${at('npm')}/not-mirrored-package`, opts: { method: 'HEAD' }, status: 404 },
    { mirror: 'pypi', url: `${at('pypi')}/simple/`, status: 200 },
    { mirror: 'pypi', url: `${at('pypi')}/simple/app/`, opts: { headers: { accept: 'application/vnd.pypi.simple.v1+json' } }, status: 200 },
    { mirror: 'pypi', url: `${at('pypi')}/simple/App`, status: 301 },
    { mirror: 'pypi', url: `${at('pypi')}/files/big/${bigWheel}`, status: 200 },
    { mirror: 'pypi', url: `${at('pypi')}/files/big/${bigWheel}`, opts: { method: 'HEAD' }, status: 200 },
    { mirror: 'pypi', url: `${at('pypi')}/files/big/${bigWheel}`, opts: { headers: { range: 'bytes=100-70099' } }, status: 206 },
    { mirror: 'pypi', url: `${at('pypi')}/simple/not-mirrored/`, status: 404 },
    { mirror: 'pypi', url: `${at('pypi')}/simple/${'a'.repeat(3000)}/`, status: 404, path: `/simple/${'a'.repeat(503)}…` },
    ...(pacman ? [
      { mirror: 'pacman', url: `${at('pacman')}/core/os/x86_64/core.db`, status: 200 },
      { mirror: 'pacman', url: `${at('pacman')}/core/os/x86_64/${core!.filename}`, status: 200 },
      { mirror: 'pacman', url: `${at('pacman')}/core/os/x86_64/not-mirrored-1.0-1-x86_64.pkg.tar.zst`, status: 404 },
    ] : []),
    { mirror: 'docker', url: `${at('docker')}/v2/`, status: 200 },
    { mirror: 'docker', url: `${at('docker')}/v2/library/not-mirrored/manifests/latest`, status: 404 },
    { mirror: 'docker', url: `${at('docker')}/v2/`, opts: { method: 'POST' }, status: 405 },
    // The registry names reach verdaccio through the https listener: recorded once, by the listener.
    { mirror: 'npm', url: `${front}/-/ping`, opts: { host: 'registry.npmjs.org' }, status: 200, host: 'registry.npmjs.org' },
    { mirror: 'npm', url: `${front}/multi-ver`, opts: { host: 'registry.yarnpkg.com' }, status: 200, host: 'registry.yarnpkg.com' },
    { mirror: 'npm', url: `${front}/not-mirrored-package`, opts: { host: 'registry.npmjs.org' }, status: 404, host: 'registry.npmjs.org' },
    { mirror: 'npm', url: `${front}/not-mirrored/tar.gz/0000000000000000000000000000000000000000`, opts: { host: 'codeload.github.com' }, status: 404, host: 'codeload.github.com' },
    { mirror: 'front', url: `${front}/`, opts: { host: 'www.example.org', servername: 'codeload.github.com' }, status: 421, host: 'www.example.org' },
    // Last, and plain: a record made twice for any request above would show up as this one's.
    { mirror: 'docker', url: `${at('docker')}/v2/`, status: 200 },
  ];
}

function expectedBytes(c: Case, answer: Answer): number {
  return c.opts?.method === 'HEAD' ? 0 : answer.body.length;
}

// A watchdog, not a measurement: were a response to wait on the log, the test would hang.
const WATCHDOG = { timeout: 120_000 };

test('every request a mirror answers is one record: its mirror, method, path, status and body bytes', WATCHDOG, async (t) => {
  if (pacmanMissing) t.diagnostic(`pacman is not covered: ${pacmanMissing}`);
  const lines: string[] = [];
  const requests = createRequestLog({ sink: async (text) => void lines.push(text) });
  const all: RequestRecord[] = [];
  requests.onRecord((r) => all.push(r));
  const serving = await serve({ config: await loadConfig(config), host: '127.0.0.1', ports: 'ephemeral', requests });
  try {
    assert.ok(serving.front, serving.notes.join('\n'));
    const ca = await readFile(join(work, 'mirrors/tls/ca.crt'), 'utf8');
    const list = cases(serving);
    for (const c of list) {
      const next = nextRecord(requests);
      const answer = await ask(c.url, c.opts, ca);
      const record = await next;
      const what = `${c.opts?.method ?? 'GET'} ${c.url}`;
      assert.equal(answer.status, c.status, what);
      assert.equal(record.mirror, c.mirror, what);
      assert.equal(record.status, answer.status, what);
      assert.equal(record.method, c.opts?.method ?? 'GET', what);
      assert.equal(record.path, c.path ?? new URL(c.url).pathname, what);
      assert.equal(record.bytes, expectedBytes(c, answer), what);
      assert.equal(record.host, c.host, what);
      assert.equal(record.ua, 'request-log-test/1.0', what);
      assert.equal(record.aborted, undefined, what);
      assert.ok(record.ms >= 0, what);
    }
    assert.ok(list.some((c) => c.opts?.headers?.range) && all.some((r) => r.status === 206 && r.bytes === 70_000), 'a Range answer counts the bytes of the range');
    assert.equal(all.length, list.length, 'one record per request');
    await requests.flush();
    const written = lines.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(written.length, list.length, 'one line per record');
    written.forEach((line, i) => {
      const { time, level, msg, ...fields } = line;
      assert.equal(msg, 'request');
      assert.equal(level, 'info');
      assert.ok(!Number.isNaN(Date.parse(time as string)));
      assert.deepEqual(fields, { ...all[i] });
    });
  } finally {
    await serving.close();
  }
});

test('a sink that does not keep up never holds up a response: records are dropped, counted, and the count is written', WATCHDOG, async () => {
  const batches: string[] = [];
  let release: () => void = () => undefined;
  const stuck = new Promise<void>((resolve) => { release = resolve; });
  // The first batch is written only when the test says; everything after it must wait or go.
  const requests = createRequestLog({ sink: (text) => { batches.push(text); return batches.length === 1 ? stuck : Promise.resolve(); }, batchBytes: 1, maxPendingBytes: 2048 });
  let recorded = 0;
  requests.onRecord(() => recorded++);
  const serving = await serve({ config: await loadConfig(config), host: '127.0.0.1', ports: 'ephemeral', requests });
  const pypiUrl = new URL(serving.mirrors.find((m) => m.name === 'pypi')!.url).origin;
  const whole = await ask(`${pypiUrl}/files/big/${bigWheel}`);
  try {
    const rounds = 40;
    for (let i = 0; i < rounds; i++) {
      const [file, miss] = await Promise.all([ask(`${pypiUrl}/files/big/${bigWheel}`), ask(`${pypiUrl}/simple/not-mirrored-${i}/`)]);
      assert.equal(file.status, 200);
      assert.deepEqual(file.body, whole.body, 'served whole while the log is stuck');
      assert.equal(miss.status, 404);
    }
    const made = 1 + rounds * 2;
    assert.equal(batches.length, 1, 'the sink is still writing its first batch');
    assert.ok(requests.dropped > 0, 'records were dropped');
    assert.ok(requests.dropped < made);
    while (recorded < made) await nextRecord(requests);
    release();
    await requests.flush();
    const lines = batches.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const notices = lines.filter((l) => l.msg === 'log records dropped');
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.dropped, requests.dropped);
    assert.equal(lines.filter((l) => l.msg === 'request').length + requests.dropped, made, 'every record is written or counted');
  } finally {
    release();
    await serving.close();
  }
});

test('a download the client abandons is recorded once, as aborted, with the bytes sent', async () => {
  const requests = createRequestLog();
  let respond: () => void = () => undefined;
  const handler: RequestListener = (_req, res) => {
    res.writeHead(200, { 'content-length': '1000000' });
    res.write(Buffer.alloc(1000), () => respond());
  };
  const server = await startMirrorServer('test', { host: '127.0.0.1', port: 0, requests }, handler, '/');
  try {
    const next = nextRecord(requests);
    const wrote = new Promise<void>((resolve) => { respond = resolve; });
    const req = httpRequest(`${server.url}file`, { agent: false });
    req.on('response', async (res) => {
      await wrote;
      res.destroy();
    });
    req.on('error', () => undefined);
    req.end();
    const record = await next;
    assert.deepEqual({ mirror: record.mirror, status: record.status, bytes: record.bytes, aborted: record.aborted, path: record.path }, { mirror: 'test', status: 200, bytes: 1000, aborted: true, path: '/file' });
  } finally {
    await server.close();
  }
});

test('a HEAD answer counts no body bytes, even from a handler that writes one (Node does not send it)', async () => {
  const requests = createRequestLog();
  const server = await startMirrorServer('test', { host: '127.0.0.1', port: 0, requests }, (_req, res) => res.end('a body HEAD never carries'), '/');
  try {
    const next = nextRecord(requests);
    const answer = await ask(server.url, { method: 'HEAD' });
    assert.equal(answer.body.length, 0);
    assert.equal((await next).bytes, 0);
  } finally {
    await server.close();
  }
});

test('fdSink writes every line whole, in order, however the batch is cut', async () => {
  const file = join(work, 'sink.log');
  const fd = openSync(file, 'a');
  try {
    const sink = fdSink(fd);
    const lines = Array.from({ length: 500 }, (_, i) => `${JSON.stringify({ i, pad: 'x'.repeat(i % 7 === 0 ? 5000 : i) })}\n`);
    await sink(lines.slice(0, 250).join(''));
    await sink(lines.slice(250).join(''));
    assert.equal(readFileSync(file, 'utf8'), lines.join(''));
  } finally {
    closeSync(fd);
  }
});

/** `offline serve` with a pypi-only config until it prints its endpoints; stderr collected. */
async function serveCli(args: string[]): Promise<{ url: string; stop(): Promise<string> }> {
  const dir = await workDir('offline-request-log-cli-');
  // Present before serving: started by root, serve checks that the mirrors' user can read it.
  await mkdir(join(dir, 'm'), { mode: 0o755 });
  await writeFile(join(dir, 'offline.yaml'), `data: ./m\nlisten: 127.0.0.1\npypi: { port: ${await claimPorts()} }\n`);
  const child = spawn(process.execPath, [CLI, 'serve', '--json', ...args], { cwd: dir, env: { ...process.env, OFFLINE_CONFIG: '' } });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const first = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    void exited.then(() => reject(new Error(`serve exited: ${out}${err}`)));
  });
  const { serving } = JSON.parse(first) as { serving: Array<{ url: string }> };
  return {
    url: new URL(serving[0]!.url).origin,
    async stop() {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, err);
      await rm(dir, { recursive: true, force: true });
      return err;
    },
  };
}

test('offline serve writes a JSON line per request to stderr; --no-request-log does not', async () => {
  const logged = await serveCli([]);
  assert.equal((await ask(`${logged.url}/simple/`)).status, 200);
  assert.equal((await ask(`${logged.url}/simple/not-mirrored/`)).status, 404);
  const stderr = await logged.stop();
  const records = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(records.map((r) => [r.msg, r.mirror, r.path, r.status]), [['request', 'pypi', '/simple/', 200], ['request', 'pypi', '/simple/not-mirrored/', 404]]);

  const quiet = await serveCli(['--no-request-log']);
  assert.equal((await ask(`${quiet.url}/simple/not-mirrored/`)).status, 404);
  assert.equal(await quiet.stop(), '');
});
