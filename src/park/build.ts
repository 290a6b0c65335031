import { isAbsolute, join, resolve } from 'node:path';
import { InputError } from '../foundation/errors.ts';
import { attached, checkBuildInputs, classicBuilder, preparePark, reportPark, type ParkOptions } from './park.ts';

/** `docker build` options that take a value (so the context is found among the positionals). */
const BUILD_VALUE_OPTIONS = new Set([
  '-t', '--tag', '-f', '--file', '--build-arg', '--label', '--target', '--platform', '--cache-from', '--iidfile', '--add-host',
  '--cgroup-parent', '--cpu-period', '--cpu-quota', '-c', '--cpu-shares', '--cpuset-cpus', '--cpuset-mems', '-m', '--memory',
  '--memory-swap', '--shm-size', '--ulimit', '--isolation', '--security-opt', '--network',
]);

/** The context, Dockerfile and build args a `docker build` argument list names. */
export function buildTarget(args: string[], cwd: string): { context?: string; dockerfile?: string; buildArgs: Record<string, string>; network?: string } {
  const positionals: string[] = [];
  const buildArgs: Record<string, string> = {};
  let file: string | undefined;
  let network: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (BUILD_VALUE_OPTIONS.has(flag)) {
      const value = inline ?? args[++i] ?? '';
      if (flag === '-f' || flag === '--file') file = value;
      if (flag === '--network') network = value;
      if (flag === '--build-arg' && value.includes('=')) buildArgs[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1);
    } else if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
    }
  }
  const context = positionals[0];
  if (!context || context === '-' || /^[a-z]+:\/\/|^git@/.test(context)) return { buildArgs, ...(network ? { network } : {}) };
  const dir = resolve(cwd, context);
  return { context: dir, dockerfile: file ? (isAbsolute(file) ? file : resolve(cwd, file)) : join(dir, 'Dockerfile'), buildArgs, ...(network ? { network } : {}) };
}

/**
 * `offline build -- ARGS`: `docker build ARGS` with the classic builder on the isolated network,
 * after checking that the mirrors are up and the Dockerfile's base images are loaded.
 */
export async function parkBuild(options: ParkOptions): Promise<number> {
  const cwd = options.cwd ?? process.cwd();
  const target = buildTarget(options.args, cwd);
  const park = await preparePark(options.config, options.run);
  if (target.network && target.network !== park.network) {
    throw new InputError('offline build', `--network ${target.network}`, `RUN steps run on the isolated network ${park.network}; leave --network out`);
  }
  reportPark(park, options.log);
  if (target.dockerfile) await checkBuildInputs(options.config, park, [{ dockerfile: target.dockerfile, what: 'docker build', args: target.buildArgs }]);
  const args = [...(target.network ? [] : ['--network', park.network]), ...park.hosts.flatMap((h) => ['--add-host', h]), ...options.args];
  return attached(['docker', 'build', ...args], classicBuilder(), cwd);
}
