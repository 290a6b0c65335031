/**
 * `npm run bench`: every benchmark runs its peer on the same machine in the same run and prints
 * the ratio. Timings are printed, never asserted.
 */
import { benchDocker } from './docker.ts';
import type { BenchRow } from './common.ts';
import { benchNpm } from './npm.ts';
import { benchPacman } from './pacman.ts';
import { benchPypi } from './pypi.ts';

function table(rows: BenchRow[], ratio: [string, number, number]): void {
  const width = Math.max(...rows.map((r) => r.name.length), ratio[0].length);
  for (const r of rows) console.log(`  ${r.name.padEnd(width)}  ${r.seconds.toFixed(2).padStart(8)} s`);
  console.log(`  ${ratio[0].padEnd(width)}  ${(ratio[1] / ratio[2]).toFixed(2).padStart(8)}`);
}

const only = process.env.BENCH_ONLY;
const npm = only && only !== 'npm' ? undefined : await benchNpm(Number(process.env.BENCH_NPM_PACKAGES ?? 1200), 20);
if (npm) table(npm, ['ratio: offline sync / verdaccio npm ci', npm[0]!.seconds, npm[1]!.seconds]);

const pypi = only && only !== 'pypi' ? undefined : await benchPypi(Number(process.env.BENCH_PYPI_PROJECTS ?? 300), 20);
if (pypi) table(pypi, ['ratio: offline sync / pip download', pypi[0]!.seconds, pypi[1]!.seconds]);

const pacman = only && only !== 'pacman' ? undefined : await benchPacman(Number(process.env.BENCH_PACMAN_PACKAGES ?? 120), 20);
if (pacman && pacman.length > 0) table(pacman, ['ratio: offline sync / sequential download', pacman[0]!.seconds, pacman[1]!.seconds]);

const docker = only && only !== 'docker' ? undefined : await benchDocker(Number(process.env.BENCH_DOCKER_IMAGES ?? 12));
if (docker && docker.length > 0) table(docker, ['ratio: offline sync / skopeo sync', docker[0]!.seconds, docker[1]!.seconds]);
