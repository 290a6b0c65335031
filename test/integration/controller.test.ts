/**
 * The controller (docs/adr/0016) over a real config and a fixture npm registry on loopback: every
 * API route refuses a request without the token; status and misses are the CLI's own reports; a
 * sync of the misses runs in the background, its progress and its one report streamed as
 * server-sent events, a second one refused while it runs (by this controller, and by the data
 * directory's lock held elsewhere); the page trades the token in its URL for a strict cookie.
 */
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { createApp, type ControllerApp } from '../../src/controller/app.ts';
import { HTTP_STATUS } from '../../src/controller/errors.ts';
import { startController } from '../../src/controller/start.ts';
import { controllerTokenFile, readControllerToken } from '../../src/core/controller-access.ts';
import { listMisses } from '../../src/core/misses.ts';
import { status } from '../../src/core/status.ts';
import { loadConfig, type Config } from '../../src/ecosystems/config.ts';
import { acquireLock } from '../../src/engine/lock.ts';
import { updateLedger } from '../../src/engine/misses.ts';
import { ResolveError } from '../../src/foundation/errors.ts';
import { makeTree, startRegistry, type FixtureRegistry } from '../helpers/npm-fixtures.ts';
import { offline } from '../helpers/offline-cli.ts';
import { openEvents, type SseEvent } from '../helpers/sse.ts';
import { workDir } from '../helpers/work-dir.ts';
import { claimPorts } from '../helpers/ports.ts';

const TOKEN = 'a'.repeat(64);
const MISSED = 'pkg-0@1.0.0';

let work: string;
let config: Config;
let npm: FixtureRegistry;
let letGo!: () => void;
let app: ControllerApp;
let server: Server;
let base: string;

before(async () => {
  work = await workDir('offline-controller-');
  // Tarballs wait until the test lets go: the sync is held mid-download, deterministically.
  npm = await startRegistry(makeTree({ packages: 30 }), { holdTarballs: new Promise<void>((resolve) => (letGo = resolve)) });
  const file = join(work, 'offline.yaml');
  await writeFile(file, stringify({ data: './mirrors', listen: '127.0.0.1', npm: { port: await claimPorts(), upstream: npm.url, packages: ['multi-ver@^1'] } }));
  config = await loadConfig(file, {});
  // What a serving mirror would have recorded for a client it answered 404.
  const now = new Date().toISOString();
  await updateLedger(config.data, 'npm', () => [{ mirror: 'npm', item: MISSED, first: now, last: now, count: 2 }]);
  app = createApp({ config, token: TOKEN });
  server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  letGo?.();
  await app?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await npm?.close();
});

const auth = { authorization: `Bearer ${TOKEN}` };

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

const ROUTES: Array<[string, string]> = [
  ['GET', '/api/status'], ['GET', '/api/misses'], ['GET', '/api/sync'], ['POST', '/api/sync'],
  ['GET', '/api/sync/00000000-0000-0000-0000-000000000000/events'], ['GET', '/api/unknown'], ['GET', '/api'],
  // Other spellings of a route are refused as well, never routed without the token.
  ['GET', '/API/status'], ['GET', '/%61pi/status'], ['GET', '/api/status/'], ['GET', '//api/status'], ['GET', '/page.js/../api/status'],
];

test('every /api route without the token, or with another one, is a 401 in JSON and does nothing', async () => {
  const wrong: Array<Record<string, string>> = [
    {},
    { authorization: `Bearer ${'b'.repeat(64)}` },
    { authorization: 'Bearer short' },
    { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    { authorization: `Bearer ${TOKEN}x` },
    { cookie: `offline_controller=${'b'.repeat(64)}` },
  ];
  for (const [method, path] of ROUTES) {
    for (const headers of wrong) {
      const r = await call(method, path, headers, method === 'POST' ? '{"misses":true}' : undefined);
      assert.equal(r.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
      assert.equal(r.json.error.code, 'OFFLINE_ERR_UNAUTHORIZED');
      assert.match(r.json.error.message, /Authorization: Bearer <token>.*offline status/);
    }
  }
  assert.deepEqual((await call('GET', '/api/sync', auth)).json, { syncs: [] }, 'no sync was started');
});

test('status and misses with the token are the reports of offline status --json and offline misses --json', async () => {
  const s = await call('GET', '/api/status', auth);
  assert.equal(s.status, 200);
  const direct = await status(config);
  assert.deepEqual(s.json.mirrors, JSON.parse(JSON.stringify(direct.mirrors)));
  assert.deepEqual({ config: s.json.config, data: s.json.data, controller: s.json.controller }, { config: direct.config, data: direct.data, controller: direct.controller });
  assert.equal(s.json.controller.url, 'http://127.0.0.1:7070/');
  assert.doesNotMatch(JSON.stringify(s.json), new RegExp(TOKEN), 'the token is never in a report');
  const m = await call('GET', '/api/misses', auth);
  assert.equal(m.status, 200);
  assert.deepEqual(m.json, JSON.parse(JSON.stringify(await listMisses(config))));
  assert.equal(m.json.misses[0].item, MISSED);
  assert.equal(s.headers.get('cache-control'), 'no-store');
});

test('a body other than {} or {"misses": true} is a 400 and starts nothing', async () => {
  const json = { ...auth, 'content-type': 'application/json' };
  const bad: Array<[Record<string, string>, string]> = [
    [json, '{"misses":"yes"}'], [json, '{"misses":true,"all":true}'], [json, '[true]'], [json, 'null'], [json, '{"misses":'],
    [{ ...auth, 'content-type': 'text/plain' }, '{"misses":true}'], [json, `{"misses":true,"pad":"${'x'.repeat(5000)}"}`],
  ];
  for (const [headers, body] of bad) {
    const r = await call('POST', '/api/sync', headers, body);
    assert.equal(r.status, 400, body.slice(0, 40));
    assert.equal(r.json.error.code, 'OFFLINE_ERR_REQUEST');
  }
  assert.deepEqual((await call('GET', '/api/sync', auth)).json, { syncs: [] });
});

test('another process holding the data directory\'s lock: POST /api/sync is a 409 naming it', async () => {
  const release = await acquireLock(config.data, 'offline sync (another one)');
  try {
    const r = await call('POST', '/api/sync', { ...auth, 'content-type': 'application/json' }, '{"misses":true}');
    assert.equal(r.status, 409);
    assert.equal(r.json.error.code, 'OFFLINE_ERR_LOCKED');
    assert.match(r.json.error.message, /in use by "offline sync \(another one\)"/);
  } finally {
    await release();
  }
  assert.deepEqual((await call('GET', '/api/sync', auth)).json, { syncs: [] });
});

async function until(stream: { next(): Promise<SseEvent | undefined> }, event: string): Promise<SseEvent[]> {
  const seen: SseEvent[] = [];
  for (let e = await stream.next(); e; e = await stream.next()) {
    seen.push(e);
    if (e.event === event) break;
  }
  return seen;
}

test('POST /api/sync {"misses": true}: 202, progress events, one done with the report; 409 while it runs; late clients', async () => {
  const started = await call('POST', '/api/sync', { ...auth, 'content-type': 'application/json' }, '{"misses":true}');
  assert.equal(started.status, 202, JSON.stringify(started.json));
  const id = started.json.id as string;
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(started.headers.get('location'), `/api/sync/${id}/events`);

  // Held mid-download: a second start is refused by this controller.
  const again = await call('POST', '/api/sync', { ...auth, 'content-type': 'application/json' }, '{}');
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'OFFLINE_ERR_LOCKED');
  assert.match(again.json.error.message, new RegExp(`already running sync ${id}`));
  assert.deepEqual((await call('GET', '/api/sync', auth)).json.syncs.map((s: { id: string; running: boolean }) => [s.id, s.running]), [[id, true]]);

  // A client connecting while it runs gets the current state first.
  const events = await openEvents(`${base}/api/sync/${id}/events`, auth);
  assert.equal(events.status, 200);
  assert.match(events.type, /^text\/event-stream/);
  const first = (await events.next())!;
  assert.equal(first.event, 'progress');
  const snapshot = JSON.parse(first.data);
  for (const key of ['phase', 'itemsDone', 'itemsTotal', 'itemsFailed', 'bytesDone', 'bytesPerSecond', 'elapsedMs']) assert.ok(key in snapshot, key);

  letGo();
  const rest = await until(events, 'done');
  const all = [first, ...rest];
  assert.ok(all.filter((e) => e.event === 'progress').length >= 1);
  const done = all.filter((e) => e.event === 'done');
  assert.equal(done.length, 1);
  assert.equal(all.at(-1)!.event, 'done');
  assert.equal(await events.next(), undefined, 'the stream ends after done');
  const report = JSON.parse(done[0]!.data);
  assert.equal(report.ok, true, JSON.stringify(report.failures));
  assert.deepEqual(report.failures, []);
  assert.deepEqual(report.misses, { taken: 1, mirrored: [MISSED], remaining: [] });
  assert.ok(report.ecosystems[0].downloaded > 0);

  // After the end: done at once, and only done.
  const late = await openEvents(`${base}/api/sync/${id}/events`, auth);
  assert.deepEqual((await until(late, 'done')).map((e) => e.event), ['done']);
  assert.equal(await late.next(), undefined);
  assert.deepEqual((await call('GET', '/api/misses', auth)).json.misses, [], 'the mirrored miss left the ledger');
  const listed = (await call('GET', '/api/sync', auth)).json.syncs as Array<{ id: string; misses: boolean; running: boolean; ok: boolean }>;
  assert.deepEqual(listed.map((s) => [s.id, s.misses, s.running, s.ok]), [[id, true, false, true]]);

  const unknown = await call('GET', '/api/sync/nope/events', auth);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.code, 'OFFLINE_ERR_NOT_FOUND');
});

test('the page: /?token= sets a strict HttpOnly cookie and sends the browser to /; without it, how to get the link', async () => {
  const bare = await call('GET', '/');
  assert.equal(bare.status, 401);
  assert.match(bare.json, /offline status/);
  assert.equal(bare.headers.get('set-cookie'), null);

  const wrong = await call('GET', `/?token=${'b'.repeat(64)}`);
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null, 'a wrong token gets no cookie');

  const opened = await call('GET', `/?token=${TOKEN}`);
  assert.equal(opened.status, 303);
  assert.equal(opened.headers.get('location'), '/', 'the token leaves the URL');
  const cookie = opened.headers.get('set-cookie') ?? '';
  assert.match(cookie, /^offline_controller=a{64}; path=\/; samesite=strict; httponly$/i);

  const sent = { cookie: cookie.split(';')[0]! };
  const page = await call('GET', '/', sent);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  assert.match(page.json, /<script src="\/page\.js" defer><\/script>/);
  assert.equal(page.headers.get('content-security-policy')?.split(';')[0], "default-src 'self'");
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
  // The cookie is a credential for the API too (the page's own requests).
  assert.equal((await call('GET', '/api/misses', sent)).status, 200);
  for (const [path, type] of [['/page.js', /^text\/javascript/], ['/page.css', /^text\/css/]] as const) {
    const file = await call('GET', path);
    assert.equal(file.status, 200, path);
    assert.match(file.headers.get('content-type')!, type);
  }
  // Only the page's own files are open; anything else needs the token, and is then a 404.
  for (const path of ['/page.html', '/welcome.html', '/index.html', '/package.json', '/page.js/']) {
    assert.equal((await call('GET', path)).status, 401, path);
    const r = await call('GET', path, sent);
    assert.equal(r.status, 404, path);
    assert.equal(r.json.error.code, 'OFFLINE_ERR_NOT_FOUND');
  }
});

test('errors are answered from one table: an OfflineError by its code, anything else a 500 without its stack', async () => {
  const cases: Array<[() => Promise<never>, number, string]> = [
    [async () => { throw new ResolveError('no version of x satisfies ^9'); }, HTTP_STATUS.OFFLINE_ERR_RESOLVE, 'OFFLINE_ERR_RESOLVE'],
    [async () => { throw new TypeError('secret detail of a bug'); }, 500, 'OFFLINE_ERR_INTERNAL'],
  ];
  for (const [syncRunner, statusCode, code] of cases) {
    const failing = createApp({ config, token: TOKEN, syncRunner });
    const answer = await viaCallback(failing, 'POST', '/api/sync');
    assert.equal(answer.status, statusCode);
    assert.equal(answer.body.error.code, code);
    assert.doesNotMatch(JSON.stringify(answer.body), /secret detail|\n\s+at /);
    await failing.close();
  }
});

/** One request through an app's callback on a throwaway loopback server. */
async function viaCallback(target: ControllerApp, method: string, path: string): Promise<{ status: number; body: any }> {
  const s = createServer(target.callback());
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}${path}`, { method, headers: auth });
    return { status: res.status, body: await res.json() };
  } finally {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
}

test('the token: made once in <data>/controller.token with mode 600, kept across starts; offline status prints the URL with it', async () => {
  const dir = await workDir('offline-controller-token-');
  await writeFile(join(dir, 'offline.yaml'), stringify({ data: './m', listen: '127.0.0.1', npm: {} }));
  const cfg = await loadConfig(join(dir, 'offline.yaml'), {});
  const first = await startController({ config: cfg, port: 0 });
  const token = await readControllerToken(cfg.data);
  assert.match(token ?? '', /^[0-9a-f]{64}$/);
  assert.equal((await stat(controllerTokenFile(cfg.data))).mode & 0o777, 0o600);
  const answer = await fetch(`${first.url}api/misses`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(answer.status, 200);
  await first.close();
  const second = await startController({ config: cfg, port: 0 });
  await second.close();
  assert.equal(await readControllerToken(cfg.data), token, 'a restart keeps the token');

  const text = await offline(['status', '-c', join(dir, 'offline.yaml')], { env: { OFFLINE_CONTROLLER_PORT: '1' } });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^controller: http://127\\.0\\.0\\.1:1/\\?token=${token} \\(not answering`, 'm'));
  const json = JSON.parse((await offline(['status', '--json', '-c', join(dir, 'offline.yaml')])).stdout);
  assert.equal(json.controller.url, 'http://127.0.0.1:7070/');
  assert.equal(json.controller.tokenFile, controllerTokenFile(cfg.data));
  assert.doesNotMatch(JSON.stringify(json), new RegExp(token!));
});
