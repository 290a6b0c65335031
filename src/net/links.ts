import { readFile, stat } from 'node:fs/promises';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { CommandError } from '../foundation/errors.ts';
import type { NetworkPlan } from './plan.ts';
import { must, type Runner } from './runner.ts';

export type LinkKind = 'dummy' | 'veth';

/** The interface alias (`ip link set … alias`) that marks a link as offline's own. */
export const LINK_MARK = 'offline-mirror';

export async function linkExists(run: Runner, name: string): Promise<boolean> {
  return (await run(['ip', 'link', 'show', 'dev', name])).code === 0;
}

/**
 * Create the mirror interface: a dummy link, or — where the kernel has no dummy type — a veth
 * pair whose peer stays unused. Returns the kind created. Throws `CommandError` otherwise.
 */
export async function createLink(run: Runner, plan: NetworkPlan): Promise<LinkKind> {
  const kind = await addLink(run, plan);
  await must(run, ['ip', 'link', 'set', 'dev', plan.link.name, 'alias', LINK_MARK]);
  return kind;
}

async function addLink(run: Runner, plan: NetworkPlan): Promise<LinkKind> {
  const dummy = await run(['ip', 'link', 'add', plan.link.name, 'type', 'dummy']);
  if (dummy.code === 0) return 'dummy';
  if (!/Unknown device type|not supported|Operation not supported/i.test(dummy.stderr)) {
    throw new CommandError(['ip', 'link', 'add', plan.link.name, 'type', 'dummy'], dummy.code, dummy.stderr);
  }
  await must(run, ['ip', 'link', 'add', plan.link.name, 'type', 'veth', 'peer', 'name', plan.link.peer]);
  return 'veth';
}

/** True when the interface exists and carries offline's mark (its alias). */
export async function linkIsOurs(run: Runner, name: string): Promise<boolean> {
  const res = await run(['ip', '-o', 'link', 'show', 'dev', name]);
  return res.code === 0 && new RegExp(`\\s+alias ${LINK_MARK}(\\s|$)`).test(res.stdout);
}

/**
 * Give the interface the mirror address (/32: the subnet's route stays on the bridge), enslave
 * it to the bridge and bring it (and a veth peer) up. Each step is skipped when already so, so a
 * dry run of a wired machine records nothing.
 */
export async function configureLink(run: Runner, plan: NetworkPlan, kind: LinkKind): Promise<void> {
  const { name, peer, address, bridge } = plan.link;
  const addresses = (await must(run, ['ip', '-o', '-4', 'addr', 'show', 'dev', name])).stdout;
  if (!addresses.includes(` ${address}/`)) await must(run, ['ip', 'addr', 'add', `${address}/32`, 'dev', name]);
  const link = (await must(run, ['ip', '-o', 'link', 'show', 'dev', name])).stdout;
  if (!link.includes(` master ${bridge} `)) await must(run, ['ip', 'link', 'set', 'dev', name, 'master', bridge]);
  if (!isUp(link)) await must(run, ['ip', 'link', 'set', 'dev', name, 'up']);
  if (kind === 'veth' && !isUp((await must(run, ['ip', '-o', 'link', 'show', 'dev', peer])).stdout)) await must(run, ['ip', 'link', 'set', 'dev', peer, 'up']);
}

/** Whether `ip -o link show` says the link is administratively up: `UP` among its flags (not `LOWER_UP`). */
function isUp(line: string): boolean {
  return /<[^>]*\bUP\b[^>]*>/.test(line);
}

export async function deleteLink(run: Runner, name: string): Promise<void> {
  if (await linkExists(run, name)) await must(run, ['ip', 'link', 'del', 'dev', name]);
}

/** The device the host routes an address through (`ip route get`), or undefined. */
export async function routeDevice(run: Runner, address: string): Promise<string | undefined> {
  const res = await run(['ip', '-o', 'route', 'get', address]);
  return res.code === 0 ? / dev (\S+)/.exec(res.stdout)?.[1] : undefined;
}

/** Routes of the main table as `prefix dev` pairs, for collision checks. */
export async function routes(run: Runner): Promise<Array<{ prefix: string; dev: string }>> {
  const res = await must(run, ['ip', '-o', '-4', 'route', 'show', 'table', 'main']);
  return res.stdout.trim().split('\n').filter(Boolean).map((line) => {
    const [prefix = ''] = line.split(' ');
    return { prefix: prefix === 'default' ? '0.0.0.0/0' : prefix, dev: / dev (\S+)/.exec(line)?.[1] ?? '' };
  });
}

/** What kind of link an existing interface is (for a state recorded as pending by a crashed up). */
export async function linkKind(run: Runner, name: string): Promise<LinkKind> {
  const res = await run(['ip', '-d', '-o', 'link', 'show', 'dev', name]);
  return /\bveth\b/.test(res.stdout) ? 'veth' : 'dummy';
}

/**
 * Whether the running kernel has the dummy link type, from what it says without being asked to
 * create anything: the dummy module is loaded (`/sys/module/dummy`), or its build config
 * (`/proc/config.gz`, else `/boot/config-<release>`) has `CONFIG_DUMMY=y` or `=m` — or says it is
 * not set. Undefined when nothing tells. For dry runs; `up` itself just tries (`createLink`).
 */
export async function kernelHasDummy(): Promise<boolean | undefined> {
  if (await stat('/sys/module/dummy').then(() => true, () => false)) return true;
  const packed = await readFile('/proc/config.gz').catch(() => undefined);
  const text = packed ? gunzipText(packed) : await readFile(`/boot/config-${release()}`, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : dummyInKernelConfig(text);
}

/** `CONFIG_DUMMY` in a kernel build config: true for built in or a module, false when not set. */
export function dummyInKernelConfig(config: string): boolean | undefined {
  if (/^CONFIG_DUMMY=[ym]$/m.test(config)) return true;
  if (/^# CONFIG_DUMMY is not set$/m.test(config)) return false;
  return undefined;
}

function gunzipText(packed: Buffer): string | undefined {
  try {
    return gunzipSync(packed).toString('utf8');
  } catch {
    return undefined;
  }
}
