import { spawn } from 'node:child_process';
import { CommandError, TimeLimitError } from '../foundation/errors.ts';

export type CommandResult = { code: number; stdout: string; stderr: string };

/**
 * Runs one command. Injected everywhere networking is done, so plans are unit-tested on a fake
 * system, and `--dry-run` runs `wire` through one that only reads the system (dry-run.ts).
 */
export type Runner = (argv: string[]) => Promise<CommandResult>;

/** How long `ip`, `iptables` and `docker` may take before offline gives up on them. */
export const COMMAND_TIMEOUT_MS = 60_000;

/**
 * A real runner: no shell, no stdin, output collected, and a time limit — a wedged dockerd must
 * not hang `up`, `down` or `status`. A command past the limit is killed and is a `TimeLimitError`
 * naming it; one that cannot start is a `CommandError`.
 */
export function createRunner(timeoutMs = COMMAND_TIMEOUT_MS): Runner {
  return (argv) => new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      const hint = argv[0] === 'docker' ? ': is dockerd responding (`docker info`)?' : '';
      reject(new TimeLimitError(`\`${argv.join(' ')}\` did not finish within ${timeoutMs / 1000} s and was stopped${hint}`));
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new CommandError(argv, null, err.message));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** The runner `up` and `down` use. */
export const systemRunner: Runner = createRunner();

/** Run and require success; throws `CommandError` with argv, exit code and stderr. */
export async function must(run: Runner, argv: string[]): Promise<CommandResult> {
  const result = await run(argv);
  if (result.code !== 0) throw new CommandError(argv, result.code, result.stderr || result.stdout);
  return result;
}
