import { z } from 'zod';

/**
 * The shape of `offline.yaml`. Key names are fixed by the product brief; the defaults are the
 * brief's. Types are inferred from the schema so the two never drift.
 */

const port = z.number().int().min(1).max(65535);
const url = z.string().refine((v) => /^https?:\/\/[^/]/.test(v), { message: 'must be an http:// or https:// URL' });
const names = z.array(z.string().min(1)).default([]);
const pathString = z.string().min(1).refine((v) => !v.includes('\0'), { message: 'must not contain a NUL character' });
const paths = z.array(pathString).default([]);

export const npmSchema = z.strictObject({
  port: port.default(4873),
  /** Defaults to the registry in the user's npm config (`npm config get registry`). */
  upstream: url.optional(),
  lockfiles: paths,
  packages: names,
  /** Where GitHub commit tarballs (git dependencies) are fetched from: codeload's paths. */
  github: url.default('https://codeload.github.com/'),
});

export const pypiSchema = z.strictObject({
  port: port.default(3141),
  upstream: url.default('https://pypi.org/simple/'),
  requirements: paths,
  packages: names,
  python: z.array(z.string()).default(['3.12']),
  platforms: z.array(z.string()).default(['manylinux_2_17_x86_64']),
});

// Repository and architecture names become directories of the mirror: plain names only.
const pacmanName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, { message: 'must be a plain name such as core or x86_64' });

export const pacmanSchema = z.strictObject({
  port: port.default(9129),
  upstream: z.string().default('https://geo.mirror.pkgbuild.com/$repo/os/$arch'),
  repos: z.array(pacmanName).default(['core', 'extra']),
  arch: z.array(pacmanName).default(['x86_64']),
  packages: names,
});

export const dockerSchema = z.strictObject({
  port: port.default(5000),
  images: names,
  platforms: z.array(z.string()).default(['linux/amd64']),
  registries: z.record(z.string(), url).default({ 'docker.io': 'https://registry-1.docker.io' }),
});

const octet = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^(${octet}\\.){3}${octet}$`);
const ipv4 = z.string().regex(IPV4, { message: 'must be an IPv4 address (four numbers 0–255)' });
const cidr = z.string().refine((v) => {
  const [address = '', prefix, ...rest] = v.split('/');
  return rest.length === 0 && IPV4.test(address) && prefix !== undefined && /^\d{1,2}$/.test(prefix) && Number(prefix) <= 32;
}, { message: 'must be an IPv4 CIDR such as 10.1.1.0/24' });

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3 };

/** A size in bytes: a number, or `64MiB`, `1.5 GiB`, `500MB`. */
const size = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const m = typeof value === 'number' ? ['', String(value), ''] : /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const factor = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const bytes = m && factor ? Math.floor(Number(m[1]) * factor) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1024) {
    ctx.addIssue({ code: 'custom', message: `must be a size of at least 1 KiB, such as 128MiB (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  return bytes;
});

/**
 * What a sync is willing to hold in memory for one item. Generous for real metadata (npm's largest
 * packuments, Arch's `extra` database), small enough that a hostile one cannot exhaust memory.
 */
export const limitsSchema = z.strictObject({
  /** The largest metadata document read whole: a packument, a project page, a manifest, a pacman db. */
  document: size.default(128 * 1024 * 1024),
  /** The largest decompressed metadata: a pacman db, a wheel's METADATA, an sdist's PKG-INFO search. */
  unpacked: size.default(128 * 1024 * 1024),
});

// A Linux interface name: at most 15 bytes; letters, digits, _ . - only.
const linkName = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, { message: 'must be an interface name: 1–15 letters, digits, _ . -' });

export const networkSchema = z.strictObject({
  interface: linkName.default('offline0'),
  address: ipv4.default('10.1.1.254'),
  docker_network: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { message: 'must be a Docker network name (letters, digits, _ . -)' }).default('no-internet'),
  subnet: cidr.default('10.1.1.0/24'),
  bridge: linkName.default('br-offline'),
});

export const configSchema = z.strictObject({
  data: pathString.default('./mirrors'),
  /** Defaults to `network.address`. */
  listen: z.string().optional(),
  /** Who the mirrors run as when root starts them; default: the data directory's owner, else nobody. */
  user: z.union([z.string().regex(/^[a-z_][a-z0-9_.-]*\$?$/i, { message: 'must be a user name or uid' }), z.number().int().min(1)]).optional(),
  npm: npmSchema.default(npmSchema.parse({})),
  pypi: pypiSchema.default(pypiSchema.parse({})),
  pacman: pacmanSchema.default(pacmanSchema.parse({})),
  docker: dockerSchema.default(dockerSchema.parse({})),
  network: networkSchema.default(networkSchema.parse({})),
  limits: limitsSchema.default(limitsSchema.parse({})),
});

export type RawConfig = z.infer<typeof configSchema>;
export type NpmConfig = z.infer<typeof npmSchema>;
export type NetworkConfig = z.infer<typeof networkSchema>;
export type Limits = z.infer<typeof limitsSchema>;
