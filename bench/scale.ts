/**
 * Scale figures (no peer): how sync grows with the inputs, and its peak memory.
 * - npm: synthetic lockfiles of ~2,500 and ~10,000 versions from a local upstream with no added
 *   latency: the first sync, then a re-sync with nothing to do (which makes no upstream request),
 *   each with its peak RSS; time per 1,000 versions at both sizes shows whether it grows linearly.
 * - pacman: databases of 5,000 and 15,000 entries (like Arch's extra) in which a few targets
 *   pull the same deep closure: the sync's time and peak RSS at both sizes show that resolving
 *   against three times the entries does not cost nine times as much.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeRepoDb } from '../src/ecosystems/pacman/repo-db.ts';
import type { PkgDesc } from '../src/ecosystems/pacman/types.ts';
import { makeTree, startRegistry } from '../test/helpers/npm-fixtures.ts';
import { startStaticServer } from '../test/helpers/static-server.ts';
import { run } from '../test/helpers/run.ts';
import { BIN, must, type Row } from './common.ts';

/** `offline sync -c config` under GNU time: seconds and peak RSS in MB. */
async function measuredSync(config: string): Promise<{ seconds: number; rssMb: number; stdout: string }> {
  const start = performance.now();
  const r = await run('/usr/bin/time', ['-f', 'peak-rss-kb %M', process.execPath, BIN, 'sync', '-c', config, '--json'], { timeoutMs: 1_800_000 });
  const seconds = (performance.now() - start) / 1000;
  must(r, 'offline sync');
  const kb = Number(/peak-rss-kb (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { seconds, rssMb: kb / 1024, stdout: r.stdout };
}

/** A package-lock v3 naming every version of `tree`: the first of a name at the top, others nested. */
function syntheticLockfile(tree: ReturnType<typeof makeTree>, url: string): string {
  const packages: Record<string, unknown> = { '': { name: 'scale', version: '1.0.0' } };
  for (const pkg of tree) {
    pkg.versions.forEach((v, i) => {
      const base = pkg.name.split('/').at(-1)!;
      const path = i === 0 ? `node_modules/${pkg.name}` : `node_modules/scale-nest-${i}/node_modules/${pkg.name}`;
      packages[path] = {
        version: v.manifest.version,
        resolved: `${url}/${pkg.name}/-/${base}-${v.manifest.version}.tgz`,
        integrity: v.integrity ?? `sha1-${Buffer.from(v.shasum, 'hex').toString('base64')}`,
      };
    });
  }
  return JSON.stringify({ name: 'scale', version: '1.0.0', lockfileVersion: 3, requires: true, packages });
}

async function npmScale(work: string, packages: number): Promise<Row[]> {
  const tree = makeTree({ packages, seed: `scale-${packages}` });
  const versions = tree.reduce((n, p) => n + p.versions.length, 0);
  const upstream = await startRegistry(tree);
  try {
    const dir = join(work, `npm-${packages}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'package-lock.json'), syntheticLockfile(tree, upstream.url));
    const config = join(dir, 'offline.yaml');
    await writeFile(config, stringify({ data: './mirrors', npm: { upstream: upstream.url, lockfiles: ['package-lock.json'] } }));
    const first = await measuredSync(config);
    const asked = upstream.requests.length;
    const again = await measuredSync(config);
    const perThousand = (s: number) => `${((s * 1000) / versions).toFixed(2)} s per 1,000`;
    return [
      { benchmark: `scale: npm sync of ${versions.toLocaleString('en')} versions (no added latency)`, offline: `${first.seconds.toFixed(1)} s (${perThousand(first.seconds)}), peak RSS ${first.rssMb.toFixed(0)} MB` },
      { benchmark: `scale: npm re-sync of ${versions.toLocaleString('en')} versions, nothing to do`, offline: `${again.seconds.toFixed(2)} s (${perThousand(again.seconds)}), ${upstream.requests.length - asked} upstream requests, peak RSS ${again.rssMb.toFixed(0)} MB` },
    ];
  } finally {
    await upstream.close();
  }
}

/**
 * An `extra` database of `entries`: `lib-N` depends on two higher-numbered libs, so each of the
 * 20 targets pulls a deep closure; only the closure's files exist (small, with real digests).
 */
async function pacmanScale(work: string, entries: number): Promise<Row[]> {
  const root = join(work, `pacman-upstream-${entries}`);
  const repoDir = join(root, 'extra', 'os', 'x86_64');
  await mkdir(repoDir, { recursive: true });
  const name = (i: number) => `lib-${i}`;
  // A heap: lib-N below 1,000 depends on lib-(2N+1) and lib-(2N+2), so lib-0 alone pulls lib-0 …
  // lib-2000, 20 targets share that closure, and the other 13,000 entries are resolved past.
  const deep = 1000;
  const depends = (i: number) => (i < deep ? [i * 2 + 1, i * 2 + 2].filter((d) => d < entries).map(name) : []);
  const closure = new Set(Array.from({ length: 2 * deep + 1 }, (_, i) => i));
  const targets = Array.from({ length: 20 }, (_, i) => i);
  const packages: PkgDesc[] = [];
  for (let i = 0; i < entries; i++) {
    const filename = `${name(i)}-1.0-1-x86_64.pkg.tar.zst`;
    const bytes = closure.has(i) ? randomBytes(256) : undefined;
    if (bytes) await writeFile(join(repoDir, filename), bytes);
    const sha256 = createHash('sha256').update(bytes ?? filename).digest('hex');
    const desc = [`%FILENAME%\n${filename}`, `%NAME%\n${name(i)}`, '%VERSION%\n1.0-1', `%CSIZE%\n${bytes?.length ?? 256}`, `%SHA256SUM%\n${sha256}`, '%ARCH%\nx86_64',
      ...(depends(i).length ? [`%DEPENDS%\n${depends(i).join('\n')}`] : [])].join('\n\n');
    packages.push({ repo: 'extra', filename, name: name(i), version: '1.0-1', arch: 'x86_64', depends: depends(i), provides: [], groups: [], entry: `${name(i)}-1.0-1`, files: { desc: Buffer.from(`${desc}\n`) } } as PkgDesc);
  }
  await writeFile(join(repoDir, 'extra.db'), writeRepoDb(packages));
  const upstream = await startStaticServer(root);
  try {
    const config = join(work, `pacman-${entries}.yaml`);
    await writeFile(config, stringify({ data: `./pacman-mirror-${entries}`, pacman: { upstream: `${upstream.url}/$repo/os/$arch`, repos: ['extra'], arch: ['x86_64'], packages: targets.map(name) } }));
    const synced = await measuredSync(config);
    const report = JSON.parse(synced.stdout) as { ecosystems: Array<{ summary: Record<string, number> }> };
    const mirrored = report.ecosystems[0]?.summary.packages ?? 0;
    return [{ benchmark: `scale: pacman sync, ${entries.toLocaleString('en')}-entry database, closure of ${mirrored.toLocaleString('en')}`, offline: `${synced.seconds.toFixed(1)} s, peak RSS ${synced.rssMb.toFixed(0)} MB` }];
  } finally {
    await upstream.close();
  }
}

export async function benchScale(): Promise<Row[]> {
  if ((await run('sh', ['-c', 'command -v /usr/bin/time'])).code !== 0) {
    console.log('scale: skipped: GNU time (apt-get install time) measures the peak RSS');
    return [];
  }
  const work = await mkdtemp(join(tmpdir(), 'offline-bench-scale-'));
  try {
    return [...(await npmScale(work, 2000)), ...(await npmScale(work, 7800)), ...(await pacmanScale(work, 5000)), ...(await pacmanScale(work, 15_000))];
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
