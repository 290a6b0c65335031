import { InputError } from '../../foundation/errors.ts';
import { COMPONENT, DIGEST, isRegistryHost } from './names.ts';
import type { ImageRef } from './types.ts';


const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Parse `name[:tag][@digest]` as distribution/reference does: the first path component is a
 * registry host when it has a `.` or `:` or is `localhost`; otherwise the image is on Docker Hub,
 * where a single-component name is an official image under `library/`. No tag and no digest
 * means `latest`. Throws `InputError` naming `source` for anything else.
 */
export function parseReference(text: string, source = 'docker.images'): ImageRef {
  const fail = (why: string): never => { throw new InputError(source, `"${text}"`, why); };
  let rest = text.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail('the digest must be sha256: followed by 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`"${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === 'localhost')) registry = parts.shift()!;
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (!isRegistryHost(registry)) fail(`"${registry}" is not a registry host name`);
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) fail('the repository name must be lowercase letters, digits and separators');
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  return { registry, repository: parts.join('/'), ...(tag || !digest ? { tag: tag ?? 'latest' } : {}), ...(digest ? { digest } : {}) };
}

export function formatReference(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The upstream URL for a registry host: `docker.registries`, else Docker Hub's API host or https. */
export function registryUrl(registry: string, registries: Record<string, string>): string {
  const configured = registries[registry];
  if (configured) return configured.replace(/\/+$/, '');
  return registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${registry}`;
}
