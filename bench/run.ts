/**
 * `npm run bench`: every benchmark runs its peer on the same machine in the same run; the summary
 * gives offline's speed relative to the peer's (above 1: offline is faster). Timings are printed,
 * never asserted. `BENCH_ONLY=npm,pacman` runs some (npm, pypi, pacman, docker, scale, big).
 */
import { benchBigMirror } from './big-mirror.ts';
import { benchDocker } from './docker.ts';
import type { Row } from './common.ts';
import { benchNpm } from './npm.ts';
import { benchPacman } from './pacman.ts';
import { benchPypi } from './pypi.ts';
import { benchScale } from './scale.ts';

const only = process.env.BENCH_ONLY?.split(',');
const benches: [string, () => Promise<Row[]>][] = [
  ['npm', () => benchNpm(Number(process.env.BENCH_NPM_PACKAGES ?? 530), 20)],
  ['pypi', () => benchPypi(Number(process.env.BENCH_PYPI_PROJECTS ?? 300), 20)],
  ['pacman', () => benchPacman(Number(process.env.BENCH_PACMAN_PACKAGES ?? 240), 20)],
  ['docker', () => benchDocker(Number(process.env.BENCH_DOCKER_IMAGES ?? 4))],
  ['scale', () => benchScale()],
  ['big', () => benchBigMirror()],
];

const rows: Row[] = [];
for (const [name, bench] of benches) {
  if (only && !only.includes(name)) continue;
  try {
    rows.push(...(await bench()));
  } catch (err) {
    // One failing benchmark must not lose the others' rows.
    console.error(`${name}: failed: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

console.log('\n| benchmark | offline | peer | offline speed / peer |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.benchmark} | ${r.offline} | ${r.peer ?? ''} | ${r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`} |`);
