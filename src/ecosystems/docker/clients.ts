import { stringify as toToml } from 'smol-toml';
import type { Config } from '../config.ts';
import type { ClientAddress, MirrorClients } from '../types.ts';

/**
 * dockerd mirrors Docker Hub names through `registry-mirrors` (plain http off loopback needs
 * `insecure-registries`); BuildKit's docker-container builder takes `buildkitd.toml`. A base image
 * needs nothing: the images are put into the daemon by `offline up` itself.
 */
export function dockerClients(config: Config, at: ClientAddress): MirrorClients {
  const url = `${at.host}:${config.docker.port}`;
  return {
    url,
    exports: { OFFLINE_DOCKER_REGISTRY: url },
    files: [
      {
        name: 'daemon.json', description: 'dockerd (/etc/docker/daemon.json; reload with SIGHUP): Docker Hub names through the mirror',
        content: `${JSON.stringify({ 'registry-mirrors': [`http://${url}`], ...(at.loopback ? {} : { 'insecure-registries': [url] }) }, null, 2)}\n`,
      },
      {
        name: 'buildkitd.toml', description: 'BuildKit (buildx docker-container builder: --config buildkitd.toml)',
        content: toToml({ registry: { 'docker.io': { mirrors: [url] }, [url]: { http: true, insecure: true } } }),
      },
    ],
    image: { env: {}, files: [] },
  };
}
