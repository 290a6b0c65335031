/**
 * "The internet" for system tests: a network namespace this process creates, reached from the
 * host through a veth pair, with an HTTP server on port 80 answering `internet`. Tests prove that
 * something cannot reach the internet by showing it cannot reach this namespace — never by sending
 * traffic to any real outside address.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { run } from './run.ts';

export type Internet = {
  /** The namespace's name (`offline-inet-<random>`). */
  name: string;
  /** The namespace's address, `10.254.<n>.2`; the host side of the veth is `10.254.<n>.1`. */
  address: string;
  port: number;
  /** The host side of the veth pair (`oi-<random>`). */
  hostLink: string;
  /** Kills the server, deletes the namespace and the veth pair; idempotent, never throws. */
  close(): Promise<void>;
};

/**
 * Whether `url` answers HTTP at all (any status) within `timeoutMs`. Only for loopback and hosts
 * the test made and still has: after `close()` the namespace's address is routed like any other,
 * out through the default route.
 */
export async function reachable(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function ip(args: string[]): Promise<string> {
  const r = await run('ip', args, { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

type Prefix = { net: number; len: number };

function parsePrefix(text: string): Prefix | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(text);
  if (!m) return undefined;
  const net = m.slice(1, 5).reduce((acc, octet) => acc * 256 + Number(octet), 0);
  return { net, len: m[5] === undefined ? 32 : Number(m[5]) };
}

function overlaps(a: Prefix, b: Prefix): boolean {
  const len = Math.min(a.len, b.len);
  const size = 2 ** (32 - len);
  return Math.floor(a.net / size) === Math.floor(b.net / size);
}

const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'multicast', 'anycast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat']);

/** Every IPv4 prefix this host routes or holds an address in (the default route aside). */
async function prefixesInUse(): Promise<Prefix[]> {
  const used: Prefix[] = [];
  for (const line of (await ip(['-4', '-o', 'route', 'show', 'table', 'all'])).split('\n')) {
    const words = line.trim().split(/\s+/);
    const dest = ROUTE_TYPES.has(words[0] ?? '') ? words[1] : words[0];
    const prefix = dest && dest !== 'default' ? parsePrefix(dest) : undefined;
    if (prefix) used.push(prefix);
  }
  for (const m of (await ip(['-4', '-o', 'addr', 'show'])).matchAll(/\binet (\S+)/g)) {
    const prefix = parsePrefix(m[1] ?? '');
    if (prefix) used.push(prefix);
  }
  return used;
}

/** A third octet `n` such that 10.254.n.0/30 overlaps nothing routed here; starts at random. */
async function freeOctet(): Promise<number> {
  const used = await prefixesInUse();
  const start = randomBytes(1)[0] ?? 0;
  for (let i = 0; i < 256; i++) {
    const n = (start + i) % 256;
    const candidate = parsePrefix(`10.254.${n}.0/30`);
    if (candidate && !used.some((p) => overlaps(p, candidate))) return n;
  }
  throw new Error('no free 10.254.<n>.0/30 on this host');
}

const SERVER = `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'text/plain'); s.end('internet'); }).listen(80, '0.0.0.0');`;

/**
 * Creates the namespace, the veth pair (`10.254.<n>.1/30` on the host, `.2/30` inside, a default
 * route inside through the host), and starts the server; resolves once it answers from the host.
 * Needs root. On failure everything made so far is removed before the error is thrown.
 */
export async function startInternet(): Promise<Internet> {
  const id = randomBytes(4).toString('hex');
  const name = `offline-inet-${id}`;
  const hostLink = `oi-${id}`; // interface names are at most 15 characters
  const peer = `oin-${id}`;
  const port = 80;
  let server: ReturnType<typeof spawn> | undefined;
  let closing: Promise<void> | undefined;

  async function teardown(): Promise<void> {
    if (server?.pid !== undefined) {
      try {
        process.kill(-server.pid, 'SIGKILL'); // `ip netns exec` and the node it started
      } catch {
        // already gone
      }
    }
    const pids = await run('ip', ['netns', 'pids', name]).catch(() => undefined);
    for (const pid of pids?.code === 0 ? pids.stdout.split(/\s+/).filter(Boolean) : []) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // Deleting the namespace destroys its end of the pair, and with it the host end; delete that
    // too in case the namespace was never made or still lingers.
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
    await run('ip', ['link', 'del', hostLink]).catch(() => undefined);
  }
  const close = (): Promise<void> => (closing ??= teardown());

  try {
    const n = await freeOctet();
    const address = `10.254.${n}.2`;
    await ip(['netns', 'add', name]);
    await ip(['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', peer, 'netns', name]);
    await ip(['addr', 'add', `10.254.${n}.1/30`, 'dev', hostLink]);
    await ip(['link', 'set', hostLink, 'up']);
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    await ip(['-n', name, 'addr', 'add', `${address}/30`, 'dev', peer]);
    await ip(['-n', name, 'link', 'set', peer, 'up']);
    await ip(['-n', name, 'route', 'add', 'default', 'via', `10.254.${n}.1`]);

    // Never send a packet before the host routes the address into our veth: otherwise the probe
    // below would leave through the default route, towards the real internet.
    const route = await ip(['-4', 'route', 'get', address]);
    if (!route.includes(`dev ${hostLink}`)) throw new Error(`${address} is not routed into ${hostLink}: ${route.trim()}`);

    server = spawn('ip', ['netns', 'exec', name, process.execPath, '-e', SERVER], { detached: true, stdio: 'ignore' });
    server.unref();
    const url = `http://${address}:${port}/`;
    const deadline = Date.now() + 15_000;
    while (!(await reachable(url, 1_000))) {
      if (server.exitCode !== null) throw new Error(`the server in ${name} exited ${server.exitCode}`);
      if (Date.now() > deadline) throw new Error(`the server in ${name} did not answer at ${url} within 15 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { name, address, port, hostLink, close };
  } catch (e) {
    await close();
    throw e;
  }
}
