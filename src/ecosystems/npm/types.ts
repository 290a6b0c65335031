/** One registry package version a lockfile pins. */
export type LockEntry = {
  /** The real package name on the registry (an `npm:` alias is resolved to its target). */
  name: string;
  /** An exact semver version. */
  version: string;
  /**
   * The tarball's Subresource Integrity string (`sha512-…`, `sha1-…`, possibly several separated by
   * spaces) when the lockfile records one that covers the registry tarball. yarn berry's `checksum`
   * covers yarn's own zip, not the tarball, so it is not put here.
   */
  integrity?: string;
  /** The tarball URL the lockfile records, when it records one. */
  resolved?: string;
  /** Where the entry came from, for messages: `package-lock.json: packages["node_modules/a"]`. */
  source: string;
};

export type UnmirrorableKind = 'git' | 'file' | 'link' | 'workspace' | 'remote-tarball' | 'other';

/** A dependency a lockfile names that no registry mirror can serve (git, file:, link:, a URL). */
export type Unmirrorable = {
  /** The name the project uses for it. */
  name: string;
  /** The spec or resolution as the lockfile writes it. */
  spec: string;
  kind: UnmirrorableKind;
  source: string;
};

export type LockfileContents = {
  entries: LockEntry[];
  unmirrorable: Unmirrorable[];
};
