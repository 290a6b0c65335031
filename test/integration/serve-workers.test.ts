/**
 * `offline serve --workers 2`, as a user runs it: two worker processes answer on the configured
 * ports; every request is one line of the one request log and the misses reach the one ledger;
 * a worker killed is replaced while the other answers; Ctrl-C (SIGTERM) stops them all with the
 * last lines written; a port in use stops the start with the same message as one process gives.
 * Run as root (CI), every process serves as nobody; when every worker has died and none can be
 * started again, serve says so and exits 1.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { readLedger } from '../../src/engine/misses.ts';
import { CLI, offline } from '../helpers/offline-cli.ts';
import { claimPorts } from '../helpers/ports.ts';
import { makeWheel, startIndex, type FixtureIndex } from '../helpers/pypi-fixtures.ts';
import { run } from '../helpers/run.ts';
import { workDir } from '../helpers/work-dir.ts';

let work: string;
let file: string;
let port: number;
let index: FixtureIndex;
let wheel: string;

before(async () => {
  work = await workDir('offline-serve-workers-');
  const made = await makeWheel({ name: 'app', version: '1.0.0' });
  wheel = made.filename;
  index = await startIndex([{ name: 'app', files: [made] }]);
  port = await claimPorts(2);
  file = join(work, 'offline.yaml');
  await writeFile(file, stringify({
    data: './mirrors', listen: '127.0.0.1',
    pypi: { port, upstream: index.url, packages: ['app'], python: ['3.12'], platforms: ['manylinux_2_17_x86_64'] },
    npm: { port: port + 1 },
  }));
  const synced = await offline(['sync', '-c', file]);
  assert.equal(synced.code, 0, synced.stdout + synced.stderr);
});

after(async () => {
  await index?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

type Serving = { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> };

function startServe(args: string[]): Serving {
  const child = spawn(process.execPath, [CLI, 'serve', '-c', file, '--json', '--no-controller', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function serving(s: Serving): Promise<{ workers: number; uid: number }> {
  for (let i = 0; i < 300 && !s.stdout().includes('"serving"') && s.child.exitCode === null; i++) await sleep(100);
  const line = s.stdout().split('\n').find((l) => l.includes('"serving"'));
  assert.ok(line, `offline serve did not start:\n${s.stdout()}${s.stderr()}`);
  return JSON.parse(line) as { workers: number; uid: number };
}

/** The pids whose parent is `pid`. */
async function children(pid: number): Promise<number[]> {
  const r = await run('pgrep', ['-P', String(pid)]);
  return r.stdout.split('\n').filter(Boolean).map(Number).sort();
}

async function uidOf(pid: number): Promise<number> {
  return Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** `n` GETs of `path`, each on its own connection (so both workers take some). */
async function getEach(path: string, n: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return res.status;
  }));
}

/** GET https://<name><path> from the https listener on 127.0.0.1:443, verified against `ca`. */
function httpsStatus(name: string, path: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: 443, servername: name, headers: { host: name }, path, ca, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`https://${name}${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

const requestLines = (stderr: string, path: string) => stderr.split('\n').filter((l) => l.includes('"msg":"request"') && l.includes(`"path":"${path}"`));

test('two workers serve every request once in the one request log, survive a killed worker, and stop together', async () => {
  const s = startServe(['--workers', '2']);
  try {
    const started = await serving(s);
    assert.equal(started.workers, 2);
    const workers = await children(s.child.pid!);
    assert.equal(workers.length, 2, `the workers of serve: ${workers.join(' ')}`);
    if (process.getuid?.() === 0) {
      for (const pid of [s.child.pid!, ...workers]) assert.equal(await uidOf(pid), 65534, `pid ${pid} serves as nobody`);
    }

    const file = `/files/app/${wheel}`;
    assert.deepEqual(new Set(await getEach(file, 40)), new Set([200]));
    assert.deepEqual(new Set(await getEach('/simple/nothing-here/', 3)), new Set([404]));
    for (let i = 0; i < 50 && requestLines(s.stderr(), file).length < 40; i++) await sleep(100);
    assert.equal(requestLines(s.stderr(), file).length, 40, 'one request line per request, whichever worker answered');

    // One worker killed: once serve has seen it go (a connection handed to it just before is
    // lost, as with any crash), the other answers, and another takes its place.
    process.kill(workers[0]!, 'SIGKILL');
    for (let i = 0; i < 100 && !/a serve worker exited; starting another/.test(s.stderr()); i++) await sleep(50);
    assert.deepEqual(new Set(await getEach(file, 10)), new Set([200]));
    let now: number[] = [];
    for (let i = 0; i < 100; i++) {
      now = await children(s.child.pid!);
      if (now.length === 2 && !now.includes(workers[0]!)) break;
      await sleep(100);
    }
    assert.equal(now.length, 2, `workers after one was killed: ${now.join(' ')}`);
    assert.ok(!now.includes(workers[0]!));
    assert.deepEqual(new Set(await getEach(file, 10)), new Set([200]));
    if (process.getuid?.() === 0) {
      // Root serves the outside names on 443. The replacements were started by a primary that no
      // longer is root, and cannot read the key: they answer with the certificate it handed them.
      // Once the replacement serves: were every worker gone at once, node's cluster would close
      // the ports, and a primary that is no longer root cannot open 443 again.
      const replaced = now.find((pid) => !workers.includes(pid))!;
      for (let i = 0; i < 100 && !s.stderr().includes(`"msg":"a new serve worker serves","pid":${replaced}`); i++) await sleep(100);
      assert.match(s.stderr(), new RegExp(`"a new serve worker serves","pid":${replaced}`));
      process.kill(workers[1]!, 'SIGKILL');
      for (let i = 0; i < 100; i++) {
        now = await children(s.child.pid!);
        if (now.length === 2 && !now.includes(workers[1]!)) break;
        await sleep(100);
      }
      assert.equal(now.length, 2, `workers after the second was killed: ${now.join(' ')}`);
      assert.ok(now.includes(replaced) && now.every((pid) => !workers.includes(pid)), 'only replacements are left');
      const ca = await readFile(join(work, 'mirrors', 'tls', 'ca.crt'), 'utf8');
      for (let i = 0; i < 4; i++) assert.equal(await httpsStatus('registry.npmjs.org', '/-/ping', ca), 200);
    }

    // Ctrl-C: every process ends, the last lines and misses written.
    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0, s.stderr());
    for (const pid of now) assert.equal(await run('kill', ['-0', String(pid)]).then((r) => r.code), 1, `worker ${pid} is gone`);
    assert.equal(requestLines(s.stderr(), file).length, 60);
    const ledger = await readLedger(join(work, 'mirrors'), ['pypi']);
    assert.equal(ledger.find((m) => m.item === 'nothing-here')?.count, 3, JSON.stringify(ledger));
  } finally {
    if (s.child.exitCode === null) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  }
});

test('a port in use stops --workers with the message one process gives, and leaves no process behind', async () => {
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(port + 1, '127.0.0.1', resolve));
  try {
    const one = startServe([]);
    const many = startServe(['--workers', '2']);
    const [oneCode, manyCode] = await Promise.all([one.exited, many.exited]);
    const message = (s: Serving) => (JSON.parse(s.stdout().trim().split('\n').at(-1)!) as { error: { message: string } }).error.message;
    assert.equal(manyCode, oneCode);
    assert.notEqual(manyCode, 0);
    assert.equal(message(many), message(one));
    assert.match(message(many), new RegExp(`npm: cannot listen on 127\\.0\\.0\\.1:${port + 1}: the port is in use`));
    assert.deepEqual(await children(many.child.pid!), []);
  } finally {
    squatter.close();
  }
});

test('when every worker has died and none can start again, serve says so and exits 1', async (t) => {
  // Root serves as nobody: a data directory nobody can read makes every new worker fail.
  if (process.getuid?.() !== 0) return t.skip('needs root, to serve as nobody from a directory nobody can then read');
  const data = join(work, 'mirrors');
  const s = startServe(['--workers', '2']);
  try {
    await serving(s);
    const workers = await children(s.child.pid!);
    assert.equal(workers.length, 2);
    await chmod(data, 0o700);
    for (const pid of workers) process.kill(pid, 'SIGKILL');
    const code = await Promise.race([s.exited, sleep(30_000, 'still running')]);
    assert.equal(code, 1, s.stderr());
    assert.match(s.stderr(), /could not replace a serve worker.*(cannot read|EACCES)/);
    assert.match(s.stderr(), /every serve worker has exited and none could be started again/);
    assert.deepEqual(await children(s.child.pid!), []);
  } finally {
    await chmod(data, 0o755);
    if (s.child.exitCode === null) {
      s.child.kill('SIGKILL');
      await s.exited;
    }
  }
});
