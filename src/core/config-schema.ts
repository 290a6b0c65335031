import { z } from 'zod';

/**
 * The shape of `offline.yaml`. Key names are fixed by the product brief; the defaults are the
 * brief's. Types are inferred from the schema so the two never drift.
 */

const port = z.number().int().min(1).max(65535);
const url = z.string().refine((v) => /^https?:\/\/[^/]/.test(v), { message: 'must be an http:// or https:// URL' });
const names = z.array(z.string().min(1)).default([]);

export const npmSchema = z.strictObject({
  port: port.default(4873),
  /** Defaults to the registry in the user's npm config (`npm config get registry`). */
  upstream: url.optional(),
  lockfiles: names,
  packages: names,
});

export const pypiSchema = z.strictObject({
  port: port.default(3141),
  upstream: url.default('https://pypi.org/simple/'),
  requirements: names,
  packages: names,
  python: z.array(z.string()).default(['3.12']),
  platforms: z.array(z.string()).default(['manylinux_2_17_x86_64']),
});

export const pacmanSchema = z.strictObject({
  port: port.default(9129),
  upstream: z.string().default('https://geo.mirror.pkgbuild.com/$repo/os/$arch'),
  repos: z.array(z.string()).default(['core', 'extra']),
  arch: z.array(z.string()).default(['x86_64']),
  packages: names,
});

export const dockerSchema = z.strictObject({
  port: port.default(5000),
  images: names,
  platforms: z.array(z.string()).default(['linux/amd64']),
  registries: z.record(z.string(), url).default({ 'docker.io': 'https://registry-1.docker.io' }),
});

const ipv4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, { message: 'must be an IPv4 address' });

export const networkSchema = z.strictObject({
  interface: z.string().min(1).max(15).default('offline0'),
  address: ipv4.default('10.1.1.254'),
  docker_network: z.string().min(1).default('no-internet'),
  subnet: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, { message: 'must be a CIDR such as 10.1.1.0/24' }).default('10.1.1.0/24'),
  bridge: z.string().min(1).max(15).default('br-offline'),
});

export const configSchema = z.strictObject({
  data: z.string().default('./mirrors'),
  /** Defaults to `network.address`. */
  listen: z.string().optional(),
  npm: npmSchema.default(npmSchema.parse({})),
  pypi: pypiSchema.default(pypiSchema.parse({})),
  pacman: pacmanSchema.default(pacmanSchema.parse({})),
  docker: dockerSchema.default(dockerSchema.parse({})),
  network: networkSchema.default(networkSchema.parse({})),
});

export type RawConfig = z.infer<typeof configSchema>;
export type NpmConfig = z.infer<typeof npmSchema>;
export type NetworkConfig = z.infer<typeof networkSchema>;
