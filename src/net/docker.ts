import { must, type Runner } from './runner.ts';

export type DockerNetwork = {
  name: string; subnets: string[]; gateways: string[]; aux: string[]; bridge?: string; internal: boolean; containers: string[];
  labels: Record<string, string>;
};

/** The label `offline up` puts on the network it creates: what marks it as offline's own. */
export const NETWORK_LABEL = 'dev.offline.managed';

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
    Labels?: Record<string, string> | null;
  }>;
  return docs.map((d) => ({
    name: d.Name,
    subnets: (d.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter(Boolean),
    gateways: (d.IPAM?.Config ?? []).map((c) => c.Gateway ?? '').filter(Boolean),
    aux: (d.IPAM?.Config ?? []).flatMap((c) => Object.values(c.AuxiliaryAddresses ?? {})),
    bridge: d.Options?.['com.docker.network.bridge.name'],
    internal: Boolean(d.Internal),
    containers: Object.values(d.Containers ?? {}).map((c) => (c.IPv4Address ?? '').split('/')[0]!).filter(Boolean),
    labels: d.Labels ?? {},
  }));
}

/** True when the Docker network exists and carries offline's label. */
export async function networkIsOurs(run: Runner, name: string): Promise<boolean> {
  const res = await run(['docker', 'network', 'inspect', name]);
  if (res.code !== 0) return false;
  try {
    const [doc] = JSON.parse(res.stdout) as Array<{ Labels?: Record<string, string> | null }>;
    return doc?.Labels?.[NETWORK_LABEL] === 'true';
  } catch {
    return false;
  }
}
