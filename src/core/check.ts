import { join } from 'node:path';
import { MIRRORS } from '../ecosystems/index.ts';
import type { CheckContext, CheckResult, EcosystemName, Failure, LockfileVerdict } from '../ecosystems/types.ts';
import { createHttp } from '../engine/http.ts';
import { createProgress } from '../engine/progress.ts';
import type { Config } from '../ecosystems/config.ts';
import { describeError } from '../foundation/errors.ts';
import { serve } from './serve.ts';

export type CheckReport = { ok: boolean; ecosystems: Array<{ name: EcosystemName; checked: number; missing: number }>; missing: Failure[]; lockfiles: LockfileVerdict[] };

export type CheckOptions = { /** Count files on disk as mirrored without re-reading them against their digests. */ quick?: boolean };

/**
 * Prove the mirrors are ready before travel: serve them from disk on loopback, then resolve every
 * lockfile entry, requirement, package and image against them — not against any upstream. Sends
 * traffic to 127.0.0.1 only and writes nothing. Files on disk are re-read against their digests
 * unless `quick`. `ok` when nothing is missing and every lockfile installs as its client behaves.
 */
export async function check(config: Config, options: CheckOptions = {}): Promise<CheckReport> {
  const serving = await serve({ config, host: '127.0.0.1', ports: 'ephemeral', outsideNames: false });
  const http = createHttp({ retries: 0, maxDocumentBytes: config.limits.document });
  const report: CheckReport = { ok: true, ecosystems: [], missing: [], lockfiles: [] };
  try {
    for (const mirror of MIRRORS.filter((m) => m.wanted(config))) {
      const servedUrl = serving.mirrors.find((m) => m.name === mirror.name)!.url;
      const ctx: CheckContext = { config, dir: join(config.data, mirror.name), http, progress: createProgress(), concurrency: 16, servedUrl, verifyPresent: !options.quick };
      const result = await mirror.check(ctx).catch((err: unknown): CheckResult => ({
        checked: 0, missing: [{ ecosystem: mirror.name, item: mirror.name, code: 'OFFLINE_ERR_INTERNAL', message: describeError(err) }],
      }));
      report.ecosystems.push({ name: mirror.name, checked: result.checked, missing: result.missing.length });
      report.missing.push(...result.missing);
      report.lockfiles.push(...(result.lockfiles ?? []));
    }
  } finally {
    await http.close();
    await serving.close();
  }
  report.ok = report.missing.length === 0 && report.lockfiles.every((l) => l.ready);
  return report;
}
