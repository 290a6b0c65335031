import type { RequestListener } from 'node:http';
import type { Config, EcosystemName } from './config.ts';
import type { DownloadItem } from '../engine/download.ts';
import type { Http } from '../engine/http.ts';
import type { Progress } from '../engine/progress.ts';
import type { RequestLog } from '../foundation/request-log.ts';

export type { EcosystemName };

/** Something a sync could not do, reported with every detail a user needs to act on it. */
export type Failure = {
  ecosystem: EcosystemName;
  /** What failed: `lodash@4.17.21`, `npm.packages[2] "foo@^9"`. */
  item: string;
  code: string;
  message: string;
  url?: string;
  expected?: string;
  actual?: string;
};

/**
 * Something worth telling that needs no action. Many alike are one note that counts them, with the
 * entries in `details` (listed by `sync --verbose` and in `--json`), so they never bury a failure.
 */
export type Note = { ecosystem: EcosystemName; message: string; details?: string[] };

export type SyncContext = {
  config: Config;
  /** This ecosystem's directory under `config.data`. */
  dir: string;
  http: Http;
  progress: Progress;
  /** Parallel metadata fetches allowed at once. */
  concurrency: number;
  signal?: AbortSignal;
  /**
   * `false`: a file already on disk counts as mirrored without re-reading it against its digest
   * (`check --quick`). Otherwise a present file that does not match is planned again.
   */
  verifyPresent?: boolean;
  /**
   * Start a download now, while planning goes on (the engine fetches each file once; the plan
   * still lists it in `downloads`, where its outcome is collected). Absent in `check`, which
   * downloads nothing. Resolves true once the file is verified on disk, false when it failed
   * (the failure is reported with the outcomes); never rejects.
   */
  start?(item: DownloadItem): Promise<boolean>;
};

/** A download's outcome as the commit step sees it. */
export type DownloadOutcome =
  | { item: DownloadItem; status: 'downloaded' | 'present' | 'absent'; bytes: number }
  | { item: DownloadItem; status: 'failed'; failure: Failure };

/** What one ecosystem wants fetched, and how to publish it once fetched. */
export type MirrorPlan = {
  downloads: DownloadItem[];
  /** Items the inputs name that an earlier sync already mirrored and verified. */
  present: number;
  /** Failures found while resolving (not found upstream, unsatisfiable, malformed input). */
  failures: Failure[];
  notes: Note[];
  /** Counts for the report: what the inputs named. */
  summary: Record<string, number>;
  /**
   * Publish what was fetched: write the metadata that makes verified files visible to clients.
   * Called once after every download settled; must only reference files that are present, and
   * must leave the previously served state intact if it throws.
   */
  commit(outcomes: DownloadOutcome[]): Promise<Failure[]>;
};

/** `requests`: where every request the mirror answers is recorded (pass `ctx` to `startMirrorServer`). */
/** A request a mirror answered 404, as the request log recorded it (`path` with its query). */
export type MissRequest = { method: string; path: string };

export type ServeContext = { config: Config; dir: string; host: string; port: number; requests?: RequestLog };

/**
 * A mirror serving in this process. `close` stops accepting and ends open connections. `named`:
 * handlers for the outside names it answers over https on the isolated network (see `Mirror.names`).
 */
export type RunningMirror = { name: EcosystemName; url: string; close(): Promise<void>; named?: Record<string, RequestListener> };

export type MirrorStatus = {
  name: EcosystemName;
  /** Ecosystem-specific counts: packages, versions, tarballs, bytes … */
  counts: Record<string, number>;
};

/** What `offline check` gets: the mirror already serving from disk on loopback at `servedUrl`. */
export type CheckContext = SyncContext & { servedUrl: string };

/**
 * Whether one lockfile installs from the mirror alone, as its own client behaves: `ready` in park
 * builds and containers on the isolated network. `problems` each name the file and line to fix;
 * `host`: what fails only when installing on this machine, outside the isolated network (URLs of
 * outside names offline answers there only); `local` counts workspace links and `file:` entries (fine).
 */
export type LockfileVerdict = { file: string; client: string; ready: boolean; problems: string[]; host: string[]; local: number };

/** `checked`: items the inputs name; `missing`: those the mirror could not serve offline; `lockfiles`: per lockfile, ready or why not. */
export type CheckResult = { checked: number; missing: Failure[]; lockfiles?: LockfileVerdict[] };

/** One file `offline env --write` produces for a client on this machine or to COPY into an image. */
export type ClientFile = { name: string; description: string; content: string };

/** A file a base image gets so RUN steps FROM it use a mirror; only put in an image that has `when`, if given. */
export type ImageFile = { path: string; content: string; when?: string };

/**
 * How clients reach one mirror served on an address: what `offline env` prints and writes, and
 * what a base image handed to the daemon carries (environment and files), so that the RUN steps of
 * an unmodified Dockerfile FROM it install from the mirror.
 */
export type MirrorClients = {
  /** The URL (for Docker: the registry host) clients use. */
  url: string;
  /** Shell exports for clients on this machine. */
  exports: Record<string, string>;
  files: ClientFile[];
  image: { env: Record<string, string>; files: ImageFile[] };
};

/** The address as a URL host (IPv6 in brackets), and whether it is loopback (plain http allowed everywhere). */
export type ClientAddress = { address: string; host: string; loopback: boolean };

/**
 * What `offline scan` (and a park build's checks) read from a project for one mirror: the input
 * files the config lists, and the packages a Dockerfile's RUN lines install. Keys are config paths.
 */
export type MirrorInputs = {
  /** Lockfiles or requirements: the config key, the kind `scan` reports, which file names are ones. */
  files?: { key: string; kind: string; matches(name: string): boolean };
  /** True for the mirror whose packages are base images: Dockerfile FROM lines and compose `image:` keys. */
  images?: boolean;
  /** Package specs: the config key, what one RUN command (split into words) installs, the name a spec is about. */
  packages: {
    key: string;
    installs?(words: string[]): string[];
    name(spec: string): string;
    /** Of `specs`, those the published mirror in `dir` cannot satisfy, each with why. Reads disk only. */
    unserved?(dir: string, specs: string[]): Promise<Array<{ spec: string; message: string }>>;
  };
};

/**
 * One ecosystem's mirror. The engine (plan, fetch, verify, commit, serve, status) talks to every
 * ecosystem through this interface only and never branches on a name.
 */
export type Mirror = {
  readonly name: EcosystemName;
  /** The config key holding this mirror's port. */
  port(config: Config): number;
  /**
   * Outside host names whose https URLs this mirror's clients fetch as written (lockfile URLs no
   * setting rewrites). On the isolated network they resolve to the mirror address and are answered
   * there with offline's certificate (docs/adr/0009); never on the host.
   */
  names?(config: Config): string[];
  /** True when the config names anything for this mirror to sync. */
  wanted(config: Config): boolean;
  /** Resolve the inputs against the upstream into downloads. Network: metadata only. */
  plan(ctx: SyncContext): Promise<MirrorPlan>;
  /** Serve the mirrored content from disk only; never contacts an upstream. */
  serve(ctx: ServeContext): Promise<RunningMirror>;
  status(config: Config, dir: string): Promise<MirrorStatus>;
  /**
   * What a request this mirror answered 404 asked for, as an item of `inputs.packages.key` a sync
   * can fetch (the misses ledger, docs/adr/0015); undefined when it is no client's want (probes,
   * audits, favicons) or not a valid name. The request is hostile: validate before returning.
   */
  miss(request: MissRequest): string | undefined;
  /** Why this mirror records no misses, when it cannot see them (pacman). */
  readonly missesUnseen?: string;
  /** What a project's files and Dockerfiles ask of this mirror. */
  readonly inputs: MirrorInputs;
  /** How clients reach this mirror on `at`: URLs, exports, files, what a base image carries. */
  clients(config: Config, at: ClientAddress): MirrorClients;
  /**
   * Prove readiness: resolve every input against the mirror itself (serving from disk at
   * `servedUrl`), never the upstream, and list what it could not serve. Writes nothing.
   */
  check(ctx: CheckContext): Promise<CheckResult>;
};
