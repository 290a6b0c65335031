/**
 * Start the controller in this process: its token (made when absent, given to the serving user),
 * the app on `controller.listen:controller.port`. `offline serve` and `offline controller` call it
 * before dropping root, so a root-owned data directory still gets its token.
 */
import { controllerUrl, ensureControllerToken } from '../core/controller-access.ts';
import type { Config } from '../ecosystems/config.ts';
import { startMirrorServer } from '../foundation/http-server.ts';
import { createApp, type ControllerDeps } from './app.ts';

export type RunningController = {
  /** Where it answers, without the token (`offline status` prints the URL with it). */
  url: string;
  /** Interrupt a running sync (it commits what is verified), then stop listening. */
  close(): Promise<void>;
};

export type ControllerOptions = {
  config: Config;
  /** Who will own the token file: the user root drops to. */
  owner?: { uid: number; gid: number };
  /** Port 0 in tests; default `controller.port`. */
  port?: number;
  syncRunner?: ControllerDeps['syncRunner'];
};

/**
 * @throws ServeError with advice when the address or port cannot be bound; the file system's
 * error when the token cannot be read or made.
 */
export async function startController(options: ControllerOptions): Promise<RunningController> {
  const { config } = options;
  const token = await ensureControllerToken(config.data, options.owner);
  const app = createApp({ config, token, syncRunner: options.syncRunner });
  const server = await startMirrorServer('controller', { host: config.controller.listen, port: options.port ?? config.controller.port }, app.callback(), '/');
  const port = Number(new URL(server.url).port);
  let closing: Promise<void> | undefined;
  return {
    url: controllerUrl(config, port),
    close: () => (closing ??= app.close().then(() => server.close())),
  };
}
