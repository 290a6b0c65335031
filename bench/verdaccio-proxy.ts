/**
 * The peer the npm benchmark compares against: a plain verdaccio proxying the upstream, with a
 * fresh storage, as users run it. Usage: node verdaccio-proxy.ts <upstream> <storage> <port>
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runServer } from 'verdaccio';

const [upstream, storage, port] = process.argv.slice(2);
if (!upstream || !storage || !port) throw new Error('usage: verdaccio-proxy.ts <upstream> <storage> <port>');
const config = {
  self_path: join(storage, 'config.yaml'),
  storage,
  uplinks: { upstream: { url: upstream, maxage: '30m' } },
  packages: { '@*/*': { access: '$all', proxy: 'upstream' }, '**': { access: '$all', proxy: 'upstream' } },
  auth: { htpasswd: { file: join(storage, 'htpasswd'), max_users: -1 } },
  web: { enable: false },
  log: { type: 'stdout', format: 'json', level: 'error' },
};
const server = (await runServer(config as never)) as Server;
server.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
