/**
 * foundation/send-file.ts on a loopback server: a small file named by its content is answered
 * from memory after its first read — the same status, headers and bytes, ranges and HEAD
 * included — until it is asked for with other content; a large one is always read from disk.
 */
import assert from 'node:assert/strict';
import { rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sendFileTo } from '../../src/foundation/send-file.ts';
import { workDir } from '../helpers/work-dir.ts';

let dir: string;
let server: Server;
let base: string;

before(async () => {
  dir = await workDir('offline-send-file-');
  // GET /<file>?content=<c>: the file, named by `c` when given.
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const content = url.searchParams.get('content') ?? undefined;
    sendFileTo(req, res, join(dir, url.pathname.slice(1)), 'application/octet-stream', content).then((sent) => {
      if (!sent) res.writeHead(404).end();
    }, () => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Replace `name` as a sync does: a new file renamed over it. */
async function replace(name: string, bytes: Buffer | string): Promise<void> {
  await writeFile(join(dir, `${name}.tmp`), bytes);
  await rename(join(dir, `${name}.tmp`), join(dir, name));
}

async function get(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const res = await fetch(`${base}${path}`, init);
  const headers = Object.fromEntries([...res.headers].filter(([k]) => !['date', 'connection', 'keep-alive'].includes(k)));
  return { status: res.status, headers, body: await res.text() };
}

test('a small file named by its content: the same answers from disk and from memory, until the content named changes', async () => {
  await replace('small.bin', 'abcdefghij');
  const asked = [
    ['/small.bin?content=one', {}],
    ['/small.bin?content=one', { headers: { range: 'bytes=2-5' } }],
    ['/small.bin?content=one', { headers: { range: 'bytes=-3' } }],
    ['/small.bin?content=one', { headers: { range: 'bytes=10-' } }],
    ['/small.bin?content=one', { method: 'HEAD' }],
  ] as const;
  const first = await get(asked[0][0], asked[0][1]);
  assert.deepEqual([first.status, first.body, first.headers['content-length']], [200, 'abcdefghij', '10']);
  // Held now: a file renamed over it is not read while the same content is named.
  await replace('small.bin', 'ABCDEFGHIJ');
  const held = await Promise.all(asked.map(([path, init]) => get(path, init)));
  assert.deepEqual(held.map((r) => [r.status, r.body]), [[200, 'abcdefghij'], [206, 'cdef'], [206, 'hij'], [416, 'Range Not Satisfiable'], [200, '']]);
  assert.equal(held[1]!.headers['content-range'], 'bytes 2-5/10');
  assert.equal(held[3]!.headers['content-range'], 'bytes */10');
  assert.equal(held[4]!.headers['content-length'], '10');
  assert.deepEqual(held[0]!.headers, first.headers, 'the same headers from memory as from disk');

  // Other content named: read again from disk, and held from then on.
  const fresh = await get('/small.bin?content=two', { headers: { range: 'bytes=0-2' } });
  assert.deepEqual([fresh.status, fresh.body], [206, 'ABC']);
  // Not named at all: always from disk.
  await replace('small.bin', 'klmnopqrst');
  assert.equal((await get('/small.bin')).body, 'klmnopqrst');
  assert.equal((await get('/small.bin?content=two')).body, 'ABCDEFGHIJ');
});

test('a file larger than 64 KiB is read from disk on every request, and a missing one is not answered', async () => {
  await replace('large.bin', Buffer.alloc(70 * 1024, 'a'));
  assert.equal((await get('/large.bin?content=x')).body.length, 70 * 1024);
  await replace('large.bin', Buffer.alloc(70 * 1024, 'b'));
  const again = await get('/large.bin?content=x', { headers: { range: 'bytes=0-3' } });
  assert.deepEqual([again.status, again.body], [206, 'bbbb']);
  assert.equal((await get('/missing.bin?content=x')).status, 404);
  await replace('empty.bin', '');
  const empty = await get('/empty.bin?content=e');
  assert.deepEqual([empty.status, empty.body, empty.headers['content-length']], [200, '', '0']);
});
