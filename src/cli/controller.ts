import { startController } from '../controller/start.ts';
import { serveUser } from '../core/serve-user.ts';
import { dropOrClose, EXIT, loadFromOptions, untilStopped, type CommonOptions } from './common.ts';

/**
 * `offline controller`: only the status page and the API, in the foreground until SIGINT or
 * SIGTERM (a running sync is interrupted and commits what it verified). `up --compose` runs it
 * beside the stack's mirrors; `offline serve` has it built in.
 */
export async function runController(opts: CommonOptions): Promise<number> {
  const config = await loadFromOptions(opts, { requireInputs: false });
  // Started by root (as `up --compose` starts it), it runs as the mirrors' user, never as root.
  const user = process.getuid?.() === 0 ? await serveUser(config) : undefined;
  const controller = await startController({ config, owner: user });
  await dropOrClose(user, config.data, () => controller.close());
  if (opts.json) process.stdout.write(`${JSON.stringify({ controller: controller.url, uid: process.getuid?.() })}\n`);
  else process.stdout.write(`controller: ${controller.url} (the status page; \`offline status\` prints its URL with the token); Ctrl-C stops\n`);
  await untilStopped();
  await controller.close();
  return EXIT.ok;
}
