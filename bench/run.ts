/**
 * `npm run bench`: every benchmark runs its peer on the same machine in the same run and prints
 * the ratio. Timings are printed, never asserted.
 */
import { benchNpm, type BenchRow } from './npm.ts';

function table(rows: BenchRow[], ratio: [string, number, number]): void {
  const width = Math.max(...rows.map((r) => r.name.length), ratio[0].length);
  for (const r of rows) console.log(`  ${r.name.padEnd(width)}  ${r.seconds.toFixed(2).padStart(8)} s`);
  console.log(`  ${ratio[0].padEnd(width)}  ${(ratio[1] / ratio[2]).toFixed(2).padStart(8)}`);
}

const npm = await benchNpm(Number(process.env.BENCH_NPM_PACKAGES ?? 1200), 20);
table(npm, ['ratio: offline sync / verdaccio npm ci', npm[0]!.seconds, npm[1]!.seconds]);
