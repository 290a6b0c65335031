/**
 * A loopback PyPI simple index for tests: PEP 503 HTML and PEP 691 JSON chosen by the Accept
 * header as PyPI (warehouse) chooses, PEP 592 yanking, PEP 658/714 metadata files, PEP 700
 * `versions`, `size` and `upload-time`, and files with HTTP Range support.
 */
import http from 'node:http';
import { compare } from '@renovatebot/pep440';
import { startFixtureServer } from './fixture-server.ts';
import { corruptArchive, normalizeName, sha256hex } from './pypi-wheels.ts';

export type FixtureFile = {
  filename: string;
  bytes: Buffer;
  /** The core metadata: a wheel's METADATA, an sdist's PKG-INFO. */
  metadata: string;
  requiresPython?: string;
  /** PEP 592: `true`, or the reason; `false` is said out loud in JSON. */
  yanked?: string | boolean;
};

export type FixtureProject = { name: string; files: FixtureFile[] };

export type IndexOptions = {
  /** Wait this long before every response. */
  delayMs?: number;
  /** Filenames served with other bytes; the pages keep the true sha256 and size. */
  corrupt?: string[];
  /** Advertise and serve PEP 658 `<file>.metadata` for wheels; default true. */
  metadata?: boolean;
  /** Answer `application/vnd.pypi.simple.v1+json` when asked; default true (else HTML only). */
  json?: boolean;
};

export type FixtureIndex = { url: string; port: number; requests: string[]; close(): Promise<void> };

const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';
const HTML_TYPE = 'application/vnd.pypi.simple.v1+html';
// warehouse's offer order: with equal q-values, or no Accept header at all, text/html wins.
const OFFERS = ['text/html', HTML_TYPE, JSON_TYPE] as const;

/**
 * The content type PyPI answers for `accept`: the offer with the highest q-value (ties go to the
 * earlier offer), `latest` counting as `v1` (PEP 691), `text/html` when nothing matches.
 */
export function negotiate(accept: string | undefined, json = true): string {
  const offers = OFFERS.filter((o) => json || o !== JSON_TYPE);
  if (!accept?.trim()) return 'text/html';
  const ranges = accept.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    return { type: type.replace('.latest+', '.v1+'), q: q ? Number(q.slice(2)) : 1 };
  });
  const quality = (offer: string): number => {
    const [major] = offer.split('/');
    const specificity = (t: string) => (t === offer ? 3 : t === `${major}/*` ? 2 : t === '*/*' ? 1 : 0);
    const best = ranges.filter((r) => specificity(r.type) > 0).sort((a, b) => specificity(b.type) - specificity(a.type))[0];
    return best && Number.isFinite(best.q) ? best.q : 0;
  };
  let chosen = 'text/html';
  let top = 0;
  for (const offer of offers) {
    const q = quality(offer);
    if (q > top) [chosen, top] = [offer, q];
  }
  return chosen;
}

/** The version part of a wheel or sdist filename. */
export function filenameVersion(filename: string): string {
  if (filename.endsWith('.whl')) return filename.split('-')[1] ?? '';
  const stem = filename.replace(/\.(tar\.gz|zip|tar\.bz2)$/, '');
  return stem.slice(stem.lastIndexOf('-') + 1);
}

type Served = FixtureFile & { project: string; sha256: string; uploadTime: string; relative: boolean; metadataSha256?: string };

const EPOCH = Date.UTC(2020, 0, 1);

function escapeHtml(s: string): string {
  const table: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  return s.replace(/[&<>"']/g, (c) => table[c] ?? c);
}

// Files are linked alternately relative to the project page (`../../files/…`) and absolutely, the
// parity flipping from project to project, so `pip install app` meets both kinds and clients and
// mirrors must resolve links against the page URL.
function fileUrl(f: Served, base: string): string {
  const path = `files/${f.project}/${encodeURIComponent(f.filename)}`;
  return f.relative ? `../../${path}` : `${base}/${path}`;
}

function jsonDetail(project: FixtureProject, files: Served[], base: string): object {
  const versions = [...new Set(files.map((f) => filenameVersion(f.filename)))].sort(compare);
  return {
    meta: { 'api-version': '1.1' },
    name: normalizeName(project.name),
    versions,
    files: files.map((f) => {
      const metadata = f.metadataSha256 ? { sha256: f.metadataSha256 } : false;
      return {
        filename: f.filename,
        url: fileUrl(f, base),
        hashes: { sha256: f.sha256 },
        'requires-python': f.requiresPython ?? null,
        yanked: f.yanked ?? false,
        // As PyPI answers: PEP 714's key, and the old one under the name pip 22.3–23.1 ignore (a
        // JSON `dist-info-metadata` key crashes them, pypa/pip#12042; Debian 12 ships 23.0.1).
        'core-metadata': metadata,
        'data-dist-info-metadata': metadata,
        size: f.bytes.length,
        'upload-time': f.uploadTime,
      };
    }),
  };
}

function htmlPage(title: string, body: string[]): string {
  const t = escapeHtml(title);
  const head = ['<!DOCTYPE html>', '<html>', '  <head>', '    <meta name="pypi:repository-version" content="1.1">'];
  head.push(`    <title>${t}</title>`, '  </head>', '  <body>', `    <h1>${t}</h1>`);
  return `${[...head, ...body.map((b) => `    ${b}<br />`), '  </body>', '</html>'].join('\n')}\n`;
}

function htmlDetail(project: FixtureProject, files: Served[], base: string): string {
  const anchors = files.map((f) => {
    const attrs = [`href="${escapeHtml(`${fileUrl(f, base)}#sha256=${f.sha256}`)}"`];
    if (f.requiresPython) attrs.push(`data-requires-python="${escapeHtml(f.requiresPython)}"`);
    if (f.yanked) attrs.push(`data-yanked="${escapeHtml(f.yanked === true ? '' : f.yanked)}"`);
    if (f.metadataSha256) {
      attrs.push(`data-dist-info-metadata="sha256=${f.metadataSha256}"`, `data-core-metadata="sha256=${f.metadataSha256}"`);
    }
    return `<a ${attrs.join(' ')}>${escapeHtml(f.filename)}</a>`;
  });
  return htmlPage(`Links for ${normalizeName(project.name)}`, anchors);
}

function rangeOf(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // several ranges or garbage: send it all
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return size === 0 || suffix === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  return { start, end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1) };
}

/**
 * Serves `projects` on 127.0.0.1 (port 0): `/simple/` (project list), `/simple/<normalized>/`
 * (a non-normalized name or a missing slash is a 301 to it), files at `/files/<normalized>/<filename>`
 * with `Range`, and `<filename>.metadata` (PEP 658, wheels only, as on PyPI). Absolute links use the
 * request's Host. Every request path is appended to `requests`; `close()` ends kept-alive connections.
 */
export async function startIndex(projects: FixtureProject[], opts: IndexOptions = {}): Promise<FixtureIndex> {
  const withMetadata = opts.metadata ?? true;
  const corrupt = new Set(opts.corrupt ?? []);
  const byName = new Map<string, { project: FixtureProject; files: Served[] }>();
  const blobs = new Map<string, Buffer>();
  let uploaded = 0;
  for (const [p, project] of projects.entries()) {
    const normalized = normalizeName(project.name);
    const files = project.files.map((f, i): Served => {
      const meta = withMetadata && f.filename.endsWith('.whl') ? { metadataSha256: sha256hex(f.metadata) } : {};
      const uploadTime = new Date(EPOCH + uploaded++ * 3_600_000).toISOString().replace('.000Z', 'Z');
      return { ...f, project: normalized, sha256: sha256hex(f.bytes), uploadTime, relative: (p + i) % 2 === 0, ...meta };
    });
    byName.set(normalized, { project, files });
    for (const f of files) {
      blobs.set(`/files/${normalized}/${f.filename}`, corrupt.has(f.filename) ? corruptArchive(f.filename, f.bytes) : f.bytes);
      if (f.metadataSha256) blobs.set(`/files/${normalized}/${f.filename}.metadata`, Buffer.from(f.metadata));
    }
  }

  function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const send = (status: number, headers: http.OutgoingHttpHeaders, body: Buffer | string = ''): void => {
      res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const notFound = () => send(404, { 'content-type': 'text/plain' }, '404 Not Found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' });
    let path = (req.url ?? '/').split('?')[0] ?? '/';
    try {
      path = decodeURIComponent(path);
    } catch {
      return notFound();
    }
    const base = `http://${req.headers.host ?? '127.0.0.1'}`;
    const blob = blobs.get(path);
    if (blob) return sendFile(req, blob, send);
    const type = negotiate(req.headers.accept, opts.json ?? true);
    const page = (body: string | object) => {
      const headers = { 'content-type': type === 'text/html' ? 'text/html; charset=utf-8' : type, vary: 'Accept' };
      send(200, headers, typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (path === '/simple/' || path === '/simple') {
      const list = [...byName.values()].map(({ project }) => project);
      if (type === JSON_TYPE) return page({ meta: { 'api-version': '1.1' }, projects: list.map((p) => ({ name: p.name })) });
      const anchors = list.map((p) => `<a href="/simple/${normalizeName(p.name)}/">${escapeHtml(p.name)}</a>`);
      return page(htmlPage('Simple index', anchors));
    }
    const m = /^\/simple\/([^/]+)(\/?)$/.exec(path);
    const found = m?.[1] ? byName.get(normalizeName(m[1])) : undefined;
    if (!m || !found) return notFound();
    const normalized = normalizeName(found.project.name);
    if (m[1] !== normalized || m[2] !== '/') return send(301, { location: `/simple/${normalized}/`, vary: 'Accept' });
    if (type === JSON_TYPE) return page(jsonDetail(found.project, found.files, base));
    page(htmlDetail(found.project, found.files, base));
  }

  const server = await startFixtureServer(answer, { delayMs: opts.delayMs });
  return { url: `http://127.0.0.1:${server.port}/simple/`, ...server };
}

type Send = (status: number, headers: http.OutgoingHttpHeaders, body?: Buffer | string) => void;

function sendFile(req: http.IncomingMessage, blob: Buffer, send: Send): void {
  const headers = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
  const range = req.headers.range ? rangeOf(req.headers.range, blob.length) : undefined;
  if (range === 'unsatisfiable') return send(416, { ...headers, 'content-range': `bytes */${blob.length}` });
  if (!range) return send(200, headers, blob);
  const contentRange = `bytes ${range.start}-${range.end}/${blob.length}`;
  send(206, { ...headers, 'content-range': contentRange }, blob.subarray(range.start, range.end + 1));
}

