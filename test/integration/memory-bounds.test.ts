/**
 * Memory stays bounded whatever an upstream or a client does. A 600 MiB packument, project page,
 * OCI manifest or pacman database, and 1 MiB archives that inflate to 1 GiB (a pacman database, a
 * wheel's METADATA, an sdist searched for PKG-INFO), each fail by name while the sync's peak RSS
 * (GNU time's maximum resident set size) stays under 500 MiB. 200 clients that stall on a 200 MiB
 * blob leave `offline serve` under 300 MiB: backpressure, not buffering.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createDeflateRaw, createGzip, crc32 } from 'node:zlib';
import { Header } from 'tar';
import { stringify } from 'yaml';
import { drainedOrClosed, startFixtureServer, type FixtureServer } from '../helpers/fixture-server.ts';
import { noise } from '../helpers/oci-images.ts';
import { CLI } from '../helpers/offline-cli.ts';
import { run } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const MiB = 1024 * 1024;
const TIME = '/usr/bin/time';
const timeMissing = (await run('sh', ['-c', `test -x ${TIME}`])).code === 0 ? undefined : `${TIME} (GNU time, Debian package "time") is not installed`;

let work: string;
before(async () => {
  work = await workDir('offline-memory-');
});

type Report = { failures: Array<{ ecosystem: string; item: string; code: string; message: string }> };

/** `offline sync --json` under GNU time: the report and the peak resident set in MiB. */
async function measuredSync(name: string, sections: Record<string, unknown>): Promise<{ report: Report; peakMiB: number; stderr: string }> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, stringify({ data: `./${name}-mirrors`, listen: '127.0.0.1', ...sections }));
  const r = await run(TIME, ['-f', 'maxrss-kb=%M', process.execPath, CLI, 'sync', '-c', file, '--json', '--retries', '0'], { timeoutMs: 600_000 });
  const kb = Number(/maxrss-kb=(\d+)/.exec(r.stderr)?.[1]);
  assert.ok(Number.isFinite(kb), r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|Cannot create a string|heap out of memory/, r.stderr);
  assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
  return { report: JSON.parse(r.stdout) as Report, peakMiB: kb / 1024, stderr: r.stderr };
}

function tooLarge(report: Report, ecosystem: string, item: RegExp): Report['failures'][number] {
  const failure = report.failures.find((f) => f.ecosystem === ecosystem && item.test(f.item));
  assert.ok(failure, `${ecosystem} ${item}: ${JSON.stringify(report.failures)}`);
  assert.equal(failure.code, 'OFFLINE_ERR_TOO_LARGE', JSON.stringify(failure));
  assert.match(failure.message, /larger than \d+ MiB \(limits\.(document|unpacked)\)/);
  return failure;
}

/** Stream `prefix`, then `size` bytes of `fill`, honouring backpressure; stop when the client goes. */
async function streamGiant(res: ServerResponse, type: string, prefix: string, size: number): Promise<void> {
  res.writeHead(200, { 'content-type': type });
  res.write(prefix);
  const chunk = Buffer.alloc(MiB, 'a');
  let gone = false;
  res.once('close', () => { gone = true; });
  for (let sent = 0; sent < size && !gone; sent += chunk.length) {
    if (!res.write(chunk)) await drainedOrClosed(res);
  }
  if (!gone) res.end('"}');
}

test('600 MiB documents — packument, project page, manifest, pacman database — fail by name within 500 MiB', { skip: timeMissing }, async (t) => {
  const size = 600 * MiB;
  const server = await startFixtureServer(async (req, res) => {
    const path = req.url ?? '/';
    if (path === '/npm/giant') return streamGiant(res, 'application/json', '{"name":"giant","description":"', size);
    if (path === '/simple/giant/') return streamGiant(res, 'application/vnd.pypi.simple.v1+json', '{"name":"giant","meta":"', size);
    if (path === '/core/os/x86_64/core.db') return streamGiant(res, 'application/octet-stream', '', size);
    if (path === '/v2/') return void res.end('{}');
    if (path === '/v2/giant/app/manifests/1') return streamGiant(res, 'application/vnd.oci.image.manifest.v1+json', '{"schemaVersion":2,"x":"', size);
    res.writeHead(404).end();
  });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const { report, peakMiB } = await measuredSync('giant', {
      npm: { upstream: `${base}/npm/`, packages: ['giant'] },
      pypi: { upstream: `${base}/simple/`, packages: ['giant'] },
      pacman: { upstream: `${base}/$repo/os/$arch`, repos: ['core'], packages: ['x'] },
      docker: { images: ['fixture.test/giant/app:1'], registries: { 'fixture.test': base } },
    });
    tooLarge(report, 'npm', /^giant$/);
    assert.match(tooLarge(report, 'pypi', /^pypi\.packages for /).message, /simple\/giant\//, 'names the page');
    tooLarge(report, 'pacman', /^core \(x86_64\)$/);
    tooLarge(report, 'docker', /^docker\.images\[0\] "fixture\.test\/giant\/app:1"$/);
    t.diagnostic(`peak RSS of the sync: ${peakMiB.toFixed(0)} MiB`);
    assert.ok(peakMiB < 500, `peak RSS ${peakMiB.toFixed(0)} MiB`);
  } finally {
    await server.close();
  }
});

/** Deflate (raw, for a zip member; else gzip) `prefix`, `zeros` zero bytes and `suffix`, streaming. */
async function deflated(zeros: number, opts: { raw?: boolean; prefix?: Buffer; suffix?: Buffer } = {}): Promise<Buffer> {
  const z = opts.raw ? createDeflateRaw({ level: 9 }) : createGzip({ level: 9 });
  const out: Buffer[] = [];
  z.on('data', (c: Buffer) => out.push(c));
  const ended = once(z, 'end');
  if (opts.prefix) z.write(opts.prefix);
  const chunk = Buffer.alloc(MiB);
  for (let n = 0; n < zeros; n += chunk.length) if (!z.write(chunk)) await once(z, 'drain');
  if (opts.suffix) z.write(opts.suffix);
  z.end();
  await ended;
  return Buffer.concat(out);
}

/** A wheel whose METADATA is 1 GiB of zeros, deflated: a zip made by hand, as an attacker would. */
async function bombWheel(): Promise<{ filename: string; bytes: Buffer }> {
  const size = 1024 * MiB;
  const data = await deflated(size, { raw: true });
  let crc = 0;
  const chunk = Buffer.alloc(MiB);
  for (let n = 0; n < size; n += chunk.length) crc = crc32(chunk, crc);
  const name = Buffer.from('bomb-1.0.dist-info/METADATA');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(size, 22); local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16); central.writeUInt32LE(data.length, 20); central.writeUInt32LE(size, 24); central.writeUInt16LE(name.length, 28);
  const cdOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12); end.writeUInt32LE(cdOffset, 16);
  return { filename: 'bomb-1.0-py3-none-any.whl', bytes: Buffer.concat([local, name, data, central, name, end]) };
}

/** An sdist whose first member is 1 GiB of zeros, PKG-INFO after it. */
async function bombSdist(): Promise<{ filename: string; bytes: Buffer }> {
  const header = (path: string, size: number) => {
    const block = Buffer.alloc(512);
    new Header({ path, size, mode: 0o644, type: 'File', mtime: new Date(0) }).encode(block, 0);
    return block;
  };
  const pkgInfo = Buffer.from('Metadata-Version: 2.1\nName: bomb-sdist\nVersion: 1.0\n');
  const suffix = Buffer.concat([header('bomb_sdist-1.0/PKG-INFO', pkgInfo.length), pkgInfo, Buffer.alloc(512 - pkgInfo.length), Buffer.alloc(1024)]);
  return { filename: 'bomb_sdist-1.0.tar.gz', bytes: await deflated(1024 * MiB, { prefix: header('bomb_sdist-1.0/padding', 1024 * MiB), suffix }) };
}

test('1 MiB archives inflating to 1 GiB — a pacman database, a wheel\'s METADATA, an sdist — fail by name within 500 MiB', { skip: timeMissing }, async (t) => {
  const db = await deflated(1024 * MiB);
  const wheel = await bombWheel();
  const sdist = await bombSdist();
  assert.ok(db.length < 2 * MiB && wheel.bytes.length < 2 * MiB && sdist.bytes.length < 2 * MiB, 'each bomb is small on the wire');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const page = (name: string, file: { filename: string; bytes: Buffer }) => JSON.stringify({ meta: { 'api-version': '1.1' }, name, files: [{ filename: file.filename, url: `/dl/${file.filename}`, hashes: { sha256: sha(file.bytes) } }] });
  const server = await startFixtureServer((req, res) => {
    const path = req.url ?? '/';
    const json = (body: string) => res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' }).end(body);
    if (path === '/core/os/x86_64/core.db') return void res.end(db);
    if (path === '/simple/bomb/') return void json(page('bomb', wheel));
    if (path === '/simple/bomb-sdist/') return void json(page('bomb-sdist', sdist));
    if (path === `/dl/${wheel.filename}`) return void res.end(wheel.bytes);
    if (path === `/dl/${sdist.filename}`) return void res.end(sdist.bytes);
    res.writeHead(404).end();
  });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    await writeFile(join(work, 'bomb.txt'), 'bomb\n');
    await writeFile(join(work, 'bomb-sdist.txt'), 'bomb-sdist\n');
    const { report, peakMiB } = await measuredSync('bombs', {
      pacman: { upstream: `${base}/$repo/os/$arch`, repos: ['core'], packages: ['x'] },
      pypi: { upstream: `${base}/simple/`, requirements: ['bomb.txt', 'bomb-sdist.txt'], python: ['3.12'], platforms: ['manylinux_2_17_x86_64'] },
    });
    tooLarge(report, 'pacman', /^core \(x86_64\)$/);
    assert.match(tooLarge(report, 'pypi', /bomb\.txt for /).message, /METADATA/, 'names the member');
    assert.match(tooLarge(report, 'pypi', /bomb-sdist\.txt for /).message, /bomb_sdist-1\.0\.tar\.gz/, 'names the sdist');
    t.diagnostic(`peak RSS of the sync: ${peakMiB.toFixed(0)} MiB`);
    assert.ok(peakMiB < 500, `peak RSS ${peakMiB.toFixed(0)} MiB`);
  } finally {
    await server.close();
  }
});

let blobServer: FixtureServer | undefined;
after(() => blobServer?.close());

test('200 clients stalled on a 200 MiB blob leave offline serve under 300 MiB, still answering others', async (t) => {
  const layer = noise(200 * MiB, 'slow-readers');
  const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digest(layer)] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest(layer), size: layer.length }],
  }));
  blobServer = await startFixtureServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/v2/') return void res.end('{}');
    if (path === '/v2/big/app/manifests/1') return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
    if (path.endsWith(digest(config))) return void res.end(config);
    if (path.endsWith(digest(layer))) return void res.end(layer);
    res.writeHead(404).end();
  });
  const port = await claimPorts(4);
  const file = join(work, 'slow.yaml');
  await writeFile(file, stringify({ data: './slow-mirrors', listen: '127.0.0.1', npm: { port: port + 1 }, pypi: { port: port + 2 }, pacman: { port: port + 3 }, docker: { port, images: ['fixture.test/big/app:1'], registries: { 'fixture.test': `http://127.0.0.1:${blobServer.port}` } } }));
  const synced = await run(process.execPath, [CLI, 'sync', '-c', file], { timeoutMs: 300_000 });
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);

  const server = (await import('node:child_process')).spawn(process.execPath, [CLI, 'serve', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const sockets: Socket[] = [];
  let out = '';
  let errors = '';
  try {
    server.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    server.stderr!.on('data', (c: Buffer) => { errors += c.toString(); });
    for (let i = 0; i < 300 && !out.includes('serving from disk'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(out, /serving from disk/);
    const idleKb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(await readFile(`/proc/${server.pid}/status`, 'utf8'))?.[1]);
    t.diagnostic(`peak RSS of offline serve before the downloads: ${(idleKb / 1024).toFixed(0)} MiB`);
    const path = `/v2/fixture.test/big/app/blobs/${digest(layer)}`;
    for (let i = 0; i < 200; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      socket.pause(); // a client that never reads: the kernel's buffers fill, then the server's
      sockets.push(socket);
    }
    await new Promise((r) => setTimeout(r, 5000));
    const ping = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(ping.status, 200, 'still answering while 200 downloads stall');
    const status = await readFile(`/proc/${server.pid}/status`, 'utf8');
    const peakKb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]);
    t.diagnostic(`peak RSS of offline serve with 200 stalled downloads: ${(peakKb / 1024).toFixed(0)} MiB`);
    assert.ok(peakKb / 1024 < 300, `peak RSS of offline serve: ${(peakKb / 1024).toFixed(0)} MiB`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const crashed = server.exitCode;
    if (crashed === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    assert.equal(crashed, null, `offline serve exited while clients hung up: ${errors}`);
  }
  // 200 clients that hung up mid-download are not 200 stack traces (ERR_STREAM_PREMATURE_CLOSE):
  // stderr holds the request log (docs/adr/0012) and nothing else.
  const request = (line: string) => {
    try {
      return (JSON.parse(line) as { msg?: string }).msg === 'request';
    } catch {
      return false;
    }
  };
  const other = errors.split('\n').filter((line) => line && !request(line));
  assert.deepEqual(other, [], errors);
});
