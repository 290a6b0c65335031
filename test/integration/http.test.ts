/**
 * The one HTTP path every upstream request takes (`Http.request` and what is built on it):
 * retries and Retry-After, the item's time limit, the statuses a caller takes and the typed error
 * for the rest, and the Authorizer hook (headers per attempt; a 401 seen once, then again at once).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { TimeLimitError, UpstreamError } from '../../src/foundation/errors.ts';
import { createHttp, type Authorizer, type Http } from '../../src/engine/http.ts';
import { resetAfter, serve, startScriptedServer, status, type Answer } from '../helpers/scripted-server.ts';

const upstream = await startScriptedServer();
const http = createHttp({ retries: 2 });
after(async () => {
  await http.close();
  await upstream.close();
});

async function withHttp<T>(options: Parameters<typeof createHttp>[0], run: (h: Http) => Promise<T>): Promise<T> {
  const h = createHttp(options);
  try {
    return await run(h);
  } finally {
    await h.close();
  }
}

/** A bearer authorizer as a token service wants it: nothing until challenged, then a token from the realm. */
function bearer(client: Http): Authorizer & { challenges: Array<string | undefined> } {
  let token: string | undefined;
  const challenges: Array<string | undefined> = [];
  return {
    challenges,
    advice: 'log in again',
    headers: async (): Promise<Record<string, string>> => (token ? { authorization: `Bearer ${token}` } : {}),
    async challenged(_url, challenge) {
      challenges.push(challenge);
      const realm = /realm="([^"]+)"/.exec(challenge ?? '')?.[1];
      if (!realm) return false;
      token = ((await client.getJson(realm)) as { token: string }).token;
      return true;
    },
  };
}

/** Answers `body` to `Bearer <token>`, and a challenge naming this server's /token to anything else. */
function requireToken(token: string, body: string): Answer {
  return (req, res) => {
    if (req.headers.authorization === `Bearer ${token}`) return void res.end(body);
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${upstream.base}/token",service="fixture"` }).end('{}');
  };
}

test('a 503 is retried and the next answer is what the caller gets', async () => {
  const url = upstream.script('/flaky', status(503, { 'retry-after': '0' }), status(200, {}, 'fine'));
  const res = await http.fetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'fine');
  assert.equal(upstream.requestsTo('/flaky').length, 2);
});

test('Retry-After is honoured: a wait past the item\'s time limit ends it as a TimeLimitError, without asking again', async () => {
  // Backoff alone would ask again within a second and get the 200.
  const url = upstream.script('/later', status(429, { 'retry-after': '20' }), status(200, {}, 'too late'));
  const err = await withHttp({ retries: 3, itemTimeoutMs: 1000 }, (h) => h.fetch(url)).catch((e: unknown) => e);
  assert.ok(err instanceof TimeLimitError, String(err));
  assert.equal(upstream.requestsTo('/later').length, 1);
});

test('when retries run out the error carries the last status and the URL', async () => {
  const url = upstream.script('/down', status(502));
  const err = await http.request(url, {}, async () => 'unreachable').catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError, String(err));
  assert.equal(err.status, 502);
  assert.equal(err.url, url);
  assert.equal(upstream.requestsTo('/down').length, 3);
});

test('a status the caller does not take is an UpstreamError at once, saying what the request was for and what the body says', async () => {
  const url = upstream.script('/denied', status(403, { 'content-type': 'application/json' }, '{"why":"not for you"}'));
  const explain = (body: Buffer) => (JSON.parse(body.toString()) as { why: string }).why;
  const err = await http.request(url, { what: 'cannot read the thing', explain }, async () => 'unreachable').catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError, String(err));
  assert.equal(err.status, 403);
  assert.match(err.message, /^cannot read the thing: not for you \(HTTP 403 from http:\/\/127\.0\.0\.1:\d+\/denied\)$/);
  assert.equal(upstream.requestsTo('/denied').length, 1, 'a refusal is an answer, not retried');
  assert.equal((await http.fetch(url)).status, 403, 'fetch without statuses hands every answer over');
  assert.equal(await http.getBytes(upstream.script('/gone', status(410))), undefined);
});

test('a connection reset mid-body is retried and the whole body read again', async () => {
  const body = Buffer.alloc(64 * 1024, 3);
  const url = upstream.script('/reset', resetAfter(body, 1000), serve(body));
  const res = await http.fetch(url);
  assert.deepEqual(res.body, body);
  assert.equal(upstream.requestsTo('/reset').length, 2);
});

test('a 401 Bearer challenge is answered by the authorizer and asked again at once, not counted as a retry', async () => {
  upstream.script('/token', status(200, { 'content-type': 'application/json' }, '{"token":"t-1"}'));
  // With one retry allowed, the 503 after the refresh is still retried: the refresh was free.
  const url = upstream.script('/api', requireToken('t-1', ''), status(503, { 'retry-after': '0' }), requireToken('t-1', 'granted'));
  await withHttp({ retries: 1 }, async (h) => {
    const auth = bearer(h);
    const res = await h.request(url, { authorizer: auth }, async (r) => Buffer.from(await r.body.arrayBuffer()).toString());
    assert.equal(res, 'granted');
    assert.equal(auth.challenges.length, 1);
    assert.match(auth.challenges[0]!, /^Bearer realm=".*\/token",service="fixture"$/);
  });
  assert.deepEqual(upstream.requestsTo('/api').map((s) => s.authorization), [undefined, 'Bearer t-1', 'Bearer t-1']);
});

test('a 401 that persists after one refresh is an UpstreamError 401 with the authorizer\'s advice', async () => {
  upstream.script('/token', status(200, { 'content-type': 'application/json' }, '{"token":"stale"}'));
  const url = upstream.script('/locked', requireToken('never', 'unreachable'));
  const auth = bearer(http);
  const err = await http.request(url, { authorizer: auth }, async () => 'unreachable').catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError, String(err));
  assert.equal(err.status, 401);
  assert.match(err.message, /log in again/);
  assert.equal(auth.challenges.length, 1, 'refreshed once');
  assert.equal(upstream.requestsTo('/locked').length, 2);
});

test('without an authorizer a 401 is an answer: refused once, never retried', async () => {
  const url = upstream.script('/private', status(401, { 'www-authenticate': 'Basic realm="x"' }));
  const err = await http.getJson(url).catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError && err.status === 401, String(err));
  assert.equal(upstream.requestsTo('/private').length, 1);
});

test('an authorizer that fails ends the request: its error is final, even when a reset caused it', async () => {
  const url = upstream.script('/needs-token', status(401, { 'www-authenticate': 'Bearer realm="elsewhere"' }));
  const failing: Authorizer = {
    headers: async () => ({}),
    async challenged(challengeUrl) {
      const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      throw new UpstreamError(challengeUrl, undefined, 'token service unreachable', { cause: reset });
    },
  };
  const err = await http.request(url, { authorizer: failing }, async () => 'unreachable').catch((e: unknown) => e);
  assert.ok(err instanceof UpstreamError, String(err));
  assert.match(err.message, /token service unreachable/);
  assert.equal(upstream.requestsTo('/needs-token').length, 1, 'not retried around the authorizer');
});

test('the authorizer is asked before every attempt, so a retried request is authorized too', async () => {
  let asked = 0;
  const counting: Authorizer = { headers: async () => ({ authorization: `Bearer n${++asked}` }), challenged: async () => false };
  const url = upstream.script('/busy', status(503, { 'retry-after': '0' }), status(200, {}, 'ok'));
  assert.equal((await http.fetch(url, {}, { authorizer: counting })).body.toString(), 'ok');
  assert.deepEqual(upstream.requestsTo('/busy').map((s) => s.authorization), ['Bearer n1', 'Bearer n2']);
});
