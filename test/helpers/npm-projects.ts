/**
 * One fixture project, locked by every real client we support: npm (lockfile v1, v2, v3 with and
 * without `resolved`, shrinkwrap), yarn classic, yarn berry, pnpm 8 (lockfile 6.0) and pnpm 9
 * (lockfile 9.0). Every tool runs against the fixture registry only, with a throwaway HOME, cache
 * and config, so neither the machine's settings nor any other host take part.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { makeTree, rootDependencies } from './npm-fixtures.ts';
import { run } from './run.ts';

export const PROJECT_KINDS = [
  'npm-v1',
  'npm-v2',
  'npm-v3',
  'npm-v3-resolved',
  'shrinkwrap',
  'yarn-classic',
  'yarn-berry',
  'pnpm-v6',
  'pnpm-v9',
] as const;

export type ProjectKind = (typeof PROJECT_KINDS)[number];

/** The lockfile each project kind holds, relative to its directory. */
export const LOCKFILES: Record<ProjectKind, string> = {
  'npm-v1': 'package-lock.json',
  'npm-v2': 'package-lock.json',
  'npm-v3': 'package-lock.json',
  'npm-v3-resolved': 'package-lock.json',
  shrinkwrap: 'npm-shrinkwrap.json',
  'yarn-classic': 'yarn.lock',
  'yarn-berry': 'yarn.lock',
  'pnpm-v6': 'pnpm-lock.yaml',
  'pnpm-v9': 'pnpm-lock.yaml',
};

/** The tree size makeProjects assumes when not given the registry's root dependencies. */
export const DEFAULT_TREE_PACKAGES = 60;

const modules = fileURLToPath(new URL('../../node_modules/', import.meta.url));
export const TOOLS = {
  yarn1: join(modules, 'yarn1/bin/yarn.js'),
  berry: join(modules, 'yarn-berry/bin/yarn.js'),
  pnpm8: join(modules, 'pnpm8/bin/pnpm.cjs'),
  pnpm9: join(modules, 'pnpm9/bin/pnpm.cjs'),
};

type Context = { kind: ProjectKind; dir: string; home: string; registry: string; env: NodeJS.ProcessEnv };

/**
 * An environment that shares nothing with the machine's: its own HOME, XDG dirs and npm cache,
 * no user or global npmrc, the fixture registry for every client, scripts and update checks off.
 */
export function isolatedEnv(home: string, registry: string): NodeJS.ProcessEnv {
  return {
    PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    HOME: home,
    TMPDIR: join(home, 'tmp'),
    LANG: 'C.UTF-8',
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_STATE_HOME: join(home, '.local/state'),
    COREPACK_ENABLE_STRICT: '0',
    COREPACK_ENABLE_DOWNLOAD_PROMPT: '0',
    // npm refuses the same file as user and global config, so the user config is an empty file.
    npm_config_userconfig: join(home, '.npmrc'),
    npm_config_globalconfig: '/dev/null',
    npm_config_cache: join(home, 'npm-cache'),
    npm_config_registry: `${registry}/`,
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_ignore_scripts: 'true',
    // This machine's ~/.npmrc sets it to true; the isolated default (false) records `resolved`.
    npm_config_omit_lockfile_registry_resolved: 'false',
  };
}

async function step(ctx: Context, cmd: string, args: string[], env: NodeJS.ProcessEnv = ctx.env): Promise<void> {
  const r = await run(cmd, args, { cwd: ctx.dir, env, timeoutMs: 600_000 });
  if (r.code === 0) return;
  throw new Error(
    `makeProjects ${ctx.kind}: ${[cmd, ...args].join(' ')} exited with ${r.code}\n` +
      `--- stderr\n${r.stderr}\n--- stdout (tail)\n${r.stdout.slice(-4000)}`,
  );
}

function npmLock(version: 1 | 2 | 3, omitResolved: boolean) {
  return (ctx: Context) =>
    step(ctx, 'npm', ['install', '--package-lock-only', '--ignore-scripts', `--lockfile-version=${version}`], {
      ...ctx.env,
      npm_config_omit_lockfile_registry_resolved: String(omitResolved),
    });
}

async function shrinkwrap(ctx: Context): Promise<void> {
  await npmLock(3, false)(ctx);
  await step(ctx, 'npm', ['shrinkwrap']);
}

async function yarnClassic(ctx: Context): Promise<void> {
  await step(ctx, process.execPath, [
    TOOLS.yarn1, 'install', '--ignore-scripts', '--non-interactive', '--no-progress', '--no-default-rc',
    '--registry', `${ctx.registry}/`, '--cache-folder', join(ctx.home, 'yarn-cache'),
  ], { ...ctx.env, YARN_DISABLE_SELF_UPDATE_CHECK: 'true' }); // not in the shared env: berry rejects unknown YARN_* names
  // yarn 1 has no lockfile-only mode; drop what it installed so later clients start clean.
  await rm(join(ctx.dir, 'node_modules'), { recursive: true, force: true });
}

async function yarnBerry(ctx: Context): Promise<void> {
  const rc = [
    `npmRegistryServer: "${ctx.registry}"`,
    'unsafeHttpWhitelist:',
    '  - "127.0.0.1"',
    'enableTelemetry: false',
    'enableGlobalCache: false',
    'nodeLinker: node-modules',
    '',
  ];
  await writeFile(join(ctx.dir, '.yarnrc.yml'), rc.join('\n'));
  // An empty yarn.lock marks this directory as the project root, whatever its parents hold.
  await writeFile(join(ctx.dir, 'yarn.lock'), '');
  // A full install, as users run it: `--mode=update-lockfile` leaves out the checksums that a
  // later `yarn install --immutable` adds, which immutable mode refuses.
  await step(ctx, process.execPath, [TOOLS.berry, 'install'], {
    ...ctx.env,
    YARN_NPM_REGISTRY_SERVER: ctx.registry,
    YARN_UNSAFE_HTTP_WHITELIST: '127.0.0.1',
    YARN_ENABLE_TELEMETRY: '0',
    YARN_ENABLE_GLOBAL_CACHE: '0',
    YARN_GLOBAL_FOLDER: join(ctx.home, 'berry'),
    YARN_ENABLE_IMMUTABLE_INSTALLS: 'false',
    YARN_ENABLE_SCRIPTS: 'false',
    YARN_IGNORE_PATH: '1',
  });
  // The project cache would let a later `yarn install` skip the mirror under test.
  await rm(join(ctx.dir, '.yarn'), { recursive: true, force: true });
  await rm(join(ctx.dir, 'node_modules'), { recursive: true, force: true });
}

function pnpm(tool: 'pnpm8' | 'pnpm9') {
  return (ctx: Context) =>
    step(ctx, process.execPath, [
      TOOLS[tool], 'install', '--lockfile-only', '--ignore-scripts', '--reporter=append-only',
      '--registry', `${ctx.registry}/`, '--store-dir', join(ctx.home, 'pnpm-store'),
    ]);
}

const GENERATORS: Record<ProjectKind, (ctx: Context) => Promise<void>> = {
  // npm 11 still writes lockfile v1 itself when asked (`lockfile-version` accepts 1, 2, 3).
  'npm-v1': npmLock(1, false),
  'npm-v2': npmLock(2, false),
  // The shape this machine's npm config gives: `version` and `integrity`, no `resolved`.
  'npm-v3': npmLock(3, true),
  'npm-v3-resolved': npmLock(3, false),
  shrinkwrap,
  'yarn-classic': yarnClassic,
  'yarn-berry': yarnBerry,
  'pnpm-v6': pnpm('pnpm8'),
  'pnpm-v9': pnpm('pnpm9'),
};

export type MakeProjectsOptions = {
  /** The project's `dependencies`; default `rootDependencies(makeTree({ packages: 60 }))`. */
  dependencies?: Record<string, string>;
  /** How many tools run at once; default 3. */
  concurrency?: number;
};

/**
 * Writes `dir/<kind>/` for every project kind: the same package.json, the lockfile the real tool
 * wrote against `registryUrl` (see LOCKFILES), and `package-lock.npm.json`, a copy of the
 * npm-v3 lockfile (no `resolved`) to swap in before an `npm ci`. Regenerates on every call.
 * Rejects with the tool's stderr when any tool fails.
 */
export async function makeProjects(
  registryUrl: string,
  dir: string,
  opts: MakeProjectsOptions = {},
): Promise<Record<ProjectKind, string>> {
  const registry = registryUrl.replace(/\/+$/, '');
  const dependencies = opts.dependencies ?? rootDependencies(makeTree({ packages: DEFAULT_TREE_PACKAGES }));
  const packageJson = `${JSON.stringify({ name: 'fixture-project', version: '1.0.0', private: true, dependencies }, null, 2)}\n`;
  const homes = await mkdtemp(join(tmpdir(), 'offline-npm-projects-'));
  const limit = pLimit(opts.concurrency ?? 3);
  const dirs = Object.fromEntries(PROJECT_KINDS.map((k) => [k, join(dir, k)])) as Record<ProjectKind, string>;
  try {
    await Promise.all(
      PROJECT_KINDS.map((kind) =>
        limit(async () => {
          const home = join(homes, kind);
          await mkdir(join(home, 'tmp'), { recursive: true });
          await writeFile(join(home, '.npmrc'), '');
          await rm(dirs[kind], { recursive: true, force: true });
          await mkdir(dirs[kind], { recursive: true });
          await writeFile(join(dirs[kind], 'package.json'), packageJson);
          await GENERATORS[kind]({ kind, dir: dirs[kind], home, registry, env: isolatedEnv(home, registry) });
        }),
      ),
    );
    const npmV3 = join(dirs['npm-v3'], 'package-lock.json');
    await Promise.all(PROJECT_KINDS.map((k) => copyFile(npmV3, join(dirs[k], 'package-lock.npm.json'))));
    return dirs;
  } finally {
    await rm(homes, { recursive: true, force: true });
  }
}
