/** A PEP 508 requirement as an input names it. */
export type Requirement = {
  /** The project name as written. */
  name: string;
  /** PEP 503 normalized name: `re.sub(r"[-_.]+", "-", name).lower()`. */
  normalized: string;
  /** Extras asked for (`pkg[socks,security]`), normalized, sorted. */
  extras: string[];
  /** PEP 440 specifier set as written, comma-separated (`>=1.0,<2`); '' means any version. */
  specifier: string;
  /** The environment marker text after `;`, if any (`python_version < "3.11"`). */
  marker?: string;
  /** A direct reference (`name @ https://…`, a VCS URL, a local path): no index can serve it. */
  url?: string;
  /** sha256 hex digests from `--hash=sha256:…` options (requirements files). */
  hashes: string[];
  /** Where it came from, for messages: `requirements.txt:12`, `poetry.lock: package "idna"`. */
  source: string;
};

/** What one requirements file (with its `-r`/`-c` includes) contributes. */
export type RequirementsContents = {
  requirements: Requirement[];
  /** From `-c` files: they narrow versions but add no projects. */
  constraints: Requirement[];
  /** Options that were ignored (`--index-url`, `--extra-index-url`, `--find-links` …) with where. */
  notes: string[];
};

/** One pinned package from a lockfile that already holds a resolved closure. */
export type LockedPackage = {
  name: string;
  normalized: string;
  version: string;
  /** The files the lockfile allows, when it lists them (filename may be absent in Pipfile.lock). */
  files: Array<{ filename?: string; sha256: string }>;
  /** The marker under which the package is installed, when the lockfile records one. */
  marker?: string;
  source: string;
};

export type LockedContents = { packages: LockedPackage[]; notes: string[] };

/** The values PEP 508 markers are evaluated against, for one target Python and platform. */
export type MarkerEnvironment = {
  python_version: string;
  python_full_version: string;
  os_name: string;
  sys_platform: string;
  platform_system: string;
  platform_machine: string;
  platform_release: string;
  platform_version: string;
  platform_python_implementation: string;
  implementation_name: string;
  implementation_version: string;
  /** The extra being evaluated (`extra == "socks"`), '' outside extras. */
  extra: string;
};
