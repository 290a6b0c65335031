import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import type Koa from 'koa';
import { withFastPath, type FastPath } from '../../foundation/fast-path.ts';
import { createMirrorApp } from '../../foundation/http-server.ts';
import { sendFile, sendFileTo } from '../../foundation/send-file.ts';
import { fileVersion } from './candidates.ts';
import { normalizeName } from './names.ts';
import { distPath, listProjects, servedProject, type StoredFile, type StoredProject } from './storage.ts';

const JSON_V1 = 'application/vnd.pypi.simple.v1+json';
const HTML_V1 = 'application/vnd.pypi.simple.v1+html';
const HTML = 'text/html';
const FILE_ROUTE = /^\/files\/([^/]+)\/([^/]+)$/;

/** The request listener `serve` runs: distribution files on the fast path, the app for the rest. */
export function createPypiHandler(dir: string): RequestListener {
  return withFastPath(createPypiApp(dir), pypiFastPath(dir));
}

/** A file the project's page lists, answered as the app's file route would; anything else is the app's. */
function pypiFastPath(dir: string): FastPath {
  return async (req, res, path) => {
    const m = FILE_ROUTE.exec(path);
    const file = m ? await publishedFile(dir, m[1]!, m[2]!) : undefined;
    return file ? sendFileTo(req, res, file.path, fileType(m![2]!), file.sha256) : false;
  };
}

function fileType(filename: string): string {
  return filename.endsWith('.metadata') ? 'text/plain' : 'application/octet-stream';
}

/**
 * The PyPI mirror's HTTP app, built and not started (the caller listens): a PEP 503 / PEP 691
 * simple index of what is on disk, with PEP 658/714 metadata, PEP 592 yanks and PEP 700 fields,
 * and the files themselves. Never contacts an upstream: a project not mirrored is a 404 at once.
 */
export function createPypiApp(dir: string): Koa {
  const app = createMirrorApp('pypi');
  const router = new Router({ strict: true });

  router.get('/simple/', async (ctx) => {
    const format = negotiate(ctx);
    if (!format) return;
    const names = await listProjects(dir);
    if (format === JSON_V1) {
      ctx.type = JSON_V1;
      ctx.body = { meta: { 'api-version': '1.1' }, projects: names.map((name) => ({ name })) };
      return;
    }
    ctx.type = format;
    ctx.body = page('Simple index', names.map((n) => `<a href="${escape(n)}/">${escape(n)}</a>`));
  });

  router.get('/simple/:project', (ctx) => {
    ctx.status = 301;
    ctx.redirect(`/simple/${normalizeName(ctx.params.project!)}/`);
  });

  router.get('/simple/:project/', async (ctx) => {
    const requested = ctx.params.project!;
    const normalized = normalizeName(requested);
    if (requested !== normalized) {
      ctx.status = 301;
      ctx.redirect(`/simple/${normalized}/`);
      return;
    }
    const project = await servedProject(dir, normalized);
    if (!project) {
      ctx.status = 404;
      ctx.body = `${normalized} is not mirrored\n`;
      return;
    }
    const format = negotiate(ctx);
    if (!format) return;
    ctx.type = format;
    ctx.body = format === JSON_V1 ? projectJson(normalized, project) : projectHtml(normalized, project);
  });

  // A file is served only when the project's published page lists it (the file itself, or its
  // PEP 658 `.metadata` where the page advertises one): never by joining the request onto the disk.
  router.get('/files/:project/:filename', async (ctx) => {
    const { project, filename } = ctx.params as { project: string; filename: string };
    const file = await publishedFile(dir, project, filename);
    if (!file || !(await sendFile(ctx, file.path, fileType(filename)))) {
      ctx.status = 404;
      ctx.body = 'not mirrored\n';
    }
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/** Where `filename` is, and its sha256, when the stored page of `project` lists it; else undefined. */
async function publishedFile(dir: string, project: string, filename: string): Promise<{ path: string; sha256: string } | undefined> {
  if (normalizeName(project) !== project) return undefined;
  const stored = await servedProject(dir, project);
  if (!stored) return undefined;
  const metadata = filename.endsWith('.metadata');
  const distName = metadata ? filename.slice(0, -'.metadata'.length) : filename;
  const file = stored.files.find((f) => f.filename === distName);
  const sha256 = metadata ? file?.metadataSha256 : file?.sha256;
  if (!sha256) return undefined;
  return { path: distPath(dir, project, distName, metadata ? '.metadata' : ''), sha256 };
}

/** PEP 691 content negotiation; sets 406 and returns undefined when nothing offered is acceptable. */
function negotiate(ctx: Koa.Context): string | undefined {
  const format = ctx.accepts(HTML, JSON_V1, HTML_V1, 'application/vnd.pypi.simple.latest+json', 'application/vnd.pypi.simple.latest+html');
  if (!format) {
    ctx.status = 406;
    ctx.body = `acceptable: ${JSON_V1}, ${HTML_V1}, ${HTML}\n`;
    return undefined;
  }
  if (format.endsWith('latest+json')) return JSON_V1;
  if (format.endsWith('latest+html')) return HTML_V1;
  return format;
}

function fileUrl(normalized: string, file: StoredFile): string {
  return `../../files/${normalized}/${encodeURIComponent(file.filename)}`;
}

function projectJson(normalized: string, project: StoredProject): object {
  const versions = new Set<string>();
  for (const f of project.files) {
    const v = fileVersion(f.filename, normalized);
    if (v) versions.add(v);
  }
  return {
    meta: { 'api-version': '1.1' },
    name: normalized,
    versions: [...versions],
    files: project.files.map((f) => ({
      filename: f.filename,
      url: fileUrl(normalized, f),
      hashes: { sha256: f.sha256 },
      'requires-python': f.requiresPython ?? null,
      yanked: f.yanked,
      size: f.size,
      ...(f.uploadTime ? { 'upload-time': f.uploadTime } : {}),
      // PEP 714: `core-metadata` only. pip 22.3 to 23.1 (Debian 12 ships 23.0.1) crash on a JSON
      // `dist-info-metadata` key (pypa/pip#12042); the HTML attribute of that name is harmless.
      ...(f.metadataSha256 ? { 'core-metadata': { sha256: f.metadataSha256 } } : {}),
    })),
  };
}

function projectHtml(normalized: string, project: StoredProject): string {
  const links = project.files.map((f) => {
    const attrs = [`href="${fileUrl(normalized, f)}#sha256=${f.sha256}"`];
    if (f.requiresPython) attrs.push(`data-requires-python="${escape(f.requiresPython)}"`);
    if (f.yanked) attrs.push(typeof f.yanked === 'string' ? `data-yanked="${escape(f.yanked)}"` : 'data-yanked=""');
    if (f.metadataSha256) attrs.push(`data-core-metadata="sha256=${f.metadataSha256}"`, `data-dist-info-metadata="sha256=${f.metadataSha256}"`);
    return `<a ${attrs.join(' ')}>${escape(f.filename)}</a>`;
  });
  return page(`Links for ${normalized}`, links);
}

function page(title: string, links: string[]): string {
  return `<!DOCTYPE html>\n<html>\n<head><meta name="pypi:repository-version" content="1.1"><title>${escape(title)}</title></head>\n` +
    `<body>\n<h1>${escape(title)}</h1>\n${links.map((l) => `${l}<br/>`).join('\n')}\n</body>\n</html>\n`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
