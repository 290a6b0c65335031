/** The Docker mirror's shared types: OCI descriptors and manifests, image references, the store's repository index. */

export type Descriptor = { mediaType?: string; digest: string; size?: number; urls?: string[]; platform?: Platform };
export type Platform = { os: string; architecture: string; variant?: string };
export type ParsedManifest =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] };

/** An image reference resolved the way docker resolves it. */
export type ImageRef = {
  /** Registry host, `docker.io` for Docker Hub. */
  registry: string;
  /** Repository path on that registry; official Docker Hub images carry `library/`. */
  repository: string;
  tag?: string;
  digest?: string;
};

export type RepositoryIndex = {
  registry: string;
  repository: string;
  tags: Record<string, string>;
  manifests: Record<string, { mediaType: string; size: number; platform?: string }>;
};

export type Credentials = { username: string; password: string };

export type Manifest = { bytes: Buffer; mediaType: string; digest: string };
