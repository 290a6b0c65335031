/**
 * Ports a test writes into a config before anything listens on them (port 0 cannot be written
 * there). A block of consecutive ports is taken below the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range), where the outgoing connections of every test take their local
 * ports: a listener there can find its port held by a client socket (the status page test once
 * failed that way). Each port is checked free on loopback, and none is handed out twice by one
 * process. Test files run one at a time (`--test-concurrency=1`), so no claim between processes
 * is needed.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10000;
const handedOut = new Set<number>();

function ephemeralStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && low! > LOWEST + 1000) return low!;
  } catch { /* not Linux: the usual default */ }
  return 32768;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The first of `count` consecutive free ports below the ephemeral range (see the module's comment). */
export async function claimPorts(count = 1): Promise<number> {
  const top = ephemeralStart() - count;
  attempts: for (let attempt = 0; attempt < 200; attempt++) {
    const base = LOWEST + Math.floor(Math.random() * (top - LOWEST));
    for (let port = base; port < base + count; port++) {
      if (handedOut.has(port) || !await bindable(port)) continue attempts;
    }
    for (let port = base; port < base + count; port++) handedOut.add(port);
    return base;
  }
  throw new Error(`no ${count} consecutive free ports between ${LOWEST} and ${top + count}`);
}
