import { valid } from 'semver';
import { z } from 'zod';

/**
 * What offline needs from an upstream packument (the registry's document for one package). The
 * schema is lenient: unknown fields pass through untouched (they are stored for verdaccio to serve
 * as they came), and a version whose manifest is unusable is dropped and reported, not fatal.
 */
export const distSchema = z.looseObject({
  tarball: z.string().min(1),
  integrity: z.string().optional(),
  shasum: z.string().optional(),
});

/**
 * A dependency map as old packuments write it: a record, or `[]` (seen on mime 1.x), or garbage
 * with string values filtered out. Non-records read as no dependencies.
 */
const dependencyMap = z.unknown().transform((value): Record<string, string> | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
});

export const manifestSchema = z.looseObject({
  name: z.string().optional(),
  version: z.string(),
  dist: distSchema,
  dependencies: dependencyMap.optional(),
  optionalDependencies: dependencyMap.optional(),
  peerDependencies: dependencyMap.optional(),
  deprecated: z.union([z.string(), z.boolean()]).optional().catch(undefined),
});

export type Manifest = z.infer<typeof manifestSchema>;

export type Packument = {
  name: string;
  versions: Record<string, Manifest>;
  'dist-tags': Record<string, string>;
  time?: Record<string, string>;
  [key: string]: unknown;
};

const packumentShape = z.looseObject({
  name: z.string().optional(),
  versions: z.record(z.string(), z.unknown()).default({}),
  'dist-tags': z.record(z.string(), z.string()).default({}),
  time: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Validate an upstream packument for `name`. Returns the usable packument and the versions that
 * were dropped with why; returns `undefined` when the document is not a packument at all.
 */
export function readPackument(json: unknown, name: string): { packument: Packument; dropped: string[] } | undefined {
  const shape = packumentShape.safeParse(json);
  if (!shape.success) return undefined;
  const versions: Record<string, Manifest> = {};
  const dropped: string[] = [];
  for (const [version, raw] of Object.entries(shape.data.versions)) {
    // Registries publish semver versions only; anything else (`__proto__`, `../x`) is not one.
    if (!valid(version)) {
      dropped.push(`${name}@${version}: not a semver version`);
      continue;
    }
    const manifest = manifestSchema.safeParse(raw);
    if (manifest.success) versions[version] = manifest.data;
    else dropped.push(`${name}@${version}: ${manifest.error.issues[0]?.message ?? 'unusable manifest'}`);
  }
  const time = shape.data.time
    ? Object.fromEntries(Object.entries(shape.data.time).filter((e): e is [string, string] => typeof e[1] === 'string'))
    : undefined;
  return { packument: { ...shape.data, name, versions, 'dist-tags': shape.data['dist-tags'], time }, dropped };
}
