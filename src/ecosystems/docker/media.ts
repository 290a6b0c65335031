/** The manifest media types of the OCI image spec and Docker's registry v2. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');

export type Descriptor = { mediaType?: string; digest: string; size?: number; urls?: string[]; platform?: Platform };
export type Platform = { os: string; architecture: string; variant?: string };
export type ParsedManifest =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] };

/** Read a manifest's kind from its bytes (mediaType field, else the shape). */
export function parseManifest(bytes: Buffer, headerType?: string): ParsedManifest {
  const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
  const mediaType = doc.mediaType ?? headerType ?? (doc.manifests ? OCI_INDEX : OCI_MANIFEST);
  if (doc.manifests) return { kind: 'index', mediaType, manifests: doc.manifests };
  if (!doc.config || !doc.layers) throw new Error(`not an image manifest or index (${mediaType})`);
  return { kind: 'image', mediaType, config: doc.config, layers: doc.layers };
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
