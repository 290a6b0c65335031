import { isDigest } from './names.ts';
import type { Descriptor, ParsedManifest, Platform } from './types.ts';

/** The manifest media types of the OCI image spec and Docker's registry v2. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');


const INDEX_TYPES: ReadonlySet<string> = new Set([OCI_INDEX, DOCKER_LIST]);
const IMAGE_TYPES: ReadonlySet<string> = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);

/** True for the four manifest media types this mirror stores and serves. */
export function isManifestType(type: string): boolean {
  return INDEX_TYPES.has(type) || IMAGE_TYPES.has(type);
}

/**
 * Read a manifest's kind and media type from its bytes. The body decides: its `mediaType` field
 * when present, else the header's type, else the OCI type of its shape — and whichever it is must
 * be one of the four manifest types and agree with the shape (an index has `manifests`, an image
 * `config` and `layers`), so what is served as `Content-Type` is what the bytes are. Every
 * descriptor's digest must be a sha256 digest.
 * @throws Error for anything else: not JSON, another type, a shape that contradicts its type.
 */
export function parseManifest(bytes: Buffer, headerType?: string): ParsedManifest {
  const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown };
  if (typeof doc !== 'object' || doc === null) throw new Error('not an image manifest or index');
  const isIndex = Array.isArray(doc.manifests);
  const fallback = headerType && isManifestType(headerType) && INDEX_TYPES.has(headerType) === isIndex ? headerType : isIndex ? OCI_INDEX : OCI_MANIFEST;
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : fallback;
  if (!(isIndex ? INDEX_TYPES : IMAGE_TYPES).has(mediaType)) throw new Error(`not an image manifest or index (${mediaType})`);
  if (isIndex) return { kind: 'index', mediaType, manifests: descriptors(doc.manifests) };
  if (!Array.isArray(doc.layers) || typeof doc.config !== 'object') throw new Error(`not an image manifest or index (${mediaType})`);
  return { kind: 'image', mediaType, config: descriptors([doc.config])[0]!, layers: descriptors(doc.layers) };
}

function descriptors(list: unknown): Descriptor[] {
  return (list as Descriptor[]).map((d) => {
    if (typeof d !== 'object' || d === null || typeof d.digest !== 'string' || !isDigest(d.digest)) {
      throw new Error(`a descriptor's digest is not sha256:<64 hex>: ${JSON.stringify((d as { digest?: unknown } | null)?.digest)}`);
    }
    return d;
  });
}

/** `linux/amd64`, `linux/arm/v7` → Platform. */
export function parsePlatform(text: string): Platform {
  const [os = 'linux', architecture = 'amd64', variant] = text.split('/');
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** As containerd matches: os and architecture equal; a wanted variant must match (arm64's v8 is implied). */
export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (!have) return false;
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (!want.variant) return true;
  return (have.variant ?? (have.architecture === 'arm64' ? 'v8' : '')) === want.variant;
}
