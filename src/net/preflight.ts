import { NetworkError } from '../foundation/errors.ts';
import { contains, overlaps, parseCidr, parseIp } from './cidr.ts';
import { dockerNetworks, dockerRunning } from './docker.ts';
import { routes } from './links.ts';
import type { NetworkPlan } from './plan.ts';
import type { Runner } from './runner.ts';

/**
 * Refuse, with the reason, before changing anything: not root, Docker not running, our Docker
 * network existing with other settings, another network or a route using our subnet or address.
 */
export async function preflight(run: Runner, plan: NetworkPlan, uid = process.getuid?.()): Promise<void> {
  if (uid !== 0) throw new NetworkError('offline up changes network interfaces and firewall rules: run it as root (sudo offline up)');
  await systemChecks(run, plan);
}

/**
 * Everything `preflight` refuses but not being root; it only reads (docker info, network ls and
 * inspect, ip route show), so a dry run refuses what `up` would.
 */
export async function systemChecks(run: Runner, plan: NetworkPlan): Promise<void> {
  if (!(await dockerRunning(run))) throw new NetworkError('Docker is not running (`docker info` failed): start it (systemctl start docker, or dockerd) and run offline up again');
  const subnet = parseCidr(plan.network.subnet)!;
  const address = parseIp(plan.network.address)!;
  for (const net of await dockerNetworks(run)) {
    if (net.name === plan.network.name) {
      if (!net.subnets.includes(plan.network.subnet) || (net.bridge ?? '') !== plan.network.bridge || !net.internal) {
        throw new NetworkError(
          `the Docker network ${net.name} exists with subnet ${net.subnets.join(', ') || 'none'}, bridge ${net.bridge ?? '(docker-named)'}` +
            `${net.internal ? '' : ', not internal'}; offline up needs ${plan.network.subnet} on bridge ${plan.network.bridge}, internal. ` +
            `Remove it (docker network rm ${net.name}) or set network.docker_network to another name`,
        );
      }
      if (net.containers.includes(plan.network.address)) throw new NetworkError(`${plan.network.address} is used by a container on ${net.name}; choose another network.address`);
      continue;
    }
    for (const s of net.subnets) {
      const other = parseCidr(s);
      if (other && overlaps(other, subnet)) throw new NetworkError(`network.subnet ${plan.network.subnet} overlaps ${s} of the Docker network ${net.name}; choose another subnet`);
    }
    const used = [...net.gateways, ...net.aux, ...net.containers].find((ip) => parseIp(ip) === address);
    if (used) throw new NetworkError(`network.address ${plan.network.address} is already used in the Docker network ${net.name}; choose another address`);
  }
  for (const route of await routes(run)) {
    const prefix = parseCidr(route.prefix);
    if (!prefix || prefix.prefix === 0 || route.dev === plan.network.bridge || route.dev === plan.link.name) continue;
    if (overlaps(prefix, subnet) || contains(prefix, address)) {
      throw new NetworkError(`network.subnet ${plan.network.subnet} collides with the route ${route.prefix} via ${route.dev}; choose another subnet`);
    }
  }
}
