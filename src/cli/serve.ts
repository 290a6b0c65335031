import { serve } from '../core/serve.ts';
import { EXIT, loadFromOptions, type CommonOptions } from './common.ts';

export type ServeCliOptions = CommonOptions & { listen?: string };

/** Serve in the foreground until SIGINT or SIGTERM, then close every mirror and exit 0. */
export async function runServe(opts: ServeCliOptions): Promise<number> {
  const config = await loadFromOptions(opts);
  const serving = await serve({ config, host: opts.listen });
  const endpoints = serving.mirrors.map((m) => ({ name: m.name, url: m.url }));
  if (opts.json) process.stdout.write(`${JSON.stringify({ serving: endpoints })}\n`);
  else {
    for (const e of endpoints) process.stdout.write(`${e.name} mirror: ${e.url}\n`);
    process.stdout.write('serving from disk only; Ctrl-C stops\n');
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await serving.close();
  return EXIT.ok;
}
