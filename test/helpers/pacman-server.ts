/**
 * A loopback pacman mirror for tests: a static server for a `$repo/os/$arch/` tree, as Arch
 * mirrors serve it (plain files, symlinked `REPO.db`, HTTP Range for curl's resume, keep-alive).
 */
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import { join, sep } from 'node:path';
import { startFixtureServer } from './fixture-server.ts';

export type MirrorServerOptions = {
  /** Wait this long before every response. */
  delayMs?: number;
  /** Filenames served with other bytes of the same length (so the size still matches the db). */
  corrupt?: string[];
  /** Filenames answered 404 although they exist. */
  missing?: string[];
  /** Listen on this port instead of a free one (inside a fresh network namespace, say). */
  port?: number;
};

export type MirrorServer = { url: string; port: number; requests: string[]; close(): Promise<void> };

/** `bytes` with every byte flipped: same length, certainly another sha256 and another signature. */
export function corruptBytes(bytes: Buffer): Buffer {
  return Buffer.from(bytes.map((b) => b ^ 0xff));
}

/** One `bytes=a-b`, `a-` or `-n` range; several ranges or garbage mean the whole file (RFC 9110 allows it). */
export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return size === 0 || suffix === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  return end < start ? undefined : { start, end: Math.min(end, size - 1) };
}

/** The file below `dir` for `/<repo>/os/<arch>/<file>`, symlinks followed but never out of `dir`. */
async function locate(dir: string, path: string): Promise<string | undefined> {
  const parts = path.split('/');
  if (parts.length !== 5 || parts[0] !== '' || parts[2] !== 'os') return undefined;
  if (parts.some((p, i) => i > 0 && (p === '' || p === '.' || p === '..' || p.includes('\0')))) return undefined;
  try {
    const root = await realpath(dir);
    const file = await realpath(join(root, ...parts.slice(1)));
    if (!file.startsWith(root + sep) || !(await stat(file)).isFile()) return undefined;
    return file;
  } catch {
    return undefined;
  }
}

/**
 * Serves the repository tree in `dir` on 127.0.0.1 (port 0 unless `opts.port`): GET and HEAD of
 * `/<repo>/os/<arch>/<file>` with one-range `Range` (206, 416), everything else 404. Every request
 * path is appended to `requests`; `close()` ends kept-alive connections too.
 */
export async function startMirrorServer(dir: string, opts: MirrorServerOptions = {}): Promise<MirrorServer> {
  const corrupt = new Set(opts.corrupt ?? []);
  const missing = new Set(opts.missing ?? []);

  async function answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, headers: http.OutgoingHttpHeaders = {}, body = ''): void => {
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { allow: 'GET, HEAD' });
    let path: string;
    try {
      path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    } catch {
      return send(400, {}, 'bad path\n');
    }
    const name = path.slice(path.lastIndexOf('/') + 1);
    const file = missing.has(name) ? undefined : await locate(dir, path);
    if (!file) return send(404, {}, '404 Not Found\n');
    const size = (await stat(file)).size;
    const headers = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', 'last-modified': new Date(0).toUTCString() };
    const range = req.headers.range ? parseRange(req.headers.range, size) : undefined;
    if (range === 'unsatisfiable') return send(416, { 'content-range': `bytes */${size}` });
    const { start, end } = range ?? { start: 0, end: size - 1 };
    const partial = range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {};
    res.writeHead(range ? 206 : 200, { ...headers, ...partial, 'content-length': size === 0 ? 0 : end - start + 1 });
    if (req.method === 'HEAD' || size === 0) return void res.end();
    if (corrupt.has(name)) return void res.end(corruptBytes(await readFile(file)).subarray(start, end + 1));
    createReadStream(file, { start, end }).on('error', () => res.destroy()).pipe(res);
  }

  const server = await startFixtureServer(answer, { delayMs: opts.delayMs, port: opts.port });
  return { url: `http://127.0.0.1:${server.port}`, ...server };
}
