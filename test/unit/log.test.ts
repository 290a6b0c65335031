/**
 * The operations log (src/foundation/log.ts) and its batched stream (log-batch.ts): one JSON
 * object per line with a fixed message, levels, child bindings, lines hostile text cannot break,
 * and a stream that never makes its writer wait: it batches, and drops with a count when behind.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, formatLine, type LogStream } from '../../src/foundation/log.ts';
import { createBatchStream } from '../../src/foundation/log-batch.ts';
import { printable } from '../../src/foundation/request-log.ts';

function capture(): LogStream & { lines: string[]; records(): Array<Record<string, unknown>> } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line), records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  test('one JSON object per line: time, level and the fixed message first, then the fields', () => {
    const out = capture();
    createLogger({ stream: out }).info('request failed', { mirror: 'pypi', status: 500, nested: { a: [1] } });
    assert.equal(out.lines.length, 1);
    assert.match(out.lines[0]!, /^\{"time":"[^"]+","level":"info","msg":"request failed",/);
    assert.ok(out.lines[0]!.endsWith('}\n'));
    const [record] = out.records();
    assert.deepEqual({ ...record, time: undefined }, { time: undefined, level: 'info', msg: 'request failed', mirror: 'pypi', status: 500, nested: { a: [1] } });
    assert.ok(!Number.isNaN(Date.parse(record!.time as string)), 'time is an ISO date');
  });

  test('levels below the logger\'s are not written, and do no work', () => {
    const out = capture();
    const logger = createLogger({ stream: out, level: 'warn' });
    const trap = { get boom(): never { throw new Error('a disabled level read its fields'); } };
    logger.info('ignored', trap);
    logger.warn('kept');
    logger.error('kept too');
    assert.deepEqual(out.records().map((r) => [r.level, r.msg]), [['warn', 'kept'], ['error', 'kept too']]);
    assert.equal(logger.enabled('info'), false);
    assert.equal(logger.enabled('error'), true);
    const silent = createLogger({ stream: out, level: 'silent' });
    silent.error('nothing', trap);
    assert.equal(out.lines.length, 2);
  });

  test('children carry their bindings; a call\'s fields win; the parent is unchanged', () => {
    const out = capture();
    const root = createLogger({ stream: out });
    const npm = root.child({ mirror: 'npm', port: 4873 });
    npm.child({ host: 'registry.npmjs.org' }).warn('slow', { port: 1 });
    root.info('plain');
    const [child, plain] = out.records();
    assert.equal(child!.mirror, 'npm');
    assert.equal(child!.host, 'registry.npmjs.org');
    assert.equal(child!.port, 1);
    assert.equal(plain!.mirror, undefined);
    assert.equal(npm.level, 'info');
  });

  test('a field named time, level or msg cannot overwrite the line\'s own', () => {
    const out = capture();
    createLogger({ stream: out }).child({ level: 'bound' }).warn('fixed', { msg: 'forged', time: 'never', level: 'debug' });
    const [record] = out.records();
    assert.equal(record!.msg, 'fixed');
    assert.equal(record!.level, 'warn');
    assert.notEqual(record!.time, 'never');
    assert.deepEqual([record!._msg, record!._time, record!._level], ['forged', 'never', 'debug']);
  });

  test('hostile text stays inside its string: one line, read back exactly', () => {
    const out = capture();
    const hostile = 'a\nb\r\n{"level":"error","msg":"forged"}\u0000\u001b[31m\u2028"\\';
    createLogger({ stream: out }).error(hostile, { path: hostile, [hostile]: 1 });
    assert.equal(out.lines.length, 1);
    assert.equal(out.lines[0]!.indexOf('\n'), out.lines[0]!.length - 1, 'the only newline ends the line');
    assert.doesNotMatch(out.lines[0]!.slice(0, -1), /[\u0000-\u001f]/, 'no raw control character');
    const [record] = out.records();
    assert.equal(record!.msg, hostile);
    assert.equal(record!.path, hostile);
    assert.equal(record![hostile], 1);
  });

  test('errors, bigints and cycles are written, never thrown', () => {
    const out = capture();
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle.self = cycle;
    const err = Object.assign(new Error('disk gone'), { code: 'EIO' });
    createLogger({ stream: out }).error('odd fields', { err, big: 10n ** 20n, cycle, nothing: undefined });
    const [record] = out.records();
    assert.deepEqual(record!.err, { name: 'Error', message: 'disk gone', code: 'EIO' });
    assert.equal(record!.big, '100000000000000000000');
    assert.deepEqual(record!.cycle, { name: 'loop', self: '[circular]' });
    assert.equal('nothing' in record!, false);
  });
});

/** A sink whose writes settle when the test says so. */
function heldSink() {
  const batches: string[] = [];
  const waiting: Array<() => void> = [];
  return {
    batches,
    sink: (text: string) => new Promise<void>((resolve) => { batches.push(text); waiting.push(resolve); }),
    release() { for (const r of waiting.splice(0)) r(); },
    lines: () => batches.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('batched stream', () => {
  test('write returns at once; lines reach the sink in order, in one batch per flush', async () => {
    const held = heldSink();
    const stream = createBatchStream(held.sink, { flushMs: 60_000 });
    for (let i = 0; i < 5; i++) stream.write(formatLine('info', 'request', { i }));
    assert.equal(held.batches.length, 0, 'nothing written on the caller\'s path');
    const flushed = stream.flush();
    await new Promise((r) => setImmediate(r));
    held.release();
    await flushed;
    assert.equal(held.batches.length, 1);
    assert.deepEqual(held.lines().map((l) => l.i), [0, 1, 2, 3, 4]);
  });

  test('a full batch goes out without waiting for the timer', async () => {
    const held = heldSink();
    const stream = createBatchStream(held.sink, { flushMs: 60_000, batchBytes: 200 });
    for (let i = 0; i < 4; i++) stream.write(formatLine('info', 'request', { i }));
    await new Promise((r) => setImmediate(r));
    assert.equal(held.batches.length, 1, 'the batch reached 200 bytes');
  });

  test('while the sink is stuck, lines past the limit are dropped and counted; the next batch says how many', async () => {
    const held = heldSink();
    const stream = createBatchStream(held.sink, { flushMs: 60_000, batchBytes: 1, maxPendingBytes: 1000 });
    const line = formatLine('info', 'request', { pad: 'x'.repeat(100) });
    stream.write(line);
    await new Promise((r) => setImmediate(r));
    assert.equal(held.batches.length, 1, 'the first line is being written, and stays stuck');
    for (let i = 0; i < 50; i++) stream.write(line);
    const queued = Math.floor(1000 / Buffer.byteLength(line));
    assert.equal(stream.dropped, 50 - queued);
    held.release();
    const flushed = stream.flush();
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      held.release();
    }
    await flushed;
    const lines = held.lines();
    const written = lines.filter((l) => l.msg === 'request').length;
    const notices = lines.filter((l) => l.msg === 'log records dropped');
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.level, 'warn');
    assert.equal(notices[0]!.dropped, stream.dropped);
    assert.equal(written + stream.dropped, 51, 'every line is either written or counted');
  });

  test('a failing sink counts its lines as dropped and the stream keeps going', async () => {
    let fail = true;
    const got: string[] = [];
    const stream = createBatchStream(async (text) => {
      if (fail) throw new Error('EPIPE');
      got.push(text);
    }, { flushMs: 60_000 });
    stream.write(formatLine('info', 'request', { i: 1 }));
    await stream.flush();
    assert.equal(stream.dropped, 1);
    fail = false;
    stream.write(formatLine('info', 'request', { i: 2 }));
    await stream.flush();
    const lines = got.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => [l.msg, l.dropped ?? l.i]), [['log records dropped', 1], ['request', 2]]);
  });
});

describe('printable', () => {
  test('removes control, format and separator characters, and bounds the length', () => {
    assert.equal(printable('/a\u0000b\nc\r\u001b[2J\u007f\u0085\u202e\u200b\u2028d', 100), '/abc[2Jd');
    assert.equal(printable('/ok/path?q=1', 100), '/ok/path?q=1');
    const long = printable(`/${'a'.repeat(5000)}`, 512);
    assert.equal(long.length, 512);
    assert.ok(long.endsWith('…'));
  });
});
