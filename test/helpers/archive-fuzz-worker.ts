/**
 * The archive readers under seeded random damage, run in a worker so the test can stop one that
 * hangs (a synchronous loop cannot be interrupted from its own thread). Posts `start` before each
 * case, `problem` for each case that broke a rule, and `done` with the counts and the largest
 * buffer any case asked for. See test/unit/archive-fuzz.test.ts.
 */
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';
import { isOfflineError } from '../../src/foundation/errors.ts';
import { bufferSource } from '../../src/foundation/zip.ts';
import { parseRepoDb, writeRepoDb } from '../../src/ecosystems/pacman/repo-db.ts';
import type { PkgDesc } from '../../src/ecosystems/pacman/types.ts';
import { tarPkgInfo, wheelMetadata } from '../../src/ecosystems/pypi/metadata.ts';
import { makeSdist, makeWheel } from './pypi-wheels.ts';

export type FuzzInput = { seed: number; cases: number; limit: number };
export type FuzzMessage =
  | { kind: 'start'; target: string; index: number }
  | { kind: 'problem'; target: string; index: number; mutations: string[]; problem: string }
  | { kind: 'done'; counts: Record<string, Record<Outcome, number>>; largestAlloc: { bytes: number; where: string } };
type Outcome = 'ok' | 'OFFLINE_ERR_INPUT' | 'OFFLINE_ERR_TOO_LARGE';

const { seed, cases, limit } = workerData as FuzzInput;
const post = (message: FuzzMessage): void => parentPort!.postMessage(message);

// --- a seeded generator, one per case so any case reproduces alone -----------------------------

type Rng = { int(n: number): number; pick<T>(items: readonly T[]): T };

function rng(...parts: number[]): Rng {
  // mulberry32 over an FNV-1a mix of the parts.
  let state = parts.reduce((h, p) => Math.imul(h ^ p, 16777619) >>> 0, 2166136261);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n) => Math.floor(next() * n), pick: (items) => items[Math.floor(next() * items.length)]! };
}

// --- mutations ---------------------------------------------------------------------------------

type Mutation = (bytes: Buffer, r: Rng) => { bytes: Buffer; name: string };

const generic: Mutation[] = [
  (b, r) => {
    const out = Buffer.from(b);
    const n = 1 + r.int(8);
    for (let i = 0; i < n && out.length > 0; i++) out[r.int(out.length)]! ^= 1 << r.int(8);
    return { bytes: out, name: `flip ${n} bits` };
  },
  (b, r) => {
    const out = Buffer.from(b);
    const at = r.int(Math.max(1, out.length));
    if (out.length > 0) out[at] = r.int(256);
    return { bytes: out, name: `set byte ${at}` };
  },
  (b, r) => {
    const at = r.int(b.length + 1);
    return { bytes: b.subarray(0, at), name: `truncate at ${at}` };
  },
  (b, r) => {
    const at = r.int(b.length + 1);
    const junk = Buffer.from(Array.from({ length: 1 + r.int(64) }, () => r.int(256)));
    return { bytes: Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]), name: `insert ${junk.length} bytes at ${at}` };
  },
  (b, r) => {
    const from = r.int(b.length + 1);
    const slice = b.subarray(from, from + 1 + r.int(1024));
    const at = r.int(b.length + 1);
    return { bytes: Buffer.concat([b.subarray(0, at), slice, b.subarray(at)]), name: `duplicate ${slice.length} bytes from ${from} at ${at}` };
  },
  (b, r) => {
    const at = r.int(b.length + 1);
    const n = 1 + r.int(600);
    return { bytes: Buffer.concat([b.subarray(0, at), b.subarray(at + n)]), name: `delete ${n} bytes at ${at}` };
  },
];

/** Offsets of the valid, non-empty ustar headers of an uncompressed tar. */
function tarHeaders(tar: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off + 512 <= tar.length; off += 512) {
    const h = new Header(tar, off);
    if (h.cksumValid && !h.nullBlock) out.push(off);
  }
  return out;
}

function fixChecksum(tar: Buffer, off: number): void {
  tar.fill(0x20, off + 148, off + 156);
  let sum = 0;
  for (let i = off; i < off + 512; i++) sum += tar[i]!;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, off + 148, 'latin1');
}

const HUGE_OCTAL = ['77777777777\0', '77777777770 ', '00000001000\0', '1777777777777777777777'.slice(0, 12)];

/** Tar-aware damage: a header's size (octal, base-256, pax) set huge, its checksum made right again. */
function tarMutations(original: Buffer): Mutation[] {
  const headers = tarHeaders(original);
  return [
    (b, r) => {
      const off = r.pick(headers);
      if (off + 512 > b.length) return { bytes: b, name: 'no header to grow' };
      const out = Buffer.from(b);
      const value = r.pick(HUGE_OCTAL);
      out.write(value, off + 124, 12, 'latin1');
      fixChecksum(out, off);
      return { bytes: out, name: `size ${JSON.stringify(value)} at header ${off}` };
    },
    (b, r) => {
      const off = r.pick(headers);
      if (off + 512 > b.length) return { bytes: b, name: 'no header to grow' };
      const out = Buffer.from(b);
      // GNU base-256: the high bit, then a big-endian number (up to 2^88).
      out[off + 124] = 0x80;
      for (let i = 1; i < 12; i++) out[off + 124 + i] = i < 4 + r.int(6) ? 0 : r.int(256);
      fixChecksum(out, off);
      return { bytes: out, name: `base-256 size at header ${off}` };
    },
    (b, r) => {
      const off = r.pick(headers);
      const size = r.pick([2 ** 40, 2 ** 53 - 1, 1e21, 4 * 1024 * 1024]);
      const pax = new Pax({ path: r.int(2) === 0 ? undefined : `${'p/'.repeat(r.int(200))}desc`, size }).encode();
      return { bytes: Buffer.concat([b.subarray(0, off), pax, b.subarray(off)]), name: `pax size=${size} before header ${off}` };
    },
    (b, r) => {
      const off = r.pick(headers);
      if (off + 512 > b.length) return { bytes: b, name: 'no header to retype' };
      const out = Buffer.from(b);
      const type = r.pick(['L', 'K', 'x', 'g', '1', '2', '5', 'S', 'Z', '\0']);
      out.write(type, off + 156, 1, 'latin1');
      fixChecksum(out, off);
      return { bytes: out, name: `type ${JSON.stringify(type)} at header ${off}` };
    },
  ];
}

/** Zip-aware damage: a size, count, length or offset field of a record set huge or random. */
function zipMutations(original: Buffer): Mutation[] {
  const FIELDS: Record<number, Array<[number, 2 | 4]>> = {
    0x04034b50: [[18, 4], [22, 4], [26, 2], [28, 2], [8, 2], [6, 2]],
    0x02014b50: [[20, 4], [24, 4], [28, 2], [30, 2], [32, 2], [42, 4], [10, 2], [8, 2]],
    0x06054b50: [[8, 2], [10, 2], [12, 4], [16, 4], [20, 2], [4, 2]],
  };
  const records: Array<[number, Array<[number, 2 | 4]>]> = [];
  for (let i = 0; i + 4 <= original.length; i++) {
    const fields = FIELDS[original.readUInt32LE(i)];
    if (fields) records.push([i, fields]);
  }
  // The records of the member the readers look for, so its own sizes are hit often.
  const nameOf = (at: number): string => {
    const central = original.readUInt32LE(at) === 0x02014b50;
    const start = at + (central ? 46 : 30);
    return original.toString('utf8', start, start + original.readUInt16LE(at + (central ? 28 : 26)));
  };
  const wanted = records.filter(([at]) => original.readUInt32LE(at) !== 0x06054b50 && nameOf(at).endsWith('/METADATA'));
  const setField = (pool: typeof records): Mutation => (b, r) => {
      const [at, fields] = r.pick(pool);
      const [field, width] = r.pick(fields);
      if (at + field + width > b.length) return { bytes: b, name: 'no record field' };
      const out = Buffer.from(b);
      const value = r.pick([0xffffffff, 0x7fffffff, 0xffff, 0, r.int(2 ** 32)]) % (width === 2 ? 0x10000 : 2 ** 32);
      if (width === 2) out.writeUInt16LE(value, at + field);
      else out.writeUInt32LE(value, at + field);
      return { bytes: out, name: `field +${field} of record ${at} = ${value}` };
  };
  return [
    setField(records),
    setField(wanted),
    (b, r) => {
      // A zip64 locator before the end record, pointing anywhere.
      const eocd = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
      if (eocd < 0) return { bytes: b, name: 'no end record' };
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeBigUInt64LE(BigInt(r.pick([0, 2 ** 40, 2 ** 53, r.int(b.length)])), 8);
      locator.writeUInt32LE(1, 16);
      return { bytes: Buffer.concat([b.subarray(0, eocd), locator, b.subarray(eocd)]), name: 'zip64 locator' };
    },
  ];
}

// --- the corpus and the readers ------------------------------------------------------------------

const pkg = (name: string, files: Record<string, string>): PkgDesc => ({
  repo: 'core', filename: `${name}-1-1-any.pkg.tar.zst`, name, version: '1-1', arch: 'any', depends: [], provides: [], groups: [],
  entry: `${name}-1-1`, files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)])),
});
const desc = (name: string): string => `%FILENAME%\n${name}-1-1-any.pkg.tar.zst\n\n%NAME%\n${name}\n\n%VERSION%\n1-1\n\n%ARCH%\nany\n\n%CSIZE%\n123\n`;
const LONG = `long-${'n'.repeat(110)}`;
const db = writeRepoDb([
  pkg('glibc', { desc: desc('glibc') }),
  pkg('old', { desc: desc('old'), depends: '%DEPENDS%\nglibc\n\n', files: `%FILES%\n${'usr/lib/x\n'.repeat(80)}` }),
  pkg(LONG, { desc: desc(LONG) }),
]);
const dbTar = gunzipSync(db);
const wheel = (await makeWheel({ name: 'fuzz', version: '1.0', requiresDist: ['lib>=1'], files: { 'fuzz/data.txt': 'x'.repeat(3000) } })).bytes;
const sdist = (await makeSdist({ name: 'fuzz', version: '1.0', requiresDist: ['lib>=1'] })).bytes;
const sdistTar = gunzipSync(sdist);

/** Some bytes at a time, as a response body comes. */
function body(bytes: Buffer): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 1000) pieces.push(bytes.subarray(at, at + 1000));
  return Readable.from(pieces);
}

type Target = { name: string; input: Buffer; mutations: Mutation[]; after?(bytes: Buffer): Buffer; read(bytes: Buffer): unknown };
const readDb = (bytes: Buffer): unknown => parseRepoDb(bytes, 'core', 'fuzz.db', limit);
const regzip = (bytes: Buffer): Buffer => gzipSync(bytes);
const TARGETS: Target[] = [
  { name: 'pacman db, gzip bytes', input: db, mutations: generic, read: readDb },
  { name: 'pacman db, plain tar', input: dbTar, mutations: [...generic, ...tarMutations(dbTar)], read: readDb },
  { name: 'pacman db, tar damaged then gzipped', input: dbTar, mutations: [...generic, ...tarMutations(dbTar)], after: regzip, read: readDb },
  { name: 'wheel METADATA', input: wheel, mutations: [...generic, ...zipMutations(wheel)], read: (b) => wheelMetadata(bufferSource(b), 'fuzz.whl', limit) },
  { name: 'sdist PKG-INFO, gzip bytes', input: sdist, mutations: generic, read: (b) => tarPkgInfo(body(b), 'fuzz.tar.gz', limit) },
  { name: 'sdist PKG-INFO, tar damaged then gzipped', input: sdistTar, mutations: [...generic, ...tarMutations(sdistTar)], after: regzip, read: (b) => tarPkgInfo(body(b), 'fuzz.tar.gz', limit) },
];

// --- allocations: the largest buffer any case asks for ------------------------------------------

let largestAlloc = { bytes: 0, where: '' };
let current = '';
function watch<K extends 'alloc' | 'allocUnsafe' | 'allocUnsafeSlow'>(key: K): void {
  const original = Buffer[key] as (size: number, ...rest: unknown[]) => Buffer;
  (Buffer as unknown as Record<K, unknown>)[key] = function (size: number, ...rest: unknown[]): Buffer {
    if (size > largestAlloc.bytes) largestAlloc = { bytes: size, where: `${current} (Buffer.${key})` };
    return original.call(Buffer, size, ...rest);
  };
}
watch('alloc');
watch('allocUnsafe');
watch('allocUnsafeSlow');

// --- the run -----------------------------------------------------------------------------------

const counts: Record<string, Record<Outcome, number>> = {};
for (const [t, target] of TARGETS.entries()) {
  counts[target.name] = { ok: 0, OFFLINE_ERR_INPUT: 0, OFFLINE_ERR_TOO_LARGE: 0 };
  for (let index = 0; index < cases; index++) {
    post({ kind: 'start', target: target.name, index });
    const r = rng(seed, t, index);
    let bytes = target.input;
    const mutations: string[] = [];
    for (let n = 1 + r.int(3); n > 0; n--) {
      const m = r.pick(target.mutations)(bytes, r);
      bytes = m.bytes;
      mutations.push(m.name);
    }
    if (target.after) bytes = target.after(bytes);
    current = `${target.name} #${index}`;
    const problem = await outcome(target, bytes, counts[target.name]!);
    if (problem) post({ kind: 'problem', target: target.name, index, mutations, problem });
  }
}
post({ kind: 'done', counts, largestAlloc });

/** Counts the outcome; returns what is wrong with it, if anything. */
async function outcome(target: Target, bytes: Buffer, count: Record<Outcome, number>): Promise<string | undefined> {
  try {
    await target.read(bytes);
    count.ok++;
    return undefined;
  } catch (err) {
    if (!(err instanceof Error)) return `threw a non-Error: ${String(err)}`;
    if (!err.message) return `threw an Error without a message: ${err.stack}`;
    if (!isOfflineError(err) || (err.code !== 'OFFLINE_ERR_INPUT' && err.code !== 'OFFLINE_ERR_TOO_LARGE')) {
      return `threw ${err.constructor.name} ${(err as { code?: string }).code ?? ''}, not InputError or TooLargeError: ${err.stack}`;
    }
    count[err.code]++;
    return undefined;
  }
}
