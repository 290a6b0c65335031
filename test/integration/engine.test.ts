import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { IntegrityError, LockedError, TimeLimitError, TooLargeError, UpstreamError } from '../../src/foundation/errors.ts';
import { download, PARTIAL_SUFFIX } from '../../src/engine/download.ts';
import { createHttp } from '../../src/engine/http.ts';
import { acquireLock, LOCK_FILE } from '../../src/engine/lock.ts';

const body = Buffer.alloc(200_000, 7);
const integrity = `sha512-${createHash('sha512').update(body).digest('base64')}`;
let failures = 0;
let badOnce = 0;
const seen: Array<{ url: string; range?: string }> = [];

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  seen.push({ url: req.url!, range: req.headers.range });
  if (req.url === '/flaky' && failures-- > 0) {
    res.writeHead(503, { 'retry-after': '0' }).end();
    return;
  }
  if (req.url === '/bad') {
    res.end(Buffer.alloc(10, 1));
    return;
  }
  if (req.url === '/missing') {
    res.writeHead(404).end();
    return;
  }
  if (req.url === '/once-bad' && badOnce-- > 0) {
    res.end(Buffer.alloc(body.length, 1));
    return;
  }
  if (req.url === '/stall') {
    // Headers and a first part, then nothing: a transfer that stalls without closing.
    res.writeHead(200, { 'content-length': String(body.length) });
    res.write(body.subarray(0, 1000));
    return;
  }
  if (req.url === '/big-document') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`"${'x'.repeat(5000)}"`);
    return;
  }
  const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
  if (range) {
    const start = Number(range[1]);
    res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` }).end(body.subarray(start));
    return;
  }
  res.end(body);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const http = createHttp({ retries: 3 });
after(async () => {
  await http.close();
  server.close();
});

async function dir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'engine-'));
}

test('a verified download is renamed into place; a present file is not fetched again', async () => {
  const dest = join(await dir(), 'a', 'file.tgz');
  const first = await download(http, { url: `${base}/ok`, dest, integrity, label: 'ok' }, () => {});
  assert.deepEqual(first, { status: 'downloaded', bytes: body.length });
  assert.deepEqual(await readFile(dest), body);
  assert.equal(existsSync(dest + PARTIAL_SUFFIX), false);
  const before = seen.length;
  const second = await download(http, { url: `${base}/ok`, dest, integrity, label: 'ok' }, () => {});
  assert.equal(second.status, 'present');
  assert.equal(seen.length, before);
});

test('bytes that do not match are refused with both digests and nothing is stored', async () => {
  const dest = join(await dir(), 'bad.tgz');
  const err = await download(http, { url: `${base}/bad`, dest, integrity, label: 'bad' }, () => {}).catch((e: unknown) => e);
  assert.ok(err instanceof IntegrityError);
  assert.equal(err.expected, integrity);
  assert.match(err.actual, /^sha512-/);
  assert.notEqual(err.actual, integrity);
  assert.equal(existsSync(dest), false);
  assert.equal(existsSync(dest + PARTIAL_SUFFIX), false);
});

test('503s are retried with backoff; a 404 is an UpstreamError', async () => {
  failures = 2;
  const dest = join(await dir(), 'flaky.tgz');
  const result = await download(http, { url: `${base}/flaky`, dest, integrity, label: 'flaky' }, () => {});
  assert.equal(result.status, 'downloaded');
  const err = await download(http, { url: `${base}/missing`, dest: join(await dir(), 'm'), integrity, label: 'm' }, () => {}).catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError);
  assert.equal(err.status, 404);
});

test('a partial file left by a killed sync is resumed with a Range request', async () => {
  const dest = join(await dir(), 'resume.tgz');
  await writeFile(dest + PARTIAL_SUFFIX, body.subarray(0, 50_000));
  let received = 0;
  const result = await download(http, { url: `${base}/resume`, dest, integrity, label: 'resume' }, (n) => { received += n; });
  assert.equal(result.bytes, body.length);
  assert.equal(received, body.length - 50_000);
  assert.equal(seen.at(-1)!.range, 'bytes=50000-');
  assert.deepEqual(await readFile(dest), body);
});

test('a corrupt partial file is detected after resuming and fetched again whole', async () => {
  const dest = join(await dir(), 'corrupt.tgz');
  await writeFile(dest + PARTIAL_SUFFIX, Buffer.alloc(50_000, 9));
  const result = await download(http, { url: `${base}/corrupt`, dest, integrity, label: 'corrupt' }, () => {});
  assert.equal(result.status, 'downloaded');
  assert.deepEqual(await readFile(dest), body);
});

test('the data lock refuses a live holder and is free again once it is released', async () => {
  const d = await dir();
  const release = await acquireLock(d, 'test');
  await assert.rejects(acquireLock(d, 'second'), (err: unknown) => err instanceof LockedError && new RegExp(`pid ${process.pid}`).test(err.message));
  await release();
  await release();
  const again = await acquireLock(d, 'third');
  await again();
});

const LOCK_MODULE = new URL('../../src/engine/lock.ts', import.meta.url).href;

/** A process that tries the lock, says `got` or `locked`, and holds what it got for `holdMs`. */
function contender(d: string, holdMs: number): ReturnType<typeof spawn> {
  const script = `import(${JSON.stringify(LOCK_MODULE)}).then(async (m) => {
    try { await m.acquireLock(${JSON.stringify(d)}, 'contender'); console.log('got'); setTimeout(() => {}, ${holdMs}); }
    catch (err) { console.log(err.code === 'OFFLINE_ERR_LOCKED' ? 'locked' : 'error ' + err.message); }
  })`;
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

function firstLine(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', () => resolve(out.trim()));
  });
}

test('regression: of many syncs starting at once over a stale lock, exactly one gets in', async () => {
  const d = await dir();
  const { hostname } = await import('node:os');
  // What a sync killed with -9 left behind: the old lock steal let two racers in over this.
  await writeFile(join(d, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started: 'x', command: 'dead' }));
  const children = Array.from({ length: 8 }, () => contender(d, 3000));
  const answers = await Promise.all(children.map(firstLine));
  for (const c of children) c.kill('SIGKILL');
  assert.equal(answers.filter((a) => a === 'got').length, 1, answers.join(', '));
  assert.equal(answers.filter((a) => a === 'locked').length, 7, answers.join(', '));
});

test('a holder killed with -9 leaves no lock behind', async () => {
  const d = await dir();
  const holder = contender(d, 60_000);
  assert.equal(await firstLine(holder), 'got');
  await assert.rejects(acquireLock(d, 'while held'), LockedError);
  const exited = new Promise((r) => holder.once('exit', r));
  holder.kill('SIGKILL');
  await exited;
  const release = await acquireLock(d, 'after the kill');
  await release();
});

test('one bad transfer is not yet a verdict: a digest mismatch is retried once from scratch', async () => {
  badOnce = 1;
  const before = seen.filter((r) => r.url === '/once-bad').length;
  const dest = join(await dir(), 'once-bad.tgz');
  const result = await download(http, { url: `${base}/once-bad`, dest, integrity, label: 'once-bad' }, () => {});
  assert.equal(result.status, 'downloaded');
  assert.deepEqual(await readFile(dest), body);
  assert.equal(seen.filter((r) => r.url === '/once-bad').length - before, 2);
});

test('--timeout is per file: a stalled transfer fails within it, retries included, as a typed error', async () => {
  // Stalls are retried (resumed) until the file's time is up, never past it.
  const short = createHttp({ retries: 10, idleTimeoutMs: 400, itemTimeoutMs: 1500 });
  try {
    const started = performance.now();
    const err = await download(short, { url: `${base}/stall`, dest: join(await dir(), 'stall.tgz'), integrity, label: 'stall' }, () => {}).catch((e: unknown) => e);
    assert.ok(err instanceof TimeLimitError, String(err));
    assert.match(err.message, /within 1\.5 s, retries included \(--timeout\)/);
    assert.ok(performance.now() - started < 1500 + 2000, 'ends at the file\'s time limit, not after every retry');
  } finally {
    await short.close();
  }
});

test('a document larger than its limit is refused without being read whole', async () => {
  const small = createHttp({ retries: 0, maxDocumentBytes: 1024 });
  try {
    await assert.rejects(small.getJson(`${base}/big-document`), (err: unknown) => err instanceof TooLargeError && /larger than 1024 bytes \(limits\.document\)/.test(err.message));
  } finally {
    await small.close();
  }
});
