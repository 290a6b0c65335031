import { IMAGE_CA_PATH } from '../foundation/tls.ts';
import { servedMirrors } from '../ecosystems/index.ts';
import type { ClientAddress, ClientFile, EcosystemName, ImageFile } from '../ecosystems/types.ts';
import type { Config } from '../ecosystems/config.ts';

export type { ClientFile } from '../ecosystems/types.ts';

export type ClientEnv = { address: string; urls: Record<EcosystemName, string>; files: ClientFile[]; exports: Record<string, string> };

/** What every base image handed to the daemon carries so RUN steps FROM it use the mirrors. */
export type ImageSettings = { env: Record<string, string>; files: ImageFile[] };

export function clientAddress(address: string): ClientAddress {
  return { address, host: address.includes(':') ? `[${address}]` : address, loopback: address === 'localhost' || address.startsWith('127.') || address === '::1' };
}

/**
 * Client configuration pointing npm, pip, pacman, dockerd and BuildKit at the mirrors on
 * `address` (default: the mirror address), as each mirror describes its clients. Pure: the
 * caller prints or writes it.
 */
export function clientEnv(config: Config, address = config.listen): ClientEnv {
  const at = clientAddress(address);
  const described = servedMirrors(config).map((m) => [m.name, m.clients(config, at)] as const);
  return {
    address,
    urls: Object.fromEntries(described.map(([name, c]) => [name, c.url])) as Record<EcosystemName, string>,
    files: described.flatMap(([, c]) => c.files),
    exports: Object.assign({}, ...described.map(([, c]) => c.exports)) as Record<string, string>,
  };
}

/**
 * The environment and files a base image gets for the mirrors on `address`; with `ca`, also the
 * CA of the outside names' certificate (docs/adr/0009): a file where Debian's and Alpine's
 * `update-ca-certificates` look, and `NODE_EXTRA_CA_CERTS` naming it, which every Node client reads.
 */
export function imageSettings(config: Config, address: string, ca?: string): ImageSettings {
  const at = clientAddress(address);
  const described = servedMirrors(config).map((m) => m.clients(config, at).image);
  const env = Object.assign({}, ...described.map((d) => d.env)) as Record<string, string>;
  const files = described.flatMap((d) => d.files);
  if (ca) {
    env.NODE_EXTRA_CA_CERTS = `/${IMAGE_CA_PATH}`;
    files.push({ path: IMAGE_CA_PATH, content: ca });
  }
  return { env, files };
}

/** `export NAME='value'` lines, quoted for sh. */
export function shellExports(exports: Record<string, string>): string {
  return Object.entries(exports).map(([k, v]) => `export ${k}='${quote(v)}'`).join('\n') + '\n';
}

/** `--build-arg NAME=value` words for a Dockerfile that declares the settings as ARGs (nothing persists in the image). */
export function buildArgs(env: Record<string, string>): string {
  return Object.entries(env).map(([k, v]) => `--build-arg '${quote(`${k}=${v}`)}'`).join(' ') + '\n';
}

function quote(v: string): string {
  return v.replace(/'/g, `'"'"'`);
}
