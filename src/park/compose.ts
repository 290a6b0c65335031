import { writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { must } from '../net/runner.ts';
import { composeOverride, splitComposeArgs, type ComposeModel } from './compose-file.ts';
import { attached, checkBuildInputs, classicBuilder, preparePark, reportPark, type BuildInput, type ParkOptions } from './park.ts';

/**
 * `offline compose -- ARGS`: `docker compose ARGS` with the user's compose files and an override,
 * written next to them, that puts every service on the isolated network only and builds on it
 * with the classic builder. The user's files are never edited.
 */
export async function parkCompose(options: ParkOptions): Promise<number> {
  const cwd = options.cwd ?? process.cwd();
  const split = await splitComposeArgs(options.args, cwd, process.env);
  const park = await preparePark(options.config, options.run);
  reportPark(park, options.log);
  const files = split.files.flatMap((f) => ['-f', f]);
  const rendered = await must(park.run, ['docker', 'compose', ...files, ...split.globals, 'config', '--format', 'json']);
  const model = JSON.parse(rendered.stdout) as ComposeModel;
  const inputs: BuildInput[] = [];
  for (const [name, service] of Object.entries(model.services ?? {})) {
    if (service.build) {
      const context = resolve(dirname(split.files[0]!), service.build.context ?? '.');
      const dockerfile = service.build.dockerfile ?? 'Dockerfile';
      inputs.push({ dockerfile: isAbsolute(dockerfile) ? dockerfile : join(context, dockerfile), what: `service ${name}`, args: stringArgs(service.build.args) });
    }
  }
  await checkBuildInputs(options.config, park, inputs);
  const override = join(dirname(split.files[0]!), '.offline.compose.yaml');
  await writeFile(override, composeOverride(model, park.network, park.hosts));
  options.log?.(`services on the isolated network ${park.network} only (override: ${override})`);
  return attached(['docker', 'compose', ...files, '-f', override, ...split.globals, ...split.rest], classicBuilder(), cwd);
}

function stringArgs(args: Record<string, string | null> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(args ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
