/**
 * A plain static file server as a team's simplest mirror is: `python3 -m http.server`, which
 * speaks HTTP/1.0 and closes the connection after every response. It is the upstream that made
 * undici 7 crash with `assert(!this.paused)` (nodejs/undici#5360) when a body paused under
 * backpressure met the close.
 */
import { spawn } from 'node:child_process';

export type StaticServer = { url: string; port: number; close(): Promise<void> };

/** Serve `dir` on 127.0.0.1 with python's http.server; resolves once it listens. */
export function startStaticServer(dir: string): Promise<StaticServer> {
  const child = spawn('python3', ['-u', '-m', 'http.server', '--bind', '127.0.0.1', '--directory', dir, '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`python3 -m http.server did not start: ${out}`));
    }, 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const port = /port (\d+)/.exec(out)?.[1];
      if (!port) return;
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({
        port: Number(port),
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
      });
    });
    child.stderr.resume();
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
