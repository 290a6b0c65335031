/**
 * The archive readers of src/foundation (node-tar and yauzl within our bounds) on archives made
 * here: what they read, what they refuse, and how little of a remote wheel they fetch.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { InputError, TooLargeError } from '../../src/foundation/errors.ts';
import { readTar, readTarGz, writeTar, type TarReadOptions } from '../../src/foundation/tar.ts';
import { bufferSource, fileSource, readZipMember, type ByteSource } from '../../src/foundation/zip.ts';
import { wheelMetadata } from '../../src/ecosystems/pypi/metadata.ts';
import { makeWheel } from '../helpers/pypi-wheels.ts';

const MiB = 1024 * 1024;
const all: TarReadOptions = { name: 'a.tar', what: 'a.tar', limit: MiB, limitKey: 'limits.unpacked', keep: () => true };

function throwsCode(fn: () => unknown, type: typeof InputError | typeof TooLargeError, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof type && message.test(err.message));
}

/** A ByteSource over `bytes` that counts what is read. */
function counted(bytes: Buffer): ByteSource & { reads: number; bytesRead: number } {
  const source = {
    size: bytes.length,
    reads: 0,
    bytesRead: 0,
    read: async (start: number, end: number) => {
      source.reads++;
      source.bytesRead += Math.max(0, Math.min(end, bytes.length) - start);
      return bytes.subarray(start, end);
    },
  };
  return source;
}

test('writeTar gives the same bytes for the same entries, and readTar reads them back byte for byte', () => {
  const long = `${'d'.repeat(120)}/`;
  const entries = [{ path: 'a/' }, { path: 'a/desc', data: Buffer.from('x\n') }, { path: long }, { path: `${long}${'f'.repeat(90)}`, data: randomBytes(1500) }];
  const tar = writeTar(entries);
  assert.deepEqual(writeTar(entries), tar);
  assert.equal(tar.length % 512, 0);
  const members = readTar(tar, all);
  assert.deepEqual(members.map((m) => [m.path, m.type, m.data]), entries.map((e) => [e.path, e.data ? 'file' : 'directory', e.data ?? Buffer.alloc(0)]));
  const header = new Header(tar, 512);
  assert.deepEqual([header.mode, header.uid, header.gid, header.uname, header.gname, header.mtime?.getTime()], [0o644, 0, 0, 'root', 'root', 0]);
});

test('readTar keeps only what it is asked for, reads an empty archive, and refuses what is not whole tar', () => {
  const tar = writeTar([{ path: 'a/' }, { path: 'a/x', data: Buffer.from('1') }, { path: 'b/y', data: Buffer.from('2') }]);
  assert.deepEqual(readTar(tar, { ...all, keep: (path) => path.startsWith('b/') }).map((m) => m.path), ['b/y']);
  assert.deepEqual(readTar(Buffer.alloc(1024), all), []);
  throwsCode(() => readTar(Buffer.alloc(0), all), InputError, /^a\.tar: not a tar archive$/);
  throwsCode(() => readTar(Buffer.from('<html>'.repeat(100)), all), InputError, /^a\.tar: not a tar archive$/);
  throwsCode(() => readTar(tar.subarray(0, 1100), all), InputError, /^a\.tar: truncated tar archive/);
  throwsCode(() => readTar(tar.subarray(0, 1024 + 100), all), InputError, /^a\.tar: truncated tar archive/);
  throwsCode(() => readTar(gzipSync(tar), all), InputError, /not a tar archive \(gzip-compressed data inside\)/);
  throwsCode(() => readTar(tar, { ...all, limit: 1024 }), TooLargeError, /^a\.tar is larger than 1024 bytes \(limits\.unpacked\)/);
});

test('readTar refuses a header that declares more than the limit before reading its body', () => {
  const tar = writeTar([{ path: 'a/x', data: Buffer.from('1') }]);
  // 8 GiB in the size field, the checksum made right again.
  tar.write('77777777777\0', 124, 'latin1');
  tar.fill(0x20, 148, 156);
  tar.write(`${tar.subarray(0, 512).reduce((n, b) => n + b, 0).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  throwsCode(() => readTar(tar, all), TooLargeError, /larger than 1 MiB/);
});

test('readTarGz stops at the first member kept, without reading the rest of the stream', async () => {
  const first = writeTar([{ path: 'p/PKG-INFO', data: Buffer.from('Name: p\n') }]).subarray(0, 1024);
  const gz = gzipSync(Buffer.concat([first, writeTar([{ path: 'p/big', data: randomBytes(4 * MiB) }])]));
  let pulled = 0;
  const body = Readable.from((function* () {
    for (let at = 0; at < gz.length; at += 16 * 1024) {
      pulled += 16 * 1024;
      yield gz.subarray(at, at + 16 * 1024);
    }
  })());
  const members = await readTarGz(body, { ...all, limit: 64 * MiB, keep: (path) => path.endsWith('/PKG-INFO'), first: true });
  assert.deepEqual(members.map((m) => m.data.toString()), ['Name: p\n']);
  assert.ok(pulled < gz.length / 4, `read ${pulled} of ${gz.length} bytes`);
  await assert.rejects(readTarGz(Readable.from([Buffer.from('not gzip')]), all), (err) => err instanceof InputError && /not a readable gzip stream/.test(err.message));
});

test('a wheel\'s METADATA, byte for byte, from a buffer, a file, and by ranges that skip the rest of the wheel', async () => {
  const files: Record<string, string> = { 'big/data.bin': randomBytes(2 * MiB).toString('latin1') };
  for (let i = 0; i < 3000; i++) files[`many/module_${i}.py`] = `x = ${i}\n`;
  const wheel = await makeWheel({ name: 'big', version: '1.0', requiresDist: ['lib>=1'], files });
  assert.deepEqual(await wheelMetadata(bufferSource(wheel.bytes), 'big.whl', MiB), Buffer.from(wheel.metadata));

  const dir = await mkdtemp(join(tmpdir(), 'offline-zip-'));
  try {
    await writeFile(join(dir, 'big.whl'), wheel.bytes);
    const file = await fileSource(join(dir, 'big.whl'));
    try {
      assert.deepEqual(await wheelMetadata(file, 'big.whl', MiB), Buffer.from(wheel.metadata));
    } finally {
      await file.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  // A central directory of 3000 records is read by windows, not record by record.
  const remote = counted(wheel.bytes);
  assert.deepEqual(await wheelMetadata(remote, 'big.whl', MiB), Buffer.from(wheel.metadata));
  assert.ok(remote.reads <= 6, `${remote.reads} reads`);
  assert.ok(remote.bytesRead < wheel.bytes.length / 2, `${remote.bytesRead} of ${wheel.bytes.length} bytes`);
});

test('a zip member past the limit is refused by its declared size, before any of it is read', async () => {
  const wheel = await makeWheel({ name: 'w', version: '1.0', files: { 'w/big.txt': 'a'.repeat(2 * MiB) } });
  const source = counted(wheel.bytes);
  await assert.rejects(readZipMember(source, (name) => name === 'w/big.txt', { name: 'w.whl', limit: MiB, limitKey: 'limits.unpacked' }),
    (err) => err instanceof TooLargeError && /^w\.whl: w\/big\.txt is larger than 1 MiB \(limits\.unpacked\)/.test(err.message));
  assert.ok(source.bytesRead < 64 * 1024, `${source.bytesRead} bytes read`);
  assert.equal(await readZipMember(bufferSource(wheel.bytes), () => false, { name: 'w.whl', limit: MiB, limitKey: 'limits.unpacked' }), undefined);
  await assert.rejects(wheelMetadata(bufferSource(Buffer.from('PK not really')), 'x.whl', MiB), (err) => err instanceof InputError && /^x\.whl: not a zip archive/.test(err.message));
});
