import { connect, type Server } from 'node:net';
import { ServeError } from './errors.ts';

/**
 * Listen on `host:port` and turn the usual failures into advice: an address that is not on this
 * machine means the network wiring is missing, a taken port means another server runs there.
 */
export function listenOn(server: Server, host: string, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    function onError(err: NodeJS.ErrnoException): void {
      server.off('listening', onListening);
      reject(new ServeError(listenAdvice(err, host, port, what), { cause: err }));
    }
    function onListening(): void {
      server.off('error', onError);
      resolve();
    }
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function listenAdvice(err: NodeJS.ErrnoException, host: string, port: number, what: string): string {
  switch (err.code) {
    case 'EADDRNOTAVAIL':
      return `${what}: cannot listen on ${host}:${port}: the address is not on this machine. ` +
        'Run `offline up` to create the mirror address, or serve on loopback with --listen 127.0.0.1';
    case 'EADDRINUSE':
      return `${what}: cannot listen on ${host}:${port}: the port is in use (another offline serve?). ` +
        'Stop that server or choose another port in the config';
    case 'EACCES':
      return `${what}: cannot listen on ${host}:${port}: permission denied (ports below 1024 need root)`;
    default:
      return `${what}: cannot listen on ${host}:${port}: ${err.message}`;
  }
}

/** Whether something accepts TCP connections on `host:port` (a wildcard address probes loopback). */
export function answers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: host === '0.0.0.0' ? '127.0.0.1' : host, port, timeout: timeoutMs });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(false));
  });
}

/** Wait until every port accepts a TCP connection on `address`. */
export async function waitForPorts(address: string, ports: number[], timeoutMs: number, dead?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    while (!(await answers(address, port))) {
      if (dead?.()) throw new Error('the mirrors exited before answering');
      if (Date.now() > deadline) throw new Error(`no mirror answered on ${address}:${port} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
