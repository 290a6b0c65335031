import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildArgs, clientEnv, imageSettings, shellExports } from '../core/env.ts';
import { EXIT, loadFromOptions, type CommonOptions } from './common.ts';

export type EnvCliOptions = CommonOptions & { address?: string; write?: string; buildArgs?: boolean };

/** `offline env`: shell exports on stdout, or the client files written to a directory. */
export async function runEnv(opts: EnvCliOptions): Promise<number> {
  const config = await loadFromOptions(opts, { requireInputs: false });
  const env = clientEnv(config, opts.address);
  if (opts.buildArgs) {
    process.stdout.write(buildArgs(imageSettings(config, env.address).env));
    return EXIT.ok;
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(env, null, 2)}\n`);
    return EXIT.ok;
  }
  if (!opts.write) {
    process.stdout.write(shellExports(env.exports));
    return EXIT.ok;
  }
  const dir = resolve(opts.write);
  await mkdir(dir, { recursive: true });
  for (const file of env.files) {
    await writeFile(join(dir, file.name), file.content);
    process.stdout.write(`${join(dir, file.name)}: ${file.description}\n`);
  }
  await writeFile(join(dir, 'env.sh'), shellExports(env.exports));
  process.stdout.write(`${join(dir, 'env.sh')}: shell exports (. ${join(dir, 'env.sh')})\n`);
  return EXIT.ok;
}
