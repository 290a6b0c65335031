import { UpstreamError, describeError } from '../../foundation/errors.ts';
import type { Http } from '../../engine/http.ts';
import { distFilename } from './names.ts';

/** One file of a project as a PEP 503/691 index lists it. */
export type IndexFile = {
  filename: string;
  /** Absolute URL (relative hrefs are resolved against the project page). */
  url: string;
  sha256?: string;
  requiresPython?: string;
  /** PEP 592: false, or true / the reason when yanked. */
  yanked: boolean | string;
  /** PEP 658/714: the sha256 of the `<url>.metadata` file, `true` when offered without a hash. */
  coreMetadata: string | boolean;
  size?: number;
  uploadTime?: string;
};

/**
 * A project page: the files it lists, and the entries refused because their file name could name
 * another path (`../../x.whl`, `a%2Fb.whl`, a hidden file) — reported, never downloaded.
 */
export type IndexProject = { name: string; files: IndexFile[]; refused?: Array<{ filename: string; reason: string }> };

/** pip's Accept header: PEP 691 JSON preferred, HTML accepted. */
export const SIMPLE_ACCEPT = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1, text/html;q=0.01';

export function projectUrl(upstream: string, normalized: string): string {
  return `${upstream.endsWith('/') ? upstream : `${upstream}/`}${normalized}/`;
}

/**
 * Fetch a project's page from a PEP 503/691 index; `undefined` when the index does not have it.
 * Lenient: files it cannot use are skipped (a file without a sha256 is kept; the planner decides).
 */
export async function fetchProject(http: Http, upstream: string, normalized: string): Promise<IndexProject | undefined> {
  const url = projectUrl(upstream, normalized);
  const res = await http.getText(url, { accept: SIMPLE_ACCEPT });
  if (!res) return undefined;
  const page = res.contentType.includes('json') ? parseJsonPage(res.text, url) : { name: normalized, files: parseHtmlPage(res.text, url) };
  return keepSafeFiles(page);
}

function keepSafeFiles(page: { name: string; files: IndexFile[] }): IndexProject {
  const files: IndexFile[] = [];
  const refused: NonNullable<IndexProject['refused']> = [];
  for (const file of page.files) {
    try {
      distFilename(file.filename);
      files.push(file);
    } catch (err) {
      refused.push({ filename: file.filename, reason: describeError(err) });
    }
  }
  return { name: page.name, files, refused };
}

const SHA256 = /^[0-9a-f]{64}$/i;

function parseJsonPage(text: string, pageUrl: string): { name: string; files: IndexFile[] } {
  let doc: { name?: string; files?: Array<Record<string, unknown>> };
  try {
    doc = JSON.parse(text);
  } catch {
    throw new UpstreamError(pageUrl, 200, 'not a PEP 691 JSON page');
  }
  const files: IndexFile[] = [];
  for (const f of doc.files ?? []) {
    if (typeof f.filename !== 'string' || typeof f.url !== 'string') continue;
    const hashes = (f.hashes ?? {}) as Record<string, unknown>;
    const metadata = f['core-metadata'] ?? f['dist-info-metadata'] ?? false;
    files.push({
      filename: f.filename,
      url: new URL(f.url, pageUrl).href,
      sha256: typeof hashes.sha256 === 'string' && SHA256.test(hashes.sha256) ? hashes.sha256.toLowerCase() : undefined,
      requiresPython: typeof f['requires-python'] === 'string' && f['requires-python'] ? f['requires-python'] : undefined,
      yanked: typeof f.yanked === 'string' || typeof f.yanked === 'boolean' ? f.yanked : false,
      coreMetadata: metadataHash(metadata),
      size: typeof f.size === 'number' ? f.size : undefined,
      uploadTime: typeof f['upload-time'] === 'string' ? f['upload-time'] : undefined,
    });
  }
  return { name: doc.name ?? '', files };
}

function metadataHash(value: unknown): string | boolean {
  if (value === true) return true;
  const sha256 = value && typeof value === 'object' ? (value as { sha256?: unknown }).sha256 : undefined;
  if (typeof sha256 === 'string' && SHA256.test(sha256)) return sha256.toLowerCase();
  if (value && typeof value === 'object') return true;
  return false;
}

const ANCHOR = /<a\s([^>]*)>([^<]*)<\/a>/gi;
const ATTRIBUTE = /([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')|([\w-]+)/g;

/** PEP 503 HTML: one anchor per file, `#sha256=` fragments, `data-*` attributes HTML-escaped. */
export function parseHtmlPage(html: string, pageUrl: string): IndexFile[] {
  const files: IndexFile[] = [];
  for (const anchor of html.matchAll(ANCHOR)) {
    const attrs = new Map<string, string>();
    for (const a of anchor[1]!.matchAll(ATTRIBUTE)) attrs.set(a[1] ?? a[4]!, unescape(a[2] ?? a[3] ?? ''));
    const href = attrs.get('href');
    if (!href) continue;
    const url = new URL(href, pageUrl);
    const sha256 = /(?:^|&)sha256=([0-9a-f]{64})(?:&|$)/i.exec(url.hash.slice(1))?.[1]?.toLowerCase();
    url.hash = '';
    const filename = decodeOnce(url.pathname.split('/').pop() || unescape(anchor[2]!.trim()));
    const metadata = attrs.get('data-core-metadata') ?? attrs.get('data-dist-info-metadata');
    files.push({
      filename,
      url: url.href,
      sha256,
      requiresPython: attrs.get('data-requires-python') || undefined,
      yanked: attrs.has('data-yanked') ? attrs.get('data-yanked') || true : false,
      coreMetadata: metadata === undefined ? false : /^sha256=([0-9a-f]{64})$/i.exec(metadata)?.[1] ?? true,
    });
  }
  return files;
}

/** One percent-decoding, as pip does for the last path segment; malformed escapes stay as they are. */
function decodeOnce(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function unescape(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|#39|#x27);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', '#39': "'", '#x27': "'" })[e] ?? _);
}
