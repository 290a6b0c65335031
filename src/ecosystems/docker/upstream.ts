import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError, UpstreamError } from '../../foundation/errors.ts';
import type { Http } from '../../engine/http.ts';
import { MANIFEST_ACCEPT } from './media.ts';
import type { Credentials, Manifest } from './types.ts';


/**
 * A read-only client for one registry's distribution API, with the auth Docker Hub and ghcr.io
 * use: a 401 carrying `WWW-Authenticate: Bearer realm=…,service=…,scope=…` is answered by getting a
 * token from the realm (anonymously, or with Basic credentials from the user's Docker config) and
 * retrying; `Basic` challenges get the credentials directly. Tokens are cached per scope.
 */
export type RegistryClient = {
  url: string;
  /** Fetch a manifest by tag or digest; verifies the digest when one is asked for or announced. */
  manifest(repository: string, reference: string): Promise<Manifest | undefined>;
  /** Headers that authorize a blob GET in `repository` (fresh when `refresh`). */
  authorize(repository: string, refresh?: boolean): Promise<Record<string, string>>;
};

export function createRegistryClient(http: Http, url: string, credentials: Credentials | undefined): RegistryClient {
  const tokens = new Map<string, string>();
  let challenge: string | undefined;

  async function authorize(repository: string, refresh = false): Promise<Record<string, string>> {
    if (!challenge) return {};
    if (/^basic/i.test(challenge)) return credentials ? { authorization: basic(credentials) } : {};
    const scope = `repository:${repository}:pull`;
    if (!refresh && tokens.has(scope)) return { authorization: `Bearer ${tokens.get(scope)}` };
    const params = parseChallenge(challenge);
    if (!params.realm) throw new UpstreamError(url, 401, `the registry's auth challenge has no realm: ${challenge}`);
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', scope);
    const headers: Record<string, string> = credentials ? { authorization: basic(credentials) } : {};
    const doc = await http.getJson(tokenUrl.href, headers) as { token?: string; access_token?: string } | undefined;
    const token = doc?.token ?? doc?.access_token;
    if (!token) throw new UpstreamError(tokenUrl.href, undefined, `no token for ${scope}${credentials ? '' : ' (anonymous; add credentials with docker login)'}`);
    tokens.set(scope, token);
    return { authorization: `Bearer ${token}` };
  }

  async function get(path: string, repository: string, accept: string): Promise<{ status: number; body: Buffer; type?: string; digest?: string }> {
    const target = `${url}${path}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers = { accept, ...(await authorize(repository, attempt > 0)) };
      const res = await http.fetch(target, headers);
      const auth = res.headers['www-authenticate'];
      if (res.status === 401 && auth && attempt === 0) {
        challenge = Array.isArray(auth) ? auth[0] : auth;
        continue;
      }
      const one = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h);
      return { status: res.status, body: res.body, type: one(res.headers['content-type']), digest: one(res.headers['docker-content-digest']) };
    }
    throw new UpstreamError(target, 401, 'unauthorized: check the credentials in your Docker config (docker login)');
  }

  return {
    url,
    authorize,
    async manifest(repository, reference) {
      const res = await get(`/v2/${repository}/manifests/${reference}`, repository, MANIFEST_ACCEPT);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw new UpstreamError(`${url}/v2/${repository}/manifests/${reference}`, res.status, errorText(res.body));
      const digest = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
      const expected = reference.startsWith('sha256:') ? reference : res.digest;
      if (expected && expected !== digest) throw new IntegrityError(`${url}/v2/${repository}/manifests/${reference}`, expected, digest);
      return { bytes: res.body, mediaType: (res.type ?? '').split(';')[0]!.trim(), digest };
    },
  };
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

export function parseChallenge(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const m of header.replace(/^\w+\s+/, '').matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return params;
}

function errorText(body: Buffer): string {
  try {
    const doc = JSON.parse(body.toString()) as { errors?: Array<{ code?: string; message?: string }> };
    return doc.errors?.map((e) => `${e.code}: ${e.message}`).join('; ') || 'unexpected answer';
  } catch {
    return 'unexpected answer';
  }
}

/** Credentials for a registry host from `~/.docker/config.json` (`auths[host].auth`), if any. */
export async function dockerCredentials(host: string, configPath = join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json')): Promise<Credentials | undefined> {
  try {
    const doc = JSON.parse(await readFile(configPath, 'utf8')) as { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
    const keys = host === 'docker.io' ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io'] : [host, `https://${host}`];
    for (const key of keys) {
      const entry = doc.auths?.[key];
      if (entry?.auth) {
        const [username = '', ...rest] = Buffer.from(entry.auth, 'base64').toString().split(':');
        return { username, password: rest.join(':') };
      }
      if (entry?.username && entry.password) return { username: entry.username, password: entry.password };
    }
  } catch {
    // no Docker config: anonymous
  }
  return undefined;
}
