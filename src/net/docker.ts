import { must, type Runner } from './runner.ts';

export type DockerNetwork = { name: string; subnets: string[]; gateways: string[]; aux: string[]; bridge?: string; internal: boolean; containers: string[] };

export async function dockerRunning(run: Runner): Promise<boolean> {
  return (await run(['docker', 'info', '--format', '{{.ServerVersion}}'])).code === 0;
}

/** Every Docker network with its IPAM data, for collision checks. */
export async function dockerNetworks(run: Runner): Promise<DockerNetwork[]> {
  const ids = (await must(run, ['docker', 'network', 'ls', '-q'])).stdout.trim().split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  const docs = JSON.parse((await must(run, ['docker', 'network', 'inspect', ...ids])).stdout) as Array<{
    Name: string;
    Internal?: boolean;
    IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }> };
    Options?: Record<string, string>;
    Containers?: Record<string, { IPv4Address?: string }>;
  }>;
  return docs.map((d) => ({
    name: d.Name,
    subnets: (d.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter(Boolean),
    gateways: (d.IPAM?.Config ?? []).map((c) => c.Gateway ?? '').filter(Boolean),
    aux: (d.IPAM?.Config ?? []).flatMap((c) => Object.values(c.AuxiliaryAddresses ?? {})),
    bridge: d.Options?.['com.docker.network.bridge.name'],
    internal: Boolean(d.Internal),
    containers: Object.values(d.Containers ?? {}).map((c) => (c.IPv4Address ?? '').split('/')[0]!).filter(Boolean),
  }));
}
