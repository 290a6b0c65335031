import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError, UpstreamError } from '../../foundation/errors.ts';
import { headerValue, type Authorizer, type Http } from '../../engine/http.ts';
import { MANIFEST_ACCEPT } from './media.ts';
import type { Credentials, Manifest } from './types.ts';


/**
 * A read-only client for one registry's distribution API, with the auth Docker Hub and ghcr.io
 * use (the OCI distribution spec's token flow): a 401 carrying `WWW-Authenticate: Bearer
 * realm=…,service=…,scope=…` is answered by getting a token from the realm (anonymously, or with
 * Basic credentials from the user's Docker config) and retrying; `Basic` challenges get the
 * credentials directly. Tokens are cached per scope. Every request, blobs included, goes through
 * the engine's HTTP client with the repository's `Authorizer`.
 */
export type RegistryClient = {
  url: string;
  /** Fetch a manifest by tag or digest; verifies the digest when one is asked for or announced. */
  manifest(repository: string, reference: string): Promise<Manifest | undefined>;
  /** What authorizes requests in `repository` (manifests, blob downloads). */
  authorizer(repository: string): Authorizer;
};

export function createRegistryClient(http: Http, url: string, credentials: Credentials | undefined): RegistryClient {
  const tokens = new Map<string, Promise<string>>();
  /** The registry's last challenge; none until it asks for authorization. */
  let challenge: string | undefined;

  async function fetchToken(scope: string, bearer: string): Promise<string> {
    const params = parseChallenge(bearer);
    if (!params.realm) throw new UpstreamError(url, 401, `the registry's auth challenge has no realm: ${bearer}`);
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', scope);
    const headers: Record<string, string> = credentials ? { authorization: basic(credentials) } : {};
    const doc = await http.getJson(tokenUrl.href, headers) as { token?: string; access_token?: string } | undefined;
    const token = doc?.token ?? doc?.access_token;
    if (!token) throw new UpstreamError(tokenUrl.href, undefined, `no token for ${scope}${credentials ? '' : ' (anonymous; add credentials with docker login)'}`);
    return token;
  }

  /** The scope's token, fetched once however many requests want it at the same time. */
  function token(scope: string, bearer: string): Promise<string> {
    let pending = tokens.get(scope);
    if (!pending) {
      pending = fetchToken(scope, bearer);
      tokens.set(scope, pending);
      const mine = pending;
      pending.catch(() => tokens.get(scope) === mine && tokens.delete(scope));
    }
    return pending;
  }

  function authorizer(repository: string): Authorizer {
    const scope = `repository:${repository}:pull`;
    return {
      advice: 'check the credentials in your Docker config (docker login)',
      async headers(): Promise<Record<string, string>> {
        if (!challenge) return {};
        if (isBasic(challenge)) return credentials ? { authorization: basic(credentials) } : {};
        return { authorization: `Bearer ${await token(scope, challenge)}` };
      },
      async challenged(_url, header) {
        if (header) challenge = header;
        tokens.delete(scope);
        if (!challenge) return false;
        return !isBasic(challenge) || credentials !== undefined;
      },
    };
  }

  return {
    url,
    authorizer,
    async manifest(repository, reference) {
      const target = `${url}/v2/${repository}/manifests/${reference}`;
      const res = await http.fetch(target, { accept: MANIFEST_ACCEPT }, {
        statuses: [200, 404], authorizer: authorizer(repository), what: 'cannot fetch the manifest', explain: errorText,
      });
      if (res.status === 404) return undefined;
      const digest = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
      const expected = reference.startsWith('sha256:') ? reference : headerValue(res.headers['docker-content-digest']);
      if (expected && expected !== digest) throw new IntegrityError(target, expected, digest);
      return { bytes: res.body, mediaType: (headerValue(res.headers['content-type']) ?? '').split(';')[0]!.trim(), digest };
    },
  };
}

function isBasic(challenge: string): boolean {
  return /^basic/i.test(challenge);
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

export function parseChallenge(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const m of header.replace(/^\w+\s+/, '').matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return params;
}

/** The registry's own words for a refusal: its `errors` document (OCI distribution spec). */
function errorText(body: Buffer): string | undefined {
  try {
    const doc = JSON.parse(body.toString()) as { errors?: Array<{ code?: string; message?: string }> };
    return doc.errors?.map((e) => `${e.code}: ${e.message}`).join('; ') || undefined;
  } catch {
    return undefined;
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
