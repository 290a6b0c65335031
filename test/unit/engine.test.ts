import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { createVerifier, isValidIntegrity, sriFromHex } from '../../src/engine/digest.ts';
import { createProgress } from '../../src/engine/progress.ts';
import { isRetryableError, isRetryableStatus, retryDelayMs } from '../../src/engine/retry.ts';

test('the strongest algorithm decides, as npm does', () => {
  const data = Buffer.from('hello');
  const sha512 = `sha512-${createHash('sha512').update(data).digest('base64')}`;
  const sha1 = `sha1-${createHash('sha1').update(data).digest('base64')}`;
  const good = createVerifier(`${sha1} ${sha512}`);
  good.update(data);
  assert.equal(good.matches(), true);
  const wrongStrong = createVerifier(`${sha1} sha512-${createHash('sha512').update('x').digest('base64')}`);
  wrongStrong.update(data);
  assert.equal(wrongStrong.matches(), false, 'a matching sha1 must not excuse a wrong sha512');
  assert.equal(wrongStrong.actual(), sha512);
});

test('hex digests convert to SRI; garbage is not an integrity', () => {
  const hex = createHash('sha1').update('a').digest('hex');
  assert.equal(sriFromHex('sha1', hex), `sha1-${createHash('sha1').update('a').digest('base64')}`);
  assert.equal(isValidIntegrity('not an integrity'), false);
  assert.equal(isValidIntegrity(undefined), false);
  assert.equal(isValidIntegrity(sriFromHex('sha256', 'ab'.repeat(32))), true);
});

test('retries cover 429, 5xx and resets; Retry-After wins, capped', () => {
  assert.equal(isRetryableStatus(429), true);
  assert.equal(isRetryableStatus(503), true);
  assert.equal(isRetryableStatus(404), false);
  assert.equal(isRetryableError(Object.assign(new Error('x'), { code: 'ECONNRESET' })), true);
  assert.equal(isRetryableError(new Error('x', { cause: { code: 'UND_ERR_SOCKET' } })), true);
  assert.equal(isRetryableError(new Error('plain')), false);
  assert.equal(retryDelayMs(0, '2'), 2000);
  assert.equal(retryDelayMs(0, '3600'), 30_000);
  const d = retryDelayMs(3);
  assert.ok(d >= 1500 && d <= 2500, `backoff for attempt 3 was ${d}`);
  assert.ok(retryDelayMs(20) <= 10_000);
});

test('progress reports items, bytes, the recent byte rate, and a steady ETA once a few percent is done', () => {
  let now = 0;
  const p = createProgress(() => now);
  p.phase('downloading', 10);
  now += 500;
  p.bytes(1000);
  p.itemDone();
  assert.equal(p.snapshot().etaSeconds, undefined, 'half a second in: nothing to go on yet');
  for (let i = 0; i < 3; i++) {
    now += 500;
    p.bytes(1000);
    p.itemDone();
  }
  const s = p.snapshot();
  assert.equal(s.itemsDone, 4);
  assert.equal(s.bytesDone, 4000);
  assert.equal(s.bytesPerSecond, 2000);
  assert.equal(s.etaSeconds, 3, '4 items in 2 s, 6 left');
  now += 10_000; // one large file: nothing finishes for 10 s
  assert.equal(p.snapshot().etaSeconds, 18, 'the estimate stays, at the phase\'s rate (4 items in 12 s, 6 left): it does not vanish');
  const big = createProgress(() => now);
  big.phase('downloading', 1000);
  now += 5_000;
  for (let i = 0; i < 20; i++) big.itemDone();
  assert.equal(big.snapshot().etaSeconds, undefined, '2% done: no estimate yet');
  for (let i = 0; i < 20; i++) big.itemDone();
  assert.equal(big.snapshot().etaSeconds, 120, '4% in 5 s: 960 left at 8 per second');
});
