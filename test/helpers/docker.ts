/**
 * Docker for system tests: whether it is usable, a tiny local image with busybox, this Node and
 * npm (made with `docker import` from a rootfs assembled here, since no image can be pulled), and
 * `docker run` and network helpers.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, chmod, copyFile, cp, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './run.ts';
import type { RunOptions, RunResult } from './run.ts';

const BUSYBOX = '/bin/busybox';
/** Bump when the rootfs recipe changes, so images built by the old one are not reused. */
const RECIPE = 'offline-test-image/2';
/** yarn 1, which official node images carry at /usr/local/bin/yarn (this project's devDependency). */
const YARN1 = fileURLToPath(new URL('../../node_modules/yarn1/', import.meta.url));
const HASH_LABEL = 'offline.test.hash';

let dockerProbe: Promise<string | undefined> | undefined;

/** `undefined` when this process is root and `docker info` answers, otherwise why not (for `t.skip`). */
export function dockerMissing(): Promise<string | undefined> {
  dockerProbe ??= (async () => {
    if (process.getuid?.() !== 0) return 'not root (Docker networks, namespaces and iptables need root)';
    try {
      const r = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 });
      if (r.code !== 0) return `docker info failed (${r.code}): ${r.stderr.trim().split('\n')[0]} (run .ci/docker)`;
      return undefined;
    } catch (e) {
      return `docker is unavailable: ${(e as Error).message} (run .ci/docker)`;
    }
  })();
  return dockerProbe;
}

/** Runs `docker run --rm ARGS`; never throws on a non-zero exit (see `run`). */
export function dockerRun(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('docker', ['run', '--rm', ...args], opts);
}

/** Runs `docker ARGS` and returns its stdout; throws with the argv and stderr on a non-zero exit. */
async function docker(args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run('docker', args, { timeoutMs: 120_000, ...opts });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (b) => hash.update(b))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Every file `ldd` says `binary` loads, the dynamic loader included, as the paths it names. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const r = await run('ldd', [binary], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`ldd ${binary} exited ${r.code}: ${r.stderr.trim()}`);
  const paths: string[] = [];
  for (const line of r.stdout.split('\n')) {
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) paths.push(m[1]);
  }
  if (paths.length === 0) throw new Error(`ldd ${binary} listed no libraries:\n${r.stdout}`);
  return paths;
}

/** The directory of the npm package the machine's `npm` command runs. */
async function npmPackageDir(): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let script: string;
    try {
      script = await realpath(join(dir, 'npm'));
    } catch {
      continue;
    }
    // …/npm/bin/npm-cli.js (or …/npm/bin/npm): walk up to the package.json that names npm.
    for (let d = dirname(script); d !== dirname(d); d = dirname(d)) {
      try {
        if (JSON.parse(await readFile(join(d, 'package.json'), 'utf8')).name === 'npm') return d;
      } catch {
        // no package.json here
      }
    }
  }
  const root = await run('npm', ['root', '-g'], { timeoutMs: 30_000 }).catch(() => undefined);
  const candidates = [
    ...(root?.code === 0 ? [join(root.stdout.trim(), 'npm')] : []),
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm'),
  ];
  for (const dir of candidates) {
    if (await access(join(dir, 'bin', 'npm-cli.js')).then(() => true, () => false)) return dir;
  }
  throw new Error(`cannot find the npm package (looked for npm on PATH and in ${candidates.join(', ')})`);
}

type ImageInputs = { node: string; libs: string[]; npm: string; hash: string };

/** What goes into the image, and a hash of its content (so a stale image is never reused). */
async function imageInputs(): Promise<ImageInputs> {
  await access(BUSYBOX).catch(() => {
    throw new Error(`${BUSYBOX} is missing: install busybox-static (.ci/docker does)`);
  });
  const node = await realpath(process.execPath);
  const libs = await sharedLibraries(node);
  const npm = await npmPackageDir();
  const hash = createHash('sha256').update(RECIPE);
  for (const file of [BUSYBOX, node, ...libs]) hash.update(`${file}\0${await sha256File(file)}\0`);
  hash.update(`${npm}\0`).update(await readFile(join(npm, 'package.json')));
  hash.update(await readFile(join(YARN1, 'package.json')));
  return { node, libs, npm, hash: hash.digest('hex') };
}

export async function copyInto(root: string, from: string, to: string = from): Promise<void> {
  await mkdir(join(root, dirname(to)), { recursive: true });
  await copyFile(from, join(root, to)); // follows symlinks: the image gets the real bytes
}

/** Lays out the image's root filesystem in `root` (which must not exist yet). */
async function assembleRootfs(root: string, inputs: ImageInputs): Promise<void> {
  for (const d of ['bin', 'etc', 'root', 'tmp', 'usr/local/bin', 'usr/local/lib/node_modules']) {
    await mkdir(join(root, d), { recursive: true });
  }
  await chmod(join(root, 'tmp'), 0o1777);
  await chmod(join(root, 'root'), 0o700);

  await copyInto(root, BUSYBOX);
  const applets = await run(BUSYBOX, ['--list'], { timeoutMs: 30_000 });
  for (const applet of applets.stdout.split('\n').filter((a) => a && a !== 'busybox')) {
    await symlink('busybox', join(root, 'bin', applet));
  }

  await copyInto(root, inputs.node, '/usr/local/bin/node');
  for (const lib of inputs.libs) await copyInto(root, lib);
  await cp(inputs.npm, join(root, 'usr/local/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
  for (const [cmd, cli] of [['npm', 'npm-cli.js'], ['npx', 'npx-cli.js']] as const) {
    const wrapper = join(root, 'usr/local/bin', cmd);
    await writeFile(wrapper, `#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/${cli} "$@"\n`, { mode: 0o755 });
  }
  await cp(YARN1, join(root, 'usr/local/lib/node_modules/yarn'), { recursive: true, verbatimSymlinks: true });
  await writeFile(join(root, 'usr/local/bin/yarn'), '#!/bin/sh\nexec node /usr/local/lib/node_modules/yarn/bin/yarn.js "$@"\n', { mode: 0o755 });

  // Docker bind-mounts /etc/hosts, /etc/hostname and /etc/resolv.conf itself.
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\n');
}

async function buildImage(): Promise<string> {
  const inputs = await imageInputs();
  const tag = `offline-test/node:${inputs.hash.slice(0, 16)}`;
  const label = await run('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${HASH_LABEL}"}}`, tag]);
  if (label.code === 0 && label.stdout.trim() === inputs.hash) return tag;

  const dir = await mkdtemp(join(tmpdir(), 'offline-test-image-'));
  try {
    const root = join(dir, 'rootfs');
    await assembleRootfs(root, inputs);
    const tarball = join(dir, 'rootfs.tar');
    const tar = await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarball, '.']);
    if (tar.code !== 0) throw new Error(`tar of the test image's rootfs failed: ${tar.stderr.trim()}`);
    await docker([
      'import',
      '--change', 'ENV PATH=/usr/local/bin:/bin',
      '--change', 'ENV HOME=/root',
      '--change', `LABEL ${HASH_LABEL}=${inputs.hash}`,
      '--change', 'CMD ["/bin/sh"]',
      '--message', `busybox, node ${process.version}, npm from ${inputs.npm}`,
      tarball,
      tag,
    ]);
    return tag;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let testImage: Promise<string> | undefined;

/**
 * The tag of a local image holding busybox (`/bin/sh`, `ip`, `nc`, …), this process's Node at
 * `/usr/local/bin/node` and the machine's npm at `/usr/local/bin/npm`. Built once per content
 * (tag `offline-test/node:<hash>`, label `offline.test.hash`), reused while the hash matches.
 * Throws when busybox-static is missing or `docker import` fails.
 */
export function ensureTestImage(): Promise<string> {
  testImage ??= buildImage();
  testImage.catch(() => (testImage = undefined)); // a failed build may be retried
  return testImage;
}

export type TestNetworkOptions = {
  /** `--internal` (no route out); default true. */
  internal?: boolean;
  /** A fixed bridge name (`com.docker.network.bridge.name`), at most 15 characters. */
  bridge?: string;
};

export type TestNetwork = { name: string; id: string; subnet: string; bridge: string };

/**
 * Creates the Docker bridge network `name` on `subnet` (internal unless told otherwise), first
 * removing a leftover of that name from an interrupted run.
 */
export async function createTestNetwork(name: string, subnet: string, opts: TestNetworkOptions = {}): Promise<TestNetwork> {
  await removeNetwork(name);
  const args = ['network', 'create', '--driver', 'bridge', '--subnet', subnet];
  if (opts.internal ?? true) args.push('--internal');
  if (opts.bridge) args.push('--opt', `com.docker.network.bridge.name=${opts.bridge}`);
  const id = (await docker([...args, name])).trim();
  return { name, id, subnet, bridge: opts.bridge ?? `br-${id.slice(0, 12)}` };
}

/** Removes network `name`, disconnecting any containers still on it; a no-op when it does not exist. */
export async function removeNetwork(name: string): Promise<void> {
  const inspect = await run('docker', ['network', 'inspect', '--format', '{{range $id, $c := .Containers}}{{$id}} {{end}}', name]);
  if (inspect.code !== 0) return; // no such network
  for (const container of inspect.stdout.trim().split(/\s+/).filter(Boolean)) {
    await run('docker', ['network', 'disconnect', '--force', name, container]);
  }
  const r = await run('docker', ['network', 'rm', name]);
  if (r.code !== 0 && !/not found/i.test(r.stderr)) throw new Error(`docker network rm ${name}: ${r.stderr.trim()}`);
}
