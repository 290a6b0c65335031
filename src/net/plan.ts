import type { NetworkConfig } from '../foundation/config.ts';
import type { ConfigIssue } from '../foundation/errors.ts';
import { broadcast, contains, firstHost, formatIp, parseCidr, parseIp } from './cidr.ts';
import { NETWORK_LABEL } from './docker.ts';
import type { Rule } from './iptables.ts';

/**
 * The network `offline up` wants, as a value computed from the config alone: the internal Docker
 * network, the mirror address on an interface enslaved to its bridge, and the firewall rules in
 * a chain offline owns. Applying it (`apply.ts`) and printing it (`--dry-run`) use this one value.
 */
export type NetworkPlan = {
  network: { name: string; subnet: string; bridge: string; gateway: string; address: string };
  link: { name: string; peer: string; address: string; bridge: string };
  chain: string;
  /** INPUT → our chain, for traffic arriving on the bridge. */
  jump: Rule;
  /** Our chain's rules, in order: established traffic, each mirror port, then drop. */
  rules: Rule[];
  ports: number[];
  /**
   * Outside names containers on the network resolve to the mirror address (`--add-host` on park
   * builds and compose services; docs/adr/0009). Nothing on the host resolves them so.
   */
  names: string[];
};

/**
 * Why an address does not work, in words a user can act on. Since Docker 25 (moby#46603) a
 * container on an `--internal` network has no default route, so only an address inside the
 * network's subnet — on-link for the containers — can be reached.
 */
export function validateNetwork(net: NetworkConfig): ConfigIssue[] {
  const problems: ConfigIssue[] = [];
  const subnet = parseCidr(net.subnet);
  const address = parseIp(net.address);
  if (!subnet) return [{ path: 'network.subnet', message: `"${net.subnet}" is not an IPv4 CIDR` }];
  if (address === undefined) return [{ path: 'network.address', message: `"${net.address}" is not an IPv4 address` }];
  if (subnet.prefix > 30) problems.push({ path: 'network.subnet', message: `${net.subnet} is too small for containers, a gateway and the mirror address` });
  if (!contains(subnet, address)) {
    problems.push({
      path: 'network.address',
      message: `${net.address} is outside network.subnet ${net.subnet}. Containers on an internal Docker network ` +
        'have no default route (Docker 25 and later), so they can only reach an address inside their own subnet: ' +
        `choose one such as ${formatIp(broadcast(subnet) - 1)}`,
    });
  } else if (address === subnet.network || address === broadcast(subnet)) {
    problems.push({ path: 'network.address', message: `${net.address} is the network or broadcast address of ${net.subnet}` });
  } else if (address === firstHost(subnet)) {
    problems.push({ path: 'network.address', message: `${net.address} is the gateway Docker gives the bridge; choose another address in ${net.subnet}` });
  }
  if (`${net.interface}p`.length > 15) problems.push({ path: 'network.interface', message: `"${net.interface}" is too long (at most 14 characters)` });
  return problems;
}

/** The chain offline owns for one bridge; iptables chain names have at most 28 characters. */
export function chainName(bridge: string): string {
  return `OFFLINE-${bridge}`.slice(0, 28);
}

export function networkPlan(net: NetworkConfig, ports: number[], names: string[] = []): NetworkPlan {
  const subnet = parseCidr(net.subnet)!;
  const chain = chainName(net.bridge);
  const unique = [...new Set(ports)].sort((a, b) => a - b);
  return {
    network: { name: net.docker_network, subnet: net.subnet, bridge: net.bridge, gateway: formatIp(firstHost(subnet)), address: net.address },
    link: { name: net.interface, peer: `${net.interface}p`, address: net.address, bridge: net.bridge },
    chain,
    jump: { table: 'filter', chain: 'INPUT', spec: ['-i', net.bridge, '-j', chain] },
    rules: [
      { table: 'filter', chain, spec: ['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'] },
      ...unique.map((port): Rule => ({ table: 'filter', chain, spec: ['-d', `${net.address}/32`, '-p', 'tcp', '-m', 'tcp', '--dport', String(port), '-j', 'ACCEPT'] })),
      { table: 'filter', chain, spec: ['-j', 'DROP'] },
    ],
    ports: unique,
    names: names.filter(isHostName),
  };
}

/** A DNS host name (letters, digits, hyphens; dot-separated labels): all `--add-host` is given. */
export function isHostName(name: string): boolean {
  return name.length <= 253 && /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/.test(name);
}

/** `docker network create` for the plan: internal, fixed bridge name, the mirror address reserved. */
export function dockerNetworkArgs(plan: NetworkPlan): string[] {
  const n = plan.network;
  return [
    'docker', 'network', 'create', '--driver', 'bridge', '--internal',
    '--subnet', n.subnet, '--gateway', n.gateway, '--aux-address', `offline-mirror=${n.address}`,
    '--opt', `com.docker.network.bridge.name=${n.bridge}`,
    '--label', `${NETWORK_LABEL}=true`,
    n.name,
  ];
}
