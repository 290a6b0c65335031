import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultConfig, defaultConfigPath } from '../ecosystems/config.ts';
import { MIRRORS, outsideNames } from '../ecosystems/index.ts';
import { EXIT, reportError } from './common.ts';

/**
 * The `offline` command line: flags and printing only; the work is in src/core. Each command's
 * module is loaded when it runs, so `--help` or a sync never loads the serving code (koa, the
 * controller).
 */
export function buildProgram(): Command {
  const sections = MIRRORS.map((m) => `${m.name}:`).join(', ');
  const outside = outsideNames(defaultConfig()).join(', ');
  const program = new Command('offline')
    .description('Pre-fetch npm, PyPI, pacman and Docker content while online; serve it to your containers offline.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Typical use:
  offline sync          fetch everything offline.yaml names (online, before travel)
  offline serve         serve the mirrors from disk, no network needed
  offline up -d         wire the isolated network and serve the mirrors on it (root)
  offline check         prove everything is servable offline, before you leave
  offline compose -- up --build   your compose project, built and run on the mirrors alone
  offline build -- -t api:dev .   one image, like docker build, on the mirrors alone
  offline status        what is mirrored and what is serving; the status page's URL
  offline misses        what clients asked for offline that was not mirrored (sync --misses fetches it)
  offline down          stop and remove the wiring

Config: offline.yaml in the current directory, or -c FILE, or $OFFLINE_CONFIG.`);

  // A bad flag is a usage error (exit 2) that says what is wanted, never a stack trace.
  program.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : EXIT.usage);
  });
  const config = () => new Option('-c, --config <file>', 'config file').default(defaultConfigPath());
  const json = () => new Option('--json', 'print a machine-readable report on stdout');

  program.command('sync')
    .description('resolve every lockfile and package the config names, download it, verify every checksum, commit it')
    .addOption(config()).addOption(json())
    .option('--concurrency <n>', 'downloads in flight at once', integer(1), 32)
    .option('--per-host <n>', 'keep-alive connections per upstream host', integer(1), 32)
    .option('--retries <n>', 'retries on 429, 5xx, resets and stalls', integer(0), 4)
    .option('--timeout <seconds>', 'time limit for one file or document, retries included', integer(1), 600)
    .option('--stall <seconds>', 'an attempt that receives nothing for this long is a stall (retried)', integer(1), 30)
    .option('-v, --verbose', 'list the entries behind each counted note (workspace links, skipped optional packages …)')
    .option('--misses', 'also fetch what clients asked the mirrors for and did not get (offline misses); mirrored ones leave the ledger')
    .addHelpText('after', `
Re-running downloads nothing new. An interrupted sync (Ctrl-C, kill -9, a lost network) keeps
every verified file; run it again to finish. Exit status: 0 done, 1 some items failed (each is
listed), 2 bad config or input, 130 interrupted.

Example:
  offline sync -c offline.yaml
  offline sync --json > report.json
  offline sync --misses        back online after the park: fetch what was missed there`)
    .action(wrap(async (opts) => (await import('./sync.ts')).runSync(opts)));

  program.command('serve')
    .description('serve the mirrors from disk in the foreground until Ctrl-C; changes no network settings')
    .addOption(config()).addOption(json())
    .option('--listen <address>', 'address to bind (default: listen, else network.address)')
    .option('--all', 'every mirror, also those the config has no section for')
    .option('--mirror <name>', 'only this mirror (each service of the compose stack serves one)')
    .option('--no-request-log', 'no line per request on stderr')
    .option('--no-controller', 'no status page and API beside the mirrors')
    .option('--workers <n>', 'serve from n processes sharing the ports (a mirror host for many clients)', integer(1), 1)
    .addHelpText('after', `
Serves the mirrors the config has a section for (${sections}); --all serves
all of them, --mirror <name> only that one. Needs only the data directory, not the lockfiles
and other inputs the config names; a read-only data directory is fine. Run as root, also answers ${outside}
over https on port 443 (for containers on the isolated network; see offline up).

Every request a mirror answers is one JSON line on stderr:
  {"time":"…","level":"info","msg":"request","mirror":"npm","method":"GET",
   "path":"/lodash","status":404,"bytes":43,"ms":1.2,"ua":"npm/10.9.2 …",…}
written in batches beside the serving (lines are dropped and counted, never waited for, when
stderr cannot keep up); offline up -d keeps them in <data>/offline-up.log. Errors are JSON lines
there too. --no-request-log leaves only the errors.

The controller starts beside the mirrors: the status page and the API on controller.listen
(default 127.0.0.1, never the mirror address) port controller.port (7070), behind the token in
<data>/controller.token; \`offline status\` prints the page's URL with it. If it cannot start (its
port taken), a warning says why and the mirrors serve without it.

One process serves by default. --workers n serves from n processes that share the ports, for a
machine whose clients one process cannot keep up with (one per core; each holds its own memory,
~100-150 MB): this process binds the ports, writes the request log, keeps the misses ledger and
runs the controller; a worker that dies is replaced.

Example, on loopback without the network wiring of \`offline up\`:
  offline serve --listen 127.0.0.1
  npm ci --registry http://127.0.0.1:4873/
A team's mirror host with 8 cores:
  offline serve --listen 0.0.0.0 --workers 8`)
    .action(wrap(async (opts) => (await import('./serve.ts')).runServe(opts)));

  program.command('up')
    .description('put the mirror address on the isolated Docker network, open exactly the mirror ports, and serve the mirrors there')
    .addOption(config()).addOption(json())
    .option('-d, --detach', 'return once every mirror answers; the mirrors keep serving in the background')
    .option('--dry-run', 'print the commands up would run on this machine now; change nothing')
    .option('--all', 'every mirror, also those the config has no section for')
    .option('--compose', 'run the mirrors as the compose stack (compose.yaml) instead of in one offline process')
    .addOption(new Option('--workers <n>', 'the mirrors served by n processes (offline serve --workers)').argParser(integer(1)).default(1).conflicts('compose'))
    .addHelpText('after', `
Needs root and a running Docker. Creates (unless present) the internal Docker network
network.docker_network (network.subnet, bridge network.bridge, network.address reserved), the
interface network.interface holding network.address on that bridge (a veth pair where the kernel
has no dummy links), and a firewall chain that accepts only the mirror ports on that address and
drops everything else from the bridge to this host; only the mirrors the config has a section for
(--all: every mirror). ${outside} are answered
there over https (port 443) for the lockfiles that name them; offline build and offline compose
resolve those names to the mirror address in containers, never on this host. Containers on the
network then reach the mirrors and nothing else:
  docker run --network no-internet … npm ci --registry http://10.1.1.254:4873/

--dry-run runs up's own checks and wiring, but only read-only queries reach the system (docker
network inspect, ip link show, ip route get, iptables -C/-S); each command that would change
something is printed instead of run, and no state file is written. So it prints what up would run
here, now: nothing once the network is wired, the chain refill after a port change. Without root,
iptables is not read (it needs root) and its commands are those for a machine without offline's
chain; if Docker does not answer, the network is taken as absent; each assumption is printed.
Whether a veth pair replaces the dummy link comes from the kernel's config. The base images up
would load are counted, not listed.

The mirrors run in one \`offline serve\` process (the default), or with --compose as the services of
compose.yaml (project offline), one container per mirror on the host's network, bound to the mirror
address, data mounted read-only, restart: unless-stopped. Their image is built by \`offline sync\`
when offline.yaml has a stack: section (online), or here from stack.base / OFFLINE_BASE_IMAGE.

Examples:
  sudo offline up --dry-run
  sudo offline up -d && offline status && sudo offline down
  sudo offline up --compose -d && offline status`)
    .action(wrap(async (opts) => (await import('./up.ts')).runUp(opts)));

  program.command('down')
    .description('stop the mirrors `up` started and remove exactly the network wiring it created')
    .addOption(config()).addOption(json())
    .action(wrap(async (opts) => (await import('./up.ts')).runDown(opts)));

  program.command('build')
    .description('docker build on the isolated network, against the mirrors alone (after offline up)')
    .argument('<args...>', 'docker build arguments, after --')
    .addOption(config())
    .addHelpText('after', `
Runs \`docker build --network <network.docker_network> ARGS\` with the classic builder
(DOCKER_BUILDKIT=0: BuildKit's docker driver cannot use an internal network). RUN steps reach the
mirrors and nothing else; FROM images are the mirrored ones, loaded by offline up under their own
names. A FROM image that is not mirrored stops the build before it starts (exit 1, naming the
Dockerfile line and the docker.images entry to add). Exits with docker build's status.

Example:
  offline build -- -t api:dev ./api
  offline build -c ~/offline.yaml -- -f api/Dockerfile.prod --build-arg NODE_ENV=production api`)
    .action(park(async (args, opts) => (await import('./park.ts')).runBuild(args, opts)));

  program.command('compose')
    .description('docker compose with every service and build on the isolated network, against the mirrors alone (after offline up)')
    .argument('<args...>', 'docker compose arguments, after --')
    .addOption(config())
    .addHelpText('after', `
Runs \`docker compose -f <your files> -f .offline.compose.yaml ARGS\`. The override, written next to
your compose file on each run (yours is never edited), puts every service on the isolated network
only and builds on it with the classic builder. Compose files are found as compose does (-f,
COMPOSE_FILE, compose.yaml and its override). Base images and FROM images are checked first as
for offline build. Exits with docker compose's status.

Examples:
  offline compose -- up --build
  offline compose -- run --rm api npm test
  offline compose -- -p shop -f deploy/compose.yaml build`)
    .action(park(async (args, opts) => (await import('./park.ts')).runCompose(args, opts)));

  program.command('check')
    .description('prove readiness before travel: every lockfile entry, requirement, package and image is servable from the mirrors alone')
    .addOption(config()).addOption(json())
    .option('--quick', 'count mirrored files as present without re-reading them against their digests')
    .addHelpText('after', `
Serves the mirrors on loopback and resolves every input against them, never an upstream; sends
no traffic off this machine and writes nothing. Every mirrored file is re-read against its digest
(a truncated one is not ready; the next sync fetches it again) unless --quick.

Each lockfile is also read as its own client installs it: npm rewrites the public registry host in
resolved URLs to the mirror, pnpm and yarn berry ask the registry they are configured with, yarn 1
fetches resolved URLs as written. Entries fetched from a host the mirror does not answer for, git
dependencies and tarball URLs are listed with the file and line; workspace and file: entries are
counted, not reported.

Exit status: 0 ready, 1 something is missing or a lockfile would not install (each is listed),
2 bad config.`)
    .action(wrap(async (opts) => (await import('./check.ts')).runCheck(opts)));

  program.command('env')
    .description('client configuration for the mirrors: shell exports, or .npmrc, pip.conf, mirrorlist, daemon.json, buildkitd.toml')
    .addOption(config()).addOption(json())
    .option('--address <address>', 'the address clients reach the mirrors on (default: listen, else network.address)')
    .option('--write <dir>', 'write the files into this directory instead of printing exports')
    .option('--build-args', 'print the settings a base image carries as docker build --build-arg words')
    .option('--all', 'every mirror, also those the config has no section for')
    .addHelpText('after', `
Only the mirrors the config has a section for are described (they are the ones served).

Examples:
  eval "$(offline env)"                      # npm_config_registry, PIP_INDEX_URL, … for this shell
  docker build $(offline env --build-args) … # for a Dockerfile that declares them as ARG
  offline env --write ./offline-client       # files to COPY into images or /etc
  offline env --address 127.0.0.1 --json`)
    .action(wrap(async (opts) => (await import('./env.ts')).runEnv(opts)));

  program.command('scan')
    .description('find Dockerfiles, compose files and lockfiles; propose what to mirror')
    .argument('[dirs...]', 'project directories (default: .)')
    .addOption(config()).addOption(json())
    .option('--write', 'merge what the config lacks into it (comments and order kept; created if absent)')
    .addHelpText('after', `
Reads FROM lines (with ARG defaults), pacman -S, pip install and npm install -g in RUN lines,
compose image: keys, and package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml,
requirements*.txt, poetry.lock, uv.lock and Pipfile.lock. For each Dockerfile it says what a park
build needs (base images, packages, the lockfiles beside it) and whether the config has it, then
prints the keys the config lacks as YAML to merge; with --write it merges them itself.

Examples:
  offline scan ~/src/app ~/src/api
  offline scan --write ~/src/shop && offline sync     # the whole before-travel routine`)
    .action(async (dirs: string[], opts: { config: string; json?: boolean; write?: boolean }) => {
      try {
        process.exitCode = await (await import('./scan.ts')).runScan(dirs, opts);
      } catch (err) {
        process.exitCode = reportError(err, opts.json);
      }
    });

  program.command('misses')
    .description('what clients asked the serving mirrors for and did not get, newest first')
    .addOption(config()).addOption(json())
    .option('--clear', 'empty the ledger')
    .addHelpText('after', `
Every mirror keeps a ledger of the requests it answered "not mirrored" that name something a sync
can fetch: an npm package (and version, from a tarball path), a PyPI project (and version, from a
file), a Docker image reference. Probes, audits and favicons are not misses. The ledger lives in
<data>/misses/, one file per mirror, deduplicated (first and last time, count) and bounded.

pacman cannot show misses: it reads the repository database first, which lists only what is
mirrored, so a missing package is "target not found" in the client and never reaches the mirror.
Before you leave, \`offline scan\` proposes what your Dockerfiles' pacman -S lines install and
\`offline check\` proves the config's packages are served.

Back online, fetch them:
  offline sync --misses        mirrored items leave the ledger; what still fails stays, with why

Example:
  offline misses
  offline misses --json | jq -r '.misses[].item'`)
    .action(wrap(async (opts) => (await import('./misses.ts')).runMisses(opts)));

  program.command('controller')
    .description('serve only the status page and the API (the controller), in the foreground until Ctrl-C')
    .addOption(config()).addOption(json())
    .addHelpText('after', `
\`offline serve\` and \`offline up\` start the controller themselves; \`up --compose\` runs this
command beside the stack's mirrors. It listens on controller.listen:controller.port (default
127.0.0.1:7070) and answers only requests with the token in <data>/controller.token (made when
absent, mode 600). \`offline status\` prints the page's URL with the token.

API (curl -H "Authorization: Bearer $(cat mirrors/controller.token)" …):
  GET  /api/status              what offline status --json prints
  GET  /api/misses              what offline misses --json prints
  POST /api/sync                {} or {"misses": true}: a sync in the background; 202 {"id"}, 409 while one runs
  GET  /api/sync/<id>/events    its progress as server-sent events, then "done" with the report

Example:
  offline controller -c offline.yaml`)
    .action(wrap(async (opts) => (await import('./controller.ts')).runController(opts)));

  program.command('status')
    .description('what is mirrored (counts, bytes, last sync) and which mirror ports answer, for the mirrors the config names; the status page\'s URL with its token')
    .addOption(config()).addOption(json())
    .option('--all', 'every mirror, also those the config has no section for')
    .action(wrap(async (opts) => (await import('./status.ts')).runStatus(opts)));

  return program;
}

/** An action taking the words after \`--\` and the options; docker's exit status becomes ours. */
function park(fn: (args: string[], opts: { config: string }) => Promise<number>): (args: string[], opts: { config: string }) => Promise<void> {
  return async (args, opts) => {
    try {
      process.exitCode = await fn(args, opts);
    } catch (err) {
      process.exitCode = reportError(err, false);
    }
  };
}

/** A commander parser for an integer option of at least `min`. */
function integer(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`must be a whole number ≥ ${min}`);
    return n;
  };
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
