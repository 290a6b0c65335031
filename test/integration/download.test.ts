/**
 * Downloads through the shared HTTP path: how a resume is answered (206 appends, 200 starts over,
 * 416 drops the partial file), a reset resumed from what reached the disk, optional files, and
 * an Authorizer refreshing once after a 401 (a registry's expired token).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UpstreamError } from '../../src/foundation/errors.ts';
import { download, PARTIAL_SUFFIX, type DownloadItem } from '../../src/engine/download.ts';
import { createHttp, type Authorizer } from '../../src/engine/http.ts';
import { resetAfter, serve, startScriptedServer, status, type Answer } from '../helpers/scripted-server.ts';

const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) % 251));
const integrity = `sha512-${createHash('sha512').update(body).digest('base64')}`;
const upstream = await startScriptedServer();
const http = createHttp({ retries: 2 });
const noRetries = createHttp({ retries: 0 });
after(async () => {
  await http.close();
  await noRetries.close();
  await upstream.close();
});

async function item(path: string, extra: Partial<DownloadItem> = {}): Promise<DownloadItem> {
  const dest = join(await mkdtemp(join(tmpdir(), 'download-')), 'file.bin');
  return { url: `${upstream.base}${path}`, dest, integrity, label: path, ...extra };
}

test('a resume answered 200 (the Range ignored) starts the file over and is verified whole', async () => {
  upstream.script('/no-ranges', serve(body, { ranges: false }));
  const it = await item('/no-ranges');
  await writeFile(it.dest + PARTIAL_SUFFIX, body.subarray(0, 1000));
  let received = 0;
  const result = await download(http, it, (n) => { received += n; });
  assert.deepEqual(result, { status: 'downloaded', bytes: body.length });
  assert.equal(received, body.length);
  assert.deepEqual(await readFile(it.dest), body);
  assert.deepEqual(upstream.requestsTo('/no-ranges').map((s) => s.range), ['bytes=1000-']);
});

test('a 416 to a resume drops the partial file and fetches the whole', async () => {
  const ranged = serve(body);
  const refuseRanges: Answer = (req, res) => (req.headers.range ? void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end() : ranged(req, res));
  upstream.script('/changed', refuseRanges);
  const it = await item('/changed');
  // Longer than the file upstream now: what a partial of an older, larger version looks like.
  await writeFile(it.dest + PARTIAL_SUFFIX, Buffer.alloc(body.length + 10));
  const result = await download(http, it, () => {});
  assert.equal(result.status, 'downloaded');
  assert.deepEqual(await readFile(it.dest), body);
  assert.deepEqual(upstream.requestsTo('/changed').map((s) => s.range), [`bytes=${body.length + 10}-`, undefined]);
});

test('a 416 without a Range is refused as an UpstreamError', async () => {
  upstream.script('/odd', status(416));
  const err = await download(http, await item('/odd'), () => {}).catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError && err.status === 416, String(err));
  assert.match(err.message, /cannot download \/odd/);
});

test('a connection reset mid-body is resumed with a Range from what reached the disk', async () => {
  const it = await item('/reset');
  const sent = 100_000;
  // The upstream drops the connection only once the client has written what it was sent.
  const onDisk = async () => {
    for (let i = 0; i < 500; i++) {
      if ((await stat(it.dest + PARTIAL_SUFFIX).catch(() => undefined))?.size === sent) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  upstream.script('/reset', resetAfter(body, sent, onDisk), serve(body));
  let received = 0;
  const result = await download(http, it, (n) => { received += n; });
  assert.deepEqual(result, { status: 'downloaded', bytes: body.length });
  assert.equal(received, body.length, 'no byte counted twice');
  assert.deepEqual(await readFile(it.dest), body);
  assert.deepEqual(upstream.requestsTo('/reset').map((s) => s.range), [undefined, `bytes=${sent}-`]);
});

test('an optional file that is not there is absent and nothing is written; a required one is an UpstreamError 404', async () => {
  const optional = await item('/nothing', { optional: true });
  assert.deepEqual(await download(http, optional, () => {}), { status: 'absent', bytes: 0 });
  assert.equal(existsSync(optional.dest) || existsSync(optional.dest + PARTIAL_SUFFIX), false);
  const err = await download(http, await item('/nothing'), () => {}).catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError && err.status === 404, String(err));
});

/** An authorizer holding `token`, told a new one on its first challenge. */
function tokens(first: string, next: string): Authorizer & { challenges: number } {
  let token = first;
  const auth = {
    challenges: 0,
    advice: 'renew the token',
    headers: async () => ({ authorization: `Bearer ${token}` }),
    challenged: async () => {
      auth.challenges++;
      token = next;
      return true;
    },
  };
  return auth;
}

function onlyWith(token: string): Answer {
  const ok = serve(body);
  return (req, res) => (req.headers.authorization === `Bearer ${token}` ? ok(req, res) : void res.writeHead(401, { 'www-authenticate': 'Bearer realm="x"' }).end());
}

test('an expired token is refreshed once after a 401 and the download completes, even with no retries', async () => {
  upstream.script('/blob', onlyWith('fresh'));
  const auth = tokens('expired', 'fresh');
  const result = await download(noRetries, await item('/blob', { authorizer: auth }), () => {});
  assert.equal(result.status, 'downloaded');
  assert.equal(auth.challenges, 1);
  assert.deepEqual(upstream.requestsTo('/blob').map((s) => s.authorization), ['Bearer expired', 'Bearer fresh']);
});

test('a 401 that persists after the refresh fails the download with status 401 and the advice; nothing is stored', async () => {
  upstream.script('/forbidden-blob', onlyWith('none will do'));
  const auth = tokens('a', 'b');
  const it = await item('/forbidden-blob', { authorizer: auth });
  const err = await download(http, it, () => {}).catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError && err.status === 401, String(err));
  assert.match(err.message, /renew the token/);
  assert.equal(auth.challenges, 1);
  assert.equal(upstream.requestsTo('/forbidden-blob').length, 2);
  assert.equal(existsSync(it.dest) || existsSync(it.dest + PARTIAL_SUFFIX), false);
});

