import { stringify as toToml } from 'smol-toml';
import type { Config } from './config.ts';

/** One client configuration file `offline env` produces. */
export type ClientFile = { name: string; description: string; content: string };

export type ClientEnv = { address: string; urls: Record<'npm' | 'pypi' | 'pacman' | 'docker', string>; files: ClientFile[]; exports: Record<string, string> };

/**
 * Client configuration pointing npm, pip, pacman, dockerd and BuildKit at the mirrors on
 * `address` (default: the mirror address). Pure: the caller prints or writes it.
 */
export function clientEnv(config: Config, address = config.listen): ClientEnv {
  const host = address.includes(':') ? `[${address}]` : address;
  const urls = {
    npm: `http://${host}:${config.npm.port}/`,
    pypi: `http://${host}:${config.pypi.port}/simple/`,
    pacman: `http://${host}:${config.pacman.port}/$repo/os/$arch`,
    docker: `${host}:${config.docker.port}`,
  };
  const loopback = address === 'localhost' || address.startsWith('127.');
  const files: ClientFile[] = [
    { name: '.npmrc', description: 'npm (project or ~/.npmrc; COPY into a Dockerfile before npm ci)', content: `registry=${urls.npm}\naudit=false\nfund=false\nupdate-notifier=false\n` },
    {
      name: 'pip.conf', description: 'pip (/etc/pip.conf or PIP_CONFIG_FILE); plain http needs trusted-host off loopback',
      content: `[global]\nindex-url = ${urls.pypi}\n${loopback ? '' : `trusted-host = ${address}\n`}disable-pip-version-check = true\n`,
    },
    { name: 'mirrorlist', description: 'pacman (/etc/pacman.d/mirrorlist)', content: `# offline mirror\nServer = ${urls.pacman}\n` },
    {
      name: 'daemon.json', description: 'dockerd (/etc/docker/daemon.json; reload with SIGHUP): Docker Hub names through the mirror',
      content: `${JSON.stringify({ 'registry-mirrors': [`http://${urls.docker}`], ...(loopback ? {} : { 'insecure-registries': [urls.docker] }) }, null, 2)}\n`,
    },
    {
      name: 'buildkitd.toml', description: 'BuildKit (buildx docker-container builder: --config buildkitd.toml)',
      content: toToml({ registry: { 'docker.io': { mirrors: [urls.docker] }, [urls.docker]: { http: true, insecure: true } } }),
    },
  ];
  const exports: Record<string, string> = {
    npm_config_registry: urls.npm,
    PIP_INDEX_URL: urls.pypi,
    ...(loopback ? {} : { PIP_TRUSTED_HOST: address }),
    OFFLINE_PACMAN_SERVER: urls.pacman,
    OFFLINE_DOCKER_REGISTRY: urls.docker,
  };
  return { address, urls, files, exports };
}

/** `export NAME='value'` lines, quoted for sh. */
export function shellExports(exports: Record<string, string>): string {
  return Object.entries(exports).map(([k, v]) => `export ${k}='${v.replace(/'/g, `'"'"'`)}'`).join('\n') + '\n';
}
