/**
 * Deterministic npm fixtures made in code: real tarballs, a dependency tree with the shapes real
 * registries have (scopes, several versions, dist-tags, deprecation, platform packages, peers, a
 * sha1-only package), and a loopback server that answers like registry.npmjs.org.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { startFixtureServer } from './fixture-server.ts';

export type Manifest = { name: string; version: string; [field: string]: unknown };

export type FixtureVersion = {
  /** The package.json inside the tarball (the packument adds `_id`, `dist`, `deprecated`). */
  manifest: Manifest;
  /** Files besides package.json, by path below `package/`. */
  files: Record<string, string>;
  tarball: Buffer;
  /** `sha512-…` SRI of `tarball`; absent for the old sha1-only package. */
  integrity?: string;
  /** sha1 of `tarball`, hex. */
  shasum: string;
  deprecated?: string;
  /** Publication time, ISO 8601. */
  time: string;
};

export type FixturePackage = {
  name: string;
  versions: FixtureVersion[];
  distTags: Record<string, string>;
  created: string;
  modified: string;
};

// npm's own fixed tarball mtime (pacote/npm-packlist use 1985-10-26T08:15:00Z for reproducibility).
const MTIME = new Date('1985-10-26T08:15:00.000Z');

function tarEntry(path: string, body: Buffer, mode: number): Buffer {
  const header = new Header({ path, mode, size: body.length, mtime: MTIME, type: 'File', uid: 0, gid: 0 });
  const block = Buffer.alloc(512);
  if (header.encode(block, 0)) throw new Error(`${path}: path too long for a plain ustar header`);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([block, body, padding]);
}

function packTarball(manifest: object, files: Record<string, string> = {}): Buffer {
  const entries = [tarEntry('package/package.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 0o644)];
  for (const path of Object.keys(files).sort()) {
    const mode = path.startsWith('bin/') ? 0o755 : 0o644;
    entries.push(tarEntry(`package/${path}`, Buffer.from(files[path] ?? ''), mode));
  }
  entries.push(Buffer.alloc(1024)); // end of archive: two zero blocks
  // node's gzip header has mtime 0 and a fixed OS byte, so equal input gives equal bytes.
  return gzipSync(Buffer.concat(entries), { level: 9 });
}

/**
 * A real npm-style tarball: gzip'd ustar with `package/package.json` first, then `files` sorted,
 * all with a fixed mtime and mode. Equal arguments give equal bytes.
 */
export async function makeTarball(manifest: object, files?: Record<string, string>): Promise<Buffer> {
  return packTarball(manifest, files);
}

function sri(bytes: Buffer): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

function seededRandom(seed: string): () => number {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type VersionSpec = { version: string; fields?: Record<string, unknown>; deprecated?: string; sha1Only?: boolean };
type PackageSpec = { name: string; versions: VersionSpec[]; distTags?: Record<string, string> };

const DAY = 86_400_000;
const EPOCH = Date.UTC(2020, 0, 1);

function buildPackage(spec: PackageSpec, index: number): FixturePackage {
  const versions = spec.versions.map((v, vi): FixtureVersion => {
    const id = `${spec.name}@${v.version}`;
    const base = { name: spec.name, version: v.version, description: `fixture ${id}`, main: 'index.js', license: 'MIT' };
    const manifest: Manifest = { ...base, ...v.fields };
    const files: Record<string, string> = { 'index.js': `module.exports = ${JSON.stringify(id)};\n` };
    for (const target of Object.values((v.fields?.['bin'] ?? {}) as Record<string, string>)) {
      files[target] = `#!/usr/bin/env node\nconsole.log(${JSON.stringify(spec.name)});\n`;
    }
    const tarball = packTarball(manifest, files);
    return {
      manifest,
      files,
      tarball,
      ...(v.sha1Only ? {} : { integrity: sri(tarball) }),
      shasum: createHash('sha1').update(tarball).digest('hex'),
      ...(v.deprecated ? { deprecated: v.deprecated } : {}),
      time: new Date(EPOCH + index * DAY + vi * 3_600_000).toISOString(),
    };
  });
  const last = versions.at(-1);
  if (!last) throw new Error(`${spec.name}: no versions`);
  const stable = versions.filter((v) => !v.manifest.version.includes('-'));
  return {
    name: spec.name,
    versions,
    distTags: spec.distTags ?? { latest: (stable.at(-1) ?? last).manifest.version },
    created: versions[0]?.time ?? last.time,
    modified: last.time,
  };
}

const PLATFORMS = [['linux', 'x64'], ['linux', 'arm64'], ['darwin', 'arm64'], ['win32', 'x64']] as const;

/** A package with the one version 1.0.0. */
function single(name: string, fields?: Record<string, unknown>): PackageSpec {
  return { name, versions: [{ version: '1.0.0', ...(fields ? { fields } : {}) }] };
}

/** The packages every tree has besides the generic ones, which depend on them. */
function specialPackages(): PackageSpec[] {
  const platformNames = PLATFORMS.map(([os, cpu]) => `@fx/bin-${os}-${cpu}`);
  return [
    {
      name: 'multi-ver',
      versions: ['1.0.0', '1.1.0', '2.0.0', '2.1.0-next.0'].map((version) => ({ version })),
      distTags: { latest: '2.0.0', next: '2.1.0-next.0' },
    },
    {
      name: 'old-deprecated',
      versions: [{ version: '1.0.0', deprecated: 'old-deprecated is no longer maintained; use multi-ver@2' }],
    },
    // Published before the registry computed sha512: its packument has only `shasum`.
    { name: 'ancient-sha1', versions: [{ version: '0.1.0', sha1Only: true }] },
    // Shaped like esbuild: a thin package whose binary comes from exactly one platform package.
    single('@fx/bin', {
      bin: { fxbin: 'bin/fxbin.js' },
      engines: { node: '>=18' },
      optionalDependencies: Object.fromEntries(platformNames.map((n) => [n, '1.0.0'])),
    }),
    ...PLATFORMS.map(([os, cpu]) => single(`@fx/bin-${os}-${cpu}`, { os: [os], cpu: [cpu], preferUnplugged: true })),
    { name: '@fx/core', versions: [{ version: '1.0.0' }, { version: '1.1.0' }] },
    single('@fx/plugin', {
      peerDependencies: { '@fx/core': '^1.0.0', 'pkg-0': '^1.0.0' },
      peerDependenciesMeta: { 'pkg-0': { optional: true } },
    }),
  ];
}

const ROOTS = 10;
const RANGES = ['^1.0.0', '^1.0.0', '1.x', '>=1.0.0 <2.0.0', '~1.0.0'] as const;

/**
 * A dependency tree of exactly `packages` packages (at least 30), the same for the same options.
 * Generic packages `pkg-N` and `@fx/lib-N` form a DAG (edges go from lower to higher N) below
 * ten roots; some have two versions. Special packages: `multi-ver` (1.0.0, 1.1.0, 2.0.0 and a
 * `next` prerelease, asked for as `~1.0.0`, `^1.0.0` and `^2.0.0`), `old-deprecated`, the
 * sha1-only `ancient-sha1`, the esbuild-like `@fx/bin` with four `@fx/bin-<os>-<cpu>` optional
 * platform packages, and `@fx/plugin` with a peer dependency on `@fx/core`.
 */
export function makeTree(opts: { packages: number; seed?: string }): FixturePackage[] {
  const specials = specialPackages();
  const count = opts.packages - specials.length;
  if (count < 20) throw new RangeError(`makeTree: need at least ${specials.length + 20} packages`);
  const random = seededRandom(opts.seed ?? 'offline-fixtures');
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const names = Array.from({ length: count }, (_, i) => (i % 4 === 3 ? `@fx/lib-${i}` : `pkg-${i}`));
  const deps: Record<string, string>[] = names.map(() => ({}));
  const depend = (from: number, name: string, range: string) => void ((deps[from] ?? {})[name] = range);
  // Every generic package below the roots gets one parent, so the roots reach all of them.
  for (let i = ROOTS; i < count; i++) depend(Math.floor(random() * i), names[i] as string, pick(RANGES));
  for (let i = 0; i < count - 1; i++) {
    if (random() < 0.25) depend(i, names[i + 1 + Math.floor(random() * (count - i - 1))] as string, pick(RANGES));
  }
  depend(1, 'multi-ver', '~1.0.0');
  depend(2, 'multi-ver', '^1.0.0');
  depend(3, 'multi-ver', '^2.0.0');
  depend(4, '@fx/bin', '^1.0.0');
  depend(5, 'old-deprecated', '^1.0.0');
  depend(6, 'ancient-sha1', '0.1.0');
  const generic = names.map((name, i): PackageSpec => {
    const d = deps[i] ?? {};
    const fields = Object.keys(d).length > 0 ? { dependencies: Object.fromEntries(Object.entries(d).sort()) } : {};
    // Every version has the same dependencies, so which one a range picks does not change the closure.
    const versions = random() < 0.3 ? ['1.0.0', '1.1.0'] : ['1.0.0'];
    return { name, versions: versions.map((version) => ({ version, fields })) };
  });
  return [...generic, ...specials].map(buildPackage);
}

/**
 * The `dependencies` of a project whose closure is the whole tree: `^latest` of every package
 * that no package depends on (peers do not count, so `@fx/core` is provided by the root).
 */
export function rootDependencies(pkgs: FixturePackage[]): Record<string, string> {
  const referenced = new Set<string>();
  for (const pkg of pkgs) {
    for (const v of pkg.versions) {
      for (const field of ['dependencies', 'optionalDependencies']) {
        for (const name of Object.keys((v.manifest[field] ?? {}) as Record<string, string>)) referenced.add(name);
      }
    }
  }
  const roots = pkgs.filter((p) => !referenced.has(p.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
  return Object.fromEntries(roots.map((p) => [p.name, `^${p.distTags['latest']}`]));
}

export type RegistryOptions = {
  /** Wait this long before every response (the bench uses 20 ms). */
  delayMs?: number;
  /** `name@version`s whose tarball is served with other (valid gzip) bytes; the packument keeps the true digests. */
  corrupt?: string[];
  /** Request path as sent (`/@fx%2fcore`, no query) → how many 503s to answer before answering normally. */
  failFirst?: Record<string, number>;
  /** Tarballs are answered once this settles (a sync held mid-download until the test lets go). */
  holdTarballs?: Promise<unknown>;
  /** The same for some tarballs only: `name@version` → answered once it settles. */
  holdTarball?: Record<string, Promise<unknown>>;
};

export type FixtureRegistry = { url: string; port: number; requests: string[]; close(): Promise<void> };

const ABBREVIATED = 'application/vnd.npm.install-v1+json';
// The fields of https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md#abbreviated-version-object
const ABBREVIATED_FIELDS = [
  ...['name', 'version', 'dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta'],
  ...['bin', 'engines', 'os', 'cpu', 'deprecated', 'dist'],
];

/** `@fx/core` 1.0.0 → `@fx/core/-/core-1.0.0.tgz`, the npm registry's tarball path. */
function tarballPath(name: string, version: string): string {
  return `${name}/-/${name.slice(name.lastIndexOf('/') + 1)}-${version}.tgz`;
}

function versionDoc(pkg: FixturePackage, v: FixtureVersion, base: string): Record<string, unknown> {
  const tarball = `${base}/${tarballPath(pkg.name, v.manifest.version)}`;
  const dist = { ...(v.integrity ? { integrity: v.integrity } : {}), shasum: v.shasum, tarball };
  const deprecated = v.deprecated ? { deprecated: v.deprecated } : {};
  return { ...v.manifest, _id: `${pkg.name}@${v.manifest.version}`, ...deprecated, dist };
}

/** The full packument, or the abbreviated one npm asks for with `Accept: ${ABBREVIATED}`. */
function packument(pkg: FixturePackage, base: string, abbreviated: boolean): object {
  const versions = Object.fromEntries(
    pkg.versions.map((v) => {
      const doc = versionDoc(pkg, v, base);
      if (!abbreviated) return [v.manifest.version, doc];
      return [v.manifest.version, Object.fromEntries(ABBREVIATED_FIELDS.filter((f) => f in doc).map((f) => [f, doc[f]]))];
    }),
  );
  if (abbreviated) return { name: pkg.name, modified: pkg.modified, 'dist-tags': pkg.distTags, versions };
  const published = Object.fromEntries(pkg.versions.map((v) => [v.manifest.version, v.time]));
  const time = { created: pkg.created, modified: pkg.modified, ...published };
  return { _id: pkg.name, name: pkg.name, description: `fixture ${pkg.name}`, 'dist-tags': pkg.distTags, versions, time };
}

/**
 * Serves `pkgs` on 127.0.0.1 (port 0) like the npm registry: full or abbreviated packuments at
 * `/<name>`, `/@scope%2fname` and `/@scope/name`, tarballs at `/<name>/-/<base>-<version>.tgz`, and
 * `404 {"error":"not found"}` otherwise. Tarball URLs in packuments use the request's Host. Every
 * request path is appended to `requests`. Connections are kept alive; `close()` ends them.
 */
export async function startRegistry(pkgs: FixturePackage[], opts: RegistryOptions = {}): Promise<FixtureRegistry> {
  const byName = new Map(pkgs.map((p) => [p.name, p]));
  const corrupt = new Set(opts.corrupt ?? []);
  const tarballs = new Map<string, Buffer>();
  const holds = new Map<string, Promise<unknown>>();
  for (const pkg of pkgs) {
    for (const v of pkg.versions) {
      const bytes = corrupt.has(`${pkg.name}@${v.manifest.version}`)
        ? packTarball(v.manifest, { ...v.files, CORRUPTED: 'these are not the bytes the packument promises\n' })
        : v.tarball;
      tarballs.set(tarballPath(pkg.name, v.manifest.version), bytes);
      const held = opts.holdTarball?.[`${pkg.name}@${v.manifest.version}`];
      if (held) holds.set(tarballPath(pkg.name, v.manifest.version), held);
    }
  }
  const failuresLeft = new Map(Object.entries(opts.failFirst ?? {}));
  let port = 0;

  async function answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (status: number, type: string, body: Buffer | string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'application/json', '{"error":"method not allowed"}');
    const left = failuresLeft.get(path) ?? 0;
    if (left > 0) {
      failuresLeft.set(path, left - 1);
      return send(503, 'application/json', '{"error":"service unavailable"}');
    }
    let name = '';
    try {
      name = decodeURIComponent(path.slice(1));
    } catch {} // a malformed escape names nothing: 404
    const tarball = tarballs.get(name);
    if (tarball && opts.holdTarballs) await opts.holdTarballs;
    if (tarball && holds.has(name)) await holds.get(name);
    if (tarball) return send(200, 'application/octet-stream', tarball);
    const pkg = byName.get(name);
    if (!pkg) return send(404, 'application/json', '{"error":"not found"}');
    const abbreviated = (req.headers.accept ?? '').includes(ABBREVIATED);
    const base = `http://${req.headers.host ?? `127.0.0.1:${port}`}`;
    send(200, abbreviated ? ABBREVIATED : 'application/json', JSON.stringify(packument(pkg, base, abbreviated)));
  }

  const server = await startFixtureServer(answer, { delayMs: opts.delayMs });
  port = server.port;
  return { url: `http://127.0.0.1:${port}`, ...server };
}
