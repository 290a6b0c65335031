/**
 * The OCI distribution names the store turns into paths: registry hosts, repository names and
 * digests, matched strictly (distribution/reference's grammar; sha256 digests only). Checked
 * before any of them touches the disk (see engine/contain.ts).
 */
import { UnsafeInputError } from '../../foundation/errors.ts';

export const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
// domain-component ('.' domain-component)* [':' port]
const HOST = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]{1,5})?$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** `docker.io`, `ghcr.io`, `localhost:5000`, `registry.example.com`. */
export function isRegistryHost(value: string): boolean {
  return value.length <= 255 && HOST.test(value);
}

/** `library/node`, `org/app`: slash-separated components of lowercase letters, digits and separators. */
export function isRepositoryName(value: string): boolean {
  return value.length <= 255 && value.split('/').every((c) => COMPONENT.test(c));
}

/** The hex of a `sha256:<64 hex>` digest. @throws UnsafeInputError for anything else. */
export function digestHex(digest: string): string {
  if (!isDigest(digest)) throw new UnsafeInputError('digest', digest, 'not sha256: followed by 64 lowercase hex digits');
  return digest.slice('sha256:'.length);
}

/** The path segments of a repository on a registry. @throws UnsafeInputError. */
export function repositorySegments(registry: string, repository: string): string[] {
  if (!isRegistryHost(registry)) throw new UnsafeInputError('registry host', registry, 'not a host name with an optional port');
  if (!isRepositoryName(repository)) throw new UnsafeInputError('repository name', repository, 'not an OCI repository name');
  return [registry, ...repository.split('/')];
}
