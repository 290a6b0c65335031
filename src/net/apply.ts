import { NetworkError } from '../foundation/errors.ts';
import { formatIp, parseCidr } from './cidr.ts';
import { deleteChain, deleteRule, ensureChain, ensureRule } from './iptables.ts';
import { networkSchema } from '../foundation/config.ts';
import { NETWORK_LABEL, networkIsOurs } from './docker.ts';
import { configureLink, createLink, deleteLink, LINK_MARK, linkExists, linkIsOurs, linkKind, routeDevice } from './links.ts';
import { dockerNetworkArgs, networkPlan, validateNetwork, type NetworkPlan } from './plan.ts';
import { must, type Runner } from './runner.ts';
import { readState, removeState, type NetworkState, type StateStore } from './state.ts';

export type Step = string;

/**
 * Make the system match the plan: the internal Docker network, the mirror interface with its
 * address on the bridge, the subnet routed through the bridge, our chain and the INPUT jump.
 * Idempotent: a second run changes nothing and says so. What it creates is recorded in `store`
 * before it is created (the state file for `up`; memory for a dry run, see dry-run.ts). Returns
 * what it did. Everything it does to the system goes through `run`.
 */
export async function wire(run: Runner, store: StateStore, plan: NetworkPlan): Promise<Step[]> {
  const steps: Step[] = [];
  const state: NetworkState = (await store.read()) ?? { plan, created: {} };
  state.plan = plan;
  if ((await run(['docker', 'network', 'inspect', plan.network.name])).code !== 0) {
    state.created.network = true;
    await store.write(state);
    await must(run, dockerNetworkArgs(plan));
    steps.push(`created the internal Docker network ${plan.network.name} (${plan.network.subnet}, bridge ${plan.network.bridge})`);
  }
  if (!(await linkExists(run, plan.link.name))) {
    state.created.link = 'pending';
    await store.write(state);
    state.created.link = await createLink(run, plan);
    await store.write(state);
    steps.push(state.created.link === 'dummy'
      ? `created the dummy interface ${plan.link.name}`
      : `created ${plan.link.name} as a veth pair (peer ${plan.link.peer}): this kernel has no dummy link type`);
  } else if (!(await linkIsOurs(run, plan.link.name))) {
    // Ours only by its mark, whatever the state file says: the state is not proof.
    throw new NetworkError(`the interface ${plan.link.name} exists and was not created by offline up (it has no alias ${LINK_MARK}); remove it or set network.interface to another name`);
  } else if (!state.created.link || state.created.link === 'pending') {
    state.created.link = await linkKind(run, plan.link.name);
  }
  const kind = state.created.link ?? 'dummy';
  await configureLink(run, plan, kind);
  const probe = formatIp(parseCidr(plan.network.subnet)!.network + 2);
  const device = await routeDevice(run, probe);
  if (device !== plan.network.bridge) {
    throw new NetworkError(`the host routes ${plan.network.subnet} through ${device ?? 'nothing'}, not the bridge ${plan.network.bridge}; check \`ip route\``);
  }
  if (await ensureChain(run, 'filter', plan.chain, plan.rules)) steps.push(`set the chain ${plan.chain}: accept ${plan.ports.join(', ')} on ${plan.network.address}, drop the rest from ${plan.network.bridge}`);
  if (await ensureRule(run, plan.jump, 'insert')) steps.push(`inserted INPUT -i ${plan.network.bridge} -j ${plan.chain}`);
  await store.write(state);
  return steps;
}

/**
 * Remove what `wire` created, and only that: the jump and our chain always (they are ours by
 * name), the interface and the Docker network only when the state says offline created them.
 * Harmless when there is nothing to remove.
 */
export async function unwire(run: Runner, data: string, fallback: NetworkPlan): Promise<Step[]> {
  const state = await readState(data);
  const steps: Step[] = [];
  const plan = trustedPlan(state?.plan) ?? fallback;
  if (state?.plan && plan === fallback) steps.push('ignored the plan in the state file: it is not one offline up writes; used the config');
  await deleteRule(run, plan.jump);
  await deleteChain(run, 'filter', plan.chain);
  steps.push(`removed the chain ${plan.chain} and its INPUT jump (if present)`);
  if (state?.created.link && (await linkExists(run, plan.link.name))) {
    if (await linkIsOurs(run, plan.link.name)) {
      await deleteLink(run, plan.link.name);
      steps.push(`removed the interface ${plan.link.name}`);
    } else {
      steps.push(`left the interface ${plan.link.name}: it has no alias ${LINK_MARK}, so offline did not create it`);
    }
  }
  if (state?.created.network && (await run(['docker', 'network', 'inspect', plan.network.name])).code === 0) {
    if (await networkIsOurs(run, plan.network.name)) {
      const removed = await run(['docker', 'network', 'rm', plan.network.name]);
      if (removed.code !== 0) {
        throw new NetworkError(`cannot remove the Docker network ${plan.network.name}: ${removed.stderr.trim()}; stop the containers attached to it and run offline down again`);
      }
      steps.push(`removed the Docker network ${plan.network.name}`);
    } else {
      steps.push(`left the Docker network ${plan.network.name}: it has no ${NETWORK_LABEL} label, so offline did not create it`);
    }
  }
  await removeState(data);
  return steps;
}

/**
 * The plan a state file records, re-derived from its network settings after validating them as a
 * config would be: the chain and jump always follow from the bridge name, so a state file cannot
 * name INPUT, another chain or an odd interface. Undefined when it does not validate.
 */
function trustedPlan(recorded: NetworkPlan | undefined): NetworkPlan | undefined {
  if (!recorded?.network || !recorded.link) return undefined;
  const parsed = networkSchema.safeParse({
    interface: recorded.link.name, address: recorded.network.address, docker_network: recorded.network.name,
    subnet: recorded.network.subnet, bridge: recorded.network.bridge,
  });
  if (!parsed.success || validateNetwork(parsed.data).length > 0) return undefined;
  const ports = (recorded.ports ?? []).filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
  return networkPlan(parsed.data, ports, Array.isArray(recorded.names) ? recorded.names.filter((n) => typeof n === 'string') : []);
}
