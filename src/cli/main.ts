import { Command, Option } from 'commander';
import { defaultConfigPath } from '../core/config.ts';
import { reportError } from './common.ts';
import { runServe } from './serve.ts';
import { runStatus } from './status.ts';
import { runSync } from './sync.ts';

/** The `offline` command line: flags and printing only; the work is in src/core. */
export function buildProgram(): Command {
  const program = new Command('offline')
    .description('Pre-fetch npm, PyPI, pacman and Docker content while online; serve it to your containers offline.')
    .version('0.1.0')
    .showHelpAfterError()
    .addHelpText('after', `
Typical use:
  offline sync          fetch everything offline.yaml names (online, before travel)
  offline serve         serve the mirrors from disk, no network needed
  offline status        what is mirrored and what is serving

Config: offline.yaml in the current directory, or -c FILE, or $OFFLINE_CONFIG.`);

  const config = () => new Option('-c, --config <file>', 'config file').default(defaultConfigPath());
  const json = () => new Option('--json', 'print a machine-readable report on stdout');

  program.command('sync')
    .description('resolve every lockfile and package the config names, download it, verify every checksum, commit it')
    .addOption(config()).addOption(json())
    .option('--concurrency <n>', 'downloads in flight at once', '32')
    .option('--per-host <n>', 'keep-alive connections per upstream host', '16')
    .option('--retries <n>', 'retries on 429, 5xx, resets and timeouts', '4')
    .option('--timeout <seconds>', 'time limit for one file', '600')
    .addHelpText('after', `
Re-running downloads nothing new. An interrupted sync (Ctrl-C, kill -9, a lost network) keeps
every verified file; run it again to finish. Exit status: 0 done, 1 some items failed (each is
listed), 2 bad config or input, 130 interrupted.

Example:
  offline sync -c offline.yaml
  offline sync --json > report.json`)
    .action(wrap(runSync));

  program.command('serve')
    .description('serve the mirrors from disk in the foreground until Ctrl-C; changes no network settings')
    .addOption(config()).addOption(json())
    .option('--listen <address>', 'address to bind (default: listen, else network.address)')
    .addHelpText('after', `
Example, on loopback without the network wiring of \`offline up\`:
  offline serve --listen 127.0.0.1
  npm ci --registry http://127.0.0.1:4873/`)
    .action(wrap(runServe));

  program.command('status')
    .description('what is mirrored (counts, bytes, last sync) and which mirror ports answer')
    .addOption(config()).addOption(json())
    .action(wrap(runStatus));

  return program;
}

function wrap<T extends { json?: boolean }>(fn: (opts: T) => Promise<number>): (opts: T) => Promise<void> {
  return async (opts) => {
    try {
      process.exitCode = await fn(opts);
    } catch (err) {
      process.exitCode = reportError(err, opts.json);
    }
  };
}

await buildProgram().parseAsync(process.argv);
