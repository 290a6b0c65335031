import { chainExists, listChain, ruleExists } from '../net/iptables.ts';
import { linkExists } from '../net/links.ts';
import { networkPlan } from '../net/plan.ts';
import type { Runner } from '../net/runner.ts';
import { isOurMirrors, readState } from '../net/state.ts';
import type { Config } from '../ecosystems/config.ts';

export type NetworkStatus = {
  /** Whether `offline up` has wired this config (its state file exists). */
  up: boolean;
  interface: { name: string; exists: boolean; addresses: string[]; master?: string };
  address: string;
  bridge: { name: string; exists: boolean };
  dockerNetwork: { name: string; exists: boolean | undefined };
  /** Our chain's rules as `iptables -S` prints them; undefined when they cannot be read (not root). */
  rules: string[] | undefined;
  jump: boolean | undefined;
  mirrors?: { pid: number; running: boolean };
};

/** The wiring `offline up` manages, read without changing anything. */
export async function networkStatus(config: Config, run: Runner, ports: number[]): Promise<NetworkStatus> {
  const plan = networkPlan(config.network, ports);
  const state = await readState(config.data);
  const link = await run(['ip', '-o', 'addr', 'show', 'dev', plan.link.name]);
  const linkInfo = await run(['ip', '-o', 'link', 'show', 'dev', plan.link.name]);
  const root = process.getuid?.() === 0;
  const docker = await run(['docker', 'network', 'inspect', plan.network.name]).catch(() => undefined);
  const hasChain = root ? await chainExists(run, 'filter', plan.chain) : undefined;
  return {
    up: Boolean(state),
    interface: {
      name: plan.link.name,
      exists: linkInfo.code === 0,
      addresses: [...link.stdout.matchAll(/inet6? (\S+)/g)].map((m) => m[1]!),
      master: / master (\S+) /.exec(linkInfo.stdout)?.[1],
    },
    address: plan.network.address,
    bridge: { name: plan.network.bridge, exists: await linkExists(run, plan.network.bridge) },
    dockerNetwork: { name: plan.network.name, exists: docker ? docker.code === 0 : undefined },
    rules: hasChain ? await listChain(run, 'filter', plan.chain) : hasChain === false ? [] : undefined,
    jump: root ? await ruleExists(run, plan.jump) : undefined,
    mirrors: state?.mirrors ? { pid: state.mirrors.pid, running: await isOurMirrors(state.mirrors) } : undefined,
  };
}
