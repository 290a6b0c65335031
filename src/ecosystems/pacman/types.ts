/** A dependency relation as alpm writes it: `name`, `name>=1.2-3`, `libfoo.so=1-64`. */
export type Relation = {
  name: string;
  op?: '<' | '<=' | '=' | '>=' | '>';
  /** `[epoch:]pkgver[-pkgrel]` */
  version?: string;
};

/** One package entry of a sync database (`name-ver-rel/desc`). */
export type PkgDesc = {
  repo: string;
  filename: string;
  name: string;
  base?: string;
  /** `[epoch:]pkgver-pkgrel` */
  version: string;
  arch: string;
  /** Compressed (download) size in bytes. */
  csize?: number;
  sha256?: string;
  /** The detached signature, base64, when the database carries it. */
  pgpsig?: string;
  depends: string[];
  provides: string[];
  groups: string[];
  /** The directory name of the entry in the database (`name-ver-rel`). */
  entry: string;
  /**
   * Every file of the entry as the database holds it (`desc`, and `depends`/`files` in older
   * formats), byte for byte, so a database rebuilt for a subset carries exactly upstream's data.
   */
  files: Record<string, Buffer>;
};

export type RepoDb = { repo: string; packages: PkgDesc[] };
