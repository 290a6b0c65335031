import { parkBuild } from '../park/build.ts';
import { parkCompose } from '../park/compose.ts';
import { loadFromOptions, type CommonOptions } from './common.ts';

const log = (line: string): void => {
  process.stderr.write(`offline: ${line}\n`);
};

/** `offline build -- ARGS`: docker build on the isolated network; exits with docker's status. */
export async function runBuild(args: string[], opts: CommonOptions): Promise<number> {
  return parkBuild({ config: await loadFromOptions(opts, { requireInputs: false }), args, log });
}

/** `offline compose -- ARGS`: docker compose with the services and builds on the isolated network. */
export async function runCompose(args: string[], opts: CommonOptions): Promise<number> {
  return parkCompose({ config: await loadFromOptions(opts, { requireInputs: false }), args, log });
}
