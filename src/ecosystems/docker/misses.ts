/**
 * What a Docker client missed, from the path the registry API answered 404 (docs/adr/0015): a
 * manifest (`/v2/library/node/manifests/24`, with `?ns=docker.io` when the daemon asks through
 * `registry-mirrors`) is that image reference. Blobs (their manifest was served, so a missing blob
 * is a damaged mirror, which `offline check` finds), tag lists and the `/v2/` probe are not.
 */
import type { MissRequest } from '../types.ts';
import { formatReference, parseReference } from './reference.ts';
import { isDigest, isRegistryHost } from './names.ts';

const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/;

export function dockerMiss(request: MissRequest): string | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  // As the registry app sees it: the path as sent (no dot segments resolved), then the query.
  const [path = '', query = ''] = request.path.split('?', 2);
  const m = MANIFEST.exec(path);
  if (!m) return undefined;
  const [, name, ref] = m as unknown as [string, string, string];
  const ns = new URLSearchParams(query).get('ns');
  const registry = ns && isRegistryHost(ns) ? `${ns === 'index.docker.io' ? 'docker.io' : ns}/` : '';
  try {
    return formatReference(parseReference(`${registry}${name}${isDigest(ref) ? '@' : ':'}${ref}`, 'a request'));
  } catch {
    return undefined;
  }
}
