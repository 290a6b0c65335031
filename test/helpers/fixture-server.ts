/**
 * The loopback server every fixture upstream runs on: port 0 (or a chosen one) on 127.0.0.1,
 * keep-alive, an optional delay before every answer (the benchmarks' +20 ms), and a record of
 * every request path so tests can assert what was (not) asked for.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FixtureServer = { port: number; requests: string[]; close(): Promise<void> };

export async function startFixtureServer(
  answer: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>,
  opts: { delayMs?: number; port?: number } = {},
): Promise<FixtureServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '/');
    const go = () => Promise.resolve(answer(req, res)).catch(() => res.destroy());
    if (opts.delayMs) setTimeout(go, opts.delayMs);
    else void go();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    // Idempotent: a test that stops its upstream early (to prove it is not needed) and its
    // `after` hook may both close it.
    close: () => (closing ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    })),
  };
}

/** Resolves when `res` has room again or its client is gone, leaving no listener behind. */
export function drainedOrClosed(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done).once('close', done);
  });
}
