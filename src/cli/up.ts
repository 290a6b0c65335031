import { down } from '../core/down.ts';
import { up, type UpReport } from '../core/up.ts';
import type { BaseImagesReport } from '../park/base-images.ts';
import { EXIT, loadFromOptions, type CommonOptions } from './common.ts';

export type UpCliOptions = CommonOptions & { detach?: boolean; dryRun?: boolean; compose?: boolean; workers?: number };

/** `offline up`: wire the network, then serve (foreground until Ctrl-C, or detached with -d). */
export async function runUp(opts: UpCliOptions): Promise<number> {
  const config = await loadFromOptions(opts, { requireInputs: false });
  const report = await up({ config, detach: opts.detach, dryRun: opts.dryRun, all: opts.all, compose: opts.compose, workers: opts.workers, cli: [process.execPath, ...process.execArgv, process.argv[1]!] });
  const { foreground, ...printable } = report;
  if (opts.json) process.stdout.write(`${JSON.stringify(printable, null, 2)}\n`);
  else if (report.dryRun) printDryRun(report, config.docker.images.length);
  else {
    for (const step of report.steps) process.stdout.write(`${step}\n`);
    if (report.steps.length === 0) process.stdout.write('network already up: nothing to change\n');
    for (const m of report.mirrors) process.stdout.write(`${m.name} mirror: ${m.url}\n`);
    if (report.plan.names.length > 0) process.stdout.write(`on the isolated network only: https://{${report.plan.names.join(',')}}/ answered on ${report.plan.network.address}:443 (offline build and compose resolve them there; base images trust offline's CA)\n`);
    printImages(report.images);
    printController(report.controller);
    if (report.runtime === 'compose') {
      for (const s of report.services ?? []) process.stdout.write(`stack service ${s.service}: ${s.state}${s.health === 'none' ? '' : ` (${s.health})`}\n`);
      process.stdout.write(opts.detach ? `mirrors serving as the compose stack (project offline) as ${report.user}; \`offline down\` stops it and removes the wiring\n`
        : 'mirrors serving as the compose stack; following its logs, Ctrl-C stops it (the wiring stays until `offline down`)\n');
    } else if (report.alreadyServing) process.stdout.write(`mirrors already serving (pid ${report.pid})\n`);
    else if (opts.detach) process.stdout.write(`mirrors serving in the background as ${report.user} (pid ${report.pid}); \`offline down\` stops them and removes the wiring\n`);
    else process.stdout.write(`mirrors starting as ${report.user} (pid ${report.pid}); Ctrl-C stops them (the wiring stays until \`offline down\`)\n`);
  }
  if (!foreground) return EXIT.ok;
  const stop = (): void => foreground.stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await foreground.exited;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return EXIT.ok;
}

/** The commands `up` would run here, what the dry run assumed, the base images, and where the mirrors would serve. */
function printDryRun(report: UpReport, images: number): void {
  const commands = report.commands ?? [];
  if (commands.length === 0) process.stdout.write('offline up would change nothing in the network here: it is wired as the config says\n');
  else process.stdout.write(`offline up would run, on this machine as it is now:\n${commands.map((c) => `  ${c.join(' ')}`).join('\n')}\n`);
  for (const note of report.notes ?? []) process.stdout.write(`note: ${note}\n`);
  if (images > 0) process.stdout.write(`and load the ${images} base image${images === 1 ? '' : 's'} of docker.images into the daemon (not listed)\n`);
  process.stdout.write(`and serve the mirrors on ${report.plan.network.address} as ${report.user}: ports ${report.plan.ports.join(', ')}\n`);
}

/** What `up` did with the base images: loaded (and what it kept aside), unchanged, and what it could not load. */
function printImages(images: BaseImagesReport | undefined): void {
  if (!images) return;
  for (const { name, kept } of images.loaded) process.stdout.write(`base image ${name}: loaded from the mirror for ${images.platform}${kept ? ` (the daemon's own kept as ${kept} until offline down)` : ''}\n`);
  if (images.unchanged.length > 0) process.stdout.write(`base images already loaded: ${images.unchanged.join(', ')}\n`);
  for (const p of images.problems) process.stderr.write(`offline: warning: base image ${p.spec}: ${p.message}\n`);
}

/** Where the status page is (the token stays in its file: `offline status` prints the whole URL). */
function printController(controller: UpReport['controller']): void {
  if (!controller) return;
  if (controller.problem) process.stderr.write(`offline: warning: ${controller.problem}\n`);
  else process.stdout.write(`controller: ${controller.url}${controller.pid ? ` (pid ${controller.pid})` : ''}; \`offline status\` prints the status page's URL with its token\n`);
}

/** `offline down`: stop the mirrors and remove exactly what `up` created. */
export async function runDown(opts: CommonOptions): Promise<number> {
  const config = await loadFromOptions(opts, { requireInputs: false });
  const report = await down({ config });
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else for (const step of report.steps) process.stdout.write(`${step}\n`);
  return EXIT.ok;
}
