import { spawn } from 'node:child_process';
import { CommandError } from '../core/errors.ts';

export type CommandResult = { code: number; stdout: string; stderr: string };

/**
 * Runs one command. Injected everywhere networking is done, so plans are unit-tested with a
 * recording runner and printed by `--dry-run` without touching the system.
 */
export type Runner = (argv: string[]) => Promise<CommandResult>;

/** The real runner: no shell, no stdin, output collected. */
export const systemRunner: Runner = (argv) => new Promise((resolve, reject) => {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  child.once('error', (err) => reject(new CommandError(argv, null, err.message)));
  child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
});

/** Run and require success; throws `CommandError` with argv, exit code and stderr. */
export async function must(run: Runner, argv: string[]): Promise<CommandResult> {
  const result = await run(argv);
  if (result.code !== 0) throw new CommandError(argv, result.code, result.stderr || result.stdout);
  return result;
}
