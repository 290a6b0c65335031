/**
 * Real registries for tests, loopback only: the CNCF distribution 2.8 (`docker-registry serve`)
 * on a free 127.0.0.1 port, skopeo isolated from the host's registries.conf, auth files and
 * policy, and a token front that answers like Docker Hub (Bearer challenge, `/token`, scopes).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from './oci-images.ts';
import type { FixtureImages } from './oci-images.ts';
import { run } from './run.ts';
import type { RunOptions, RunResult } from './run.ts';

export type Registry = { url: string; host: string; port: number; /** distribution's storage root */ storage: string; close(): Promise<void> };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function registryConfig(storage: string, port: number): string {
  return [
    'version: 0.1',
    'log:\n  level: error\n  accesslog:\n    disabled: true',
    `storage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(storage)}\n  delete:\n    enabled: true`,
    '  maintenance:\n    uploadpurging:\n      enabled: false',
    `http:\n  addr: 127.0.0.1:${port}`,
    'health:\n  storagedriver:\n    enabled: false',
    '',
  ].join('\n');
}

/**
 * Runs `docker-registry serve` (no auth) with its config and storage below `dir`, and resolves
 * once `GET /v2/` answers 200. Rejects with the registry's stderr if it exits or is not up in 15 s.
 * `close()` ends it; it is also killed when this process exits.
 */
export async function startRegistry(dir: string): Promise<Registry> {
  const storage = join(dir, 'storage');
  await mkdir(storage, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort(); // another process may take it before the registry binds: retry
    const config = join(dir, 'config.yml');
    await writeFile(config, registryConfig(storage, port));
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (e) => resolve(void (stderr += `could not start: ${e.message}`)));
    });
    let dead = false;
    void exited.then(() => (dead = true));
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    const url = `http://127.0.0.1:${port}`;
    const close = async () => {
      process.off('exit', kill);
      if (!dead) child.kill('SIGTERM');
      await exited;
    };
    const deadline = Date.now() + 15_000;
    while (!dead && Date.now() < deadline) {
      const status = await fetch(`${url}/v2/`).then((r) => r.status, () => 0);
      if (status === 200) return { url, host: `127.0.0.1:${port}`, port, storage, close };
      await new Promise((r) => setTimeout(r, 50));
    }
    await close();
    if (attempt < 3 && /address already in use/.test(stderr)) continue;
    throw new Error(`docker-registry serve ${config} did not come up on ${url}: ${stderr.trim() || 'no output'}`);
  }
}

// skopeo, isolated: without these it reads /etc/containers/registries.conf(.d), ~/.docker/config.json,
// ~/.config/containers/auth.json and $XDG_RUNTIME_DIR/containers/auth.json. (Its blob-info cache
// stays /var/lib/containers/cache for root; skopeo 1.9 has no flag for it.)
const SUBCOMMAND_FLAGS: Record<string, string[]> = {
  copy: ['--src-tls-verify=false', '--dest-tls-verify=false'],
  sync: ['--src-tls-verify=false', '--dest-tls-verify=false'],
  inspect: ['--tls-verify=false'],
  'list-tags': ['--tls-verify=false'],
  delete: ['--tls-verify=false'],
  login: ['--tls-verify=false'],
  logout: [],
};

/** Makes the sandbox below `tmp` if absent: registries.conf without search registries or mirrors, an accept-anything policy, no credentials. */
function sandbox(tmp: string) {
  const p = {
    registries: join(tmp, 'registries.conf'),
    registriesD: join(tmp, 'registries.d'),
    policy: join(tmp, 'policy.json'),
    authfile: join(tmp, 'auth.json'),
    tmp: join(tmp, 'tmp'),
    home: join(tmp, 'home'),
  };
  for (const d of [p.registriesD, p.tmp, join(p.home, 'run'), join(p.home, 'docker')]) mkdirSync(d, { recursive: true });
  const once = (file: string, text: string) => existsSync(file) || writeFileSync(file, text); // keeps a login's auth
  once(p.registries, 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n');
  once(p.policy, '{"default":[{"type":"insecureAcceptAnything"}]}\n');
  once(p.authfile, '{"auths":{}}\n');
  return p;
}

/** The whole environment for skopeo: HOME, XDG and DOCKER_CONFIG below `tmp`, so no host credentials leak in. */
export function skopeoEnv(tmp: string): NodeJS.ProcessEnv {
  const p = sandbox(tmp);
  const keep = Object.fromEntries(['PATH', 'DOCKER_HOST', 'LANG'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])));
  return {
    ...keep,
    HOME: p.home,
    XDG_CONFIG_HOME: join(p.home, 'config'),
    XDG_RUNTIME_DIR: join(p.home, 'run'),
    DOCKER_CONFIG: join(p.home, 'docker'),
    CONTAINERS_REGISTRIES_CONF: p.registries,
    TMPDIR: p.tmp,
  };
}

/**
 * `args` (global flags, a subcommand, its arguments) with the sandbox's global flags first and
 * `--authfile` plus TLS-off flags after the subcommand. Throws on a `docker://` reference that is
 * not on 127.0.0.1, so no test can reach another registry.
 */
export function skopeoArgs(tmp: string, args: string[]): string[] {
  const stray = args.find((a) => a.startsWith('docker://') && !a.startsWith('docker://127.0.0.1:'));
  if (stray) throw new Error(`skopeo may only reach 127.0.0.1 registries in tests, not ${stray}`);
  const p = sandbox(tmp);
  const global = ['--registries-conf', p.registries, '--registries.d', p.registriesD, '--policy', p.policy, '--tmpdir', p.tmp];
  const at = args.findIndex((a) => Object.hasOwn(SUBCOMMAND_FLAGS, a));
  if (at < 0) return [...global, ...args];
  return [...global, ...args.slice(0, at + 1), '--authfile', p.authfile, ...SUBCOMMAND_FLAGS[args[at]!]!, ...args.slice(at + 1)];
}

let defaultTmp: string | undefined;
function defaultSandbox(): string {
  if (!defaultTmp) {
    const dir = mkdtempSync(join(tmpdir(), 'offline-skopeo-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    defaultTmp = dir;
  }
  return defaultTmp;
}

/** Runs sandboxed skopeo (see `skopeoArgs`); never throws on a non-zero exit (see `run`). */
export function skopeo(args: string[], tmp = defaultSandbox(), opts: RunOptions = {}): Promise<RunResult> {
  return run('skopeo', skopeoArgs(tmp, args), { timeoutMs: 120_000, ...opts, env: skopeoEnv(tmp) });
}

/** skopeo's stdout; throws with the argv and stderr on a non-zero exit. */
export async function skopeoOk(args: string[], tmp?: string): Promise<string> {
  const r = await skopeo(args, tmp);
  if (r.code !== 0) throw new Error(`skopeo ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Pushes every `fixtures.refs` entry from its OCI layout (written by `makeFixtureImages`) to
 * `registryHost` with `skopeo copy --all --preserve-digests`, then checks with `inspect --raw`
 * that each tag serves the exact bytes built; throws otherwise. Idempotent.
 */
export async function pushImages(registryHost: string, fixtures: FixtureImages, tmp?: string): Promise<void> {
  for (const ref of fixtures.refs) {
    // skopeo's oci: transport looks tags up among OCI media types only; a Docker image is alone in its layout.
    const source = ref.mediaType.startsWith('application/vnd.oci.') ? `oci:${ref.layout}:${ref.tag}` : `oci:${ref.layout}`;
    const dest = `docker://${registryHost}/${ref.repo}:${ref.tag}`;
    await skopeoOk(['copy', '--quiet', '--all', '--preserve-digests', source, dest], tmp);
    const got = sha256(await skopeoOk(['inspect', '--raw', dest], tmp));
    if (got !== ref.manifestDigest) throw new Error(`${dest}: pushed ${got}, built ${ref.manifestDigest}`);
  }
}

export type TokenFrontOptions = {
  /** With `user`, `/token` wants these Basic credentials (401 otherwise); without, tokens are anonymous. */
  user?: string;
  password?: string;
  /** Answer blob GETs with 307 to the upstream itself, as Docker Hub redirects to its CDN. */
  redirectBlobs?: boolean;
  /** `expires_in` of every token; default 300. */
  expiresIn?: number;
};
export type TokenFront = { url: string; host: string; port: number; tokensIssued: number; /** `METHOD /path?query` of every request */ requests: string[]; close(): Promise<void> };

const SERVICE = 'fixture-registry';
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection'];

/** The scope a `/v2/...` path needs: none for the base, `registry:catalog:*`, or `repository:NAME:pull`. */
function scopeFor(path: string): string | undefined {
  if (path === '/v2/' || path === '/v2') return undefined;
  if (path === '/v2/_catalog') return 'registry:catalog:*';
  const m = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(path);
  return m ? `repository:${m[1]}:pull` : 'registry:catalog:*';
}

/**
 * A Docker-Hub-like auth front on 127.0.0.1 for the registry at `upstreamUrl`: `/v2/...` needs
 * `Authorization: Bearer T` for a token from `GET /token?service=fixture-registry&scope=…` (scopes
 * as asked, pull only); otherwise 401 with the `WWW-Authenticate: Bearer realm,service[,scope][,error]`
 * challenge. Granted GET and HEAD requests are proxied with their headers (Range included) and the
 * upstream's status and headers (redirects not followed); other methods get 405.
 */
export async function startTokenFront(upstreamUrl: string, opts: TokenFrontOptions = {}): Promise<TokenFront> {
  const upstream = new URL(upstreamUrl);
  const agent = new http.Agent({ keepAlive: true });
  const tokens = new Map<string, { scopes: Set<string>; expires: number }>();
  const server = http.createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const front: TokenFront = {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    tokensIssued: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
        agent.destroy();
      }),
  };

  function send(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(res.req.method === 'HEAD' ? undefined : text);
  }

  function issue(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (opts.user !== undefined) {
      const basic = `Basic ${Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64')}`;
      if (req.headers.authorization !== basic) {
        return send(res, 401, { details: 'incorrect username or password' }, { 'www-authenticate': `Basic realm="${SERVICE}"` });
      }
    }
    const token = randomBytes(24).toString('base64url');
    const expiresIn = opts.expiresIn ?? 300;
    // `repository:NAME:pull,push` grants pull only: this front serves reads.
    const asked = url.searchParams.getAll('scope').flatMap((s) => s.split(' '));
    const scopes = asked.map((s) => s.replace(/^(repository:[^:]+):(?:[a-z*]+,)*pull(?:,[a-z*]+)*$/, '$1:pull'));
    tokens.set(token, { scopes: new Set(scopes), expires: Date.now() + expiresIn * 1000 });
    front.tokensIssued++;
    send(res, 200, { token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() });
  }

  function challenge(res: http.ServerResponse, scope: string | undefined, error?: string): void {
    const params = [`realm="${front.url}/token"`, `service="${SERVICE}"`, scope && `scope="${scope}"`, error && `error="${error}"`];
    const detail = scope ? [{ Type: 'repository', Action: 'pull', Name: scope.split(':')[1] }] : null;
    send(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail }] }, {
      'www-authenticate': `Bearer ${params.filter(Boolean).join(',')}`,
      'docker-distribution-api-version': 'registry/2.0',
    });
  }

  function proxy(req: http.IncomingMessage, res: http.ServerResponse): void {
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: upstream.host };
    for (const h of [...HOP_BY_HOP, 'authorization']) delete headers[h];
    const out = http.request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (up) => {
      const back = { ...up.headers };
      for (const h of HOP_BY_HOP) delete back[h];
      res.writeHead(up.statusCode ?? 502, back);
      up.on('error', () => res.destroy()).on('aborted', () => res.destroy()).pipe(res);
    });
    out.on('error', () => res.destroy()).end();
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    front.requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', front.url);
    if (url.pathname === '/token' && req.method === 'GET') return issue(req, res, url);
    if (!url.pathname.startsWith('/v2')) return send(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
    const scope = scopeFor(url.pathname);
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const grant = token ? tokens.get(token) : undefined;
    if (!grant || grant.expires < Date.now()) return challenge(res, scope, token ? 'invalid_token' : undefined);
    if (scope && !grant.scopes.has(scope)) return challenge(res, scope, 'insufficient_scope');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { errors: [{ code: 'UNSUPPORTED', message: 'pull only' }] });
    if (opts.redirectBlobs && req.method === 'GET' && /\/blobs\/sha256:[0-9a-f]{64}$/.test(url.pathname)) {
      res.writeHead(307, { location: new URL(req.url ?? '/', upstream).href, 'content-length': 0 });
      return void res.end();
    }
    proxy(req, res);
  }
  return front;
}
