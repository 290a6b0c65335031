import npa from 'npm-package-arg';
import pickManifest from 'npm-pick-manifest';
import type { Manifest, Packument } from './packument.ts';
import type { Unmirrorable, UnmirrorableKind } from './types.ts';

/** A package version the mirror must hold, with where the requirement came from. */
export type Wanted = { name: string; version: string; integrity?: string; source: string };

export type ResolveProblem = { item: string; message: string; optional: boolean };

export type Resolution = { wanted: Wanted[]; problems: ResolveProblem[]; unmirrorable: Unmirrorable[] };

type Request = { name: string; spec: string; source: string; optional: boolean };

/**
 * Resolve `npm.packages` specs (`name`, `name@range`, `name@tag`, `@scope/name`, `alias@npm:x@1`)
 * to their full closure: dependencies, optionalDependencies and peerDependencies of every version
 * picked, for every platform (optional platform packages such as `@esbuild/*` are all kept, since
 * the containers' platform is not this machine's). Versions are picked as npm picks them.
 * Problems do not stop the walk; an optional dependency that cannot be resolved is flagged optional.
 */
export async function resolveSpecs(specs: string[], getPackument: (name: string) => Promise<Packument | undefined>): Promise<Resolution> {
  const result: Resolution = { wanted: [], problems: [], unmirrorable: [] };
  const seen = new Set<string>();
  const asked = new Set<string>();
  let wave: Request[] = [];
  for (const [i, spec] of specs.entries()) {
    const request = parseRequest(spec, undefined, `npm.packages[${i}] "${spec}"`, false, result);
    if (request) wave.push(request);
  }
  while (wave.length > 0) {
    const next: Request[] = [];
    await Promise.all(wave.map(async (request) => {
      const key = `${request.name}@${request.spec}`;
      if (asked.has(key)) return;
      asked.add(key);
      const manifest = await pick(request, getPackument, result);
      if (!manifest || seen.has(`${request.name}@${manifest.version}`)) return;
      seen.add(`${request.name}@${manifest.version}`);
      result.wanted.push({ name: request.name, version: manifest.version, source: request.source });
      next.push(...edges(request.name, manifest, result));
    }));
    wave = next;
  }
  return result;
}

async function pick(request: Request, getPackument: (name: string) => Promise<Packument | undefined>, result: Resolution): Promise<Manifest | undefined> {
  const packument = await getPackument(request.name);
  if (!packument) {
    result.problems.push({ item: request.source, message: `${request.name} is not on the upstream registry`, optional: request.optional });
    return undefined;
  }
  try {
    return pickManifest(packument, request.spec, { nodeVersion: '9999.0.0' });
  } catch (err) {
    const available = Object.keys(packument.versions).slice(-8).join(', ') || 'none';
    const what = (err as { code?: string }).code === 'ENOVERSIONS' ? 'has no versions' : `has no version matching "${request.spec}"`;
    result.problems.push({ item: request.source, message: `${request.name} ${what} (latest versions: ${available})`, optional: request.optional });
    return undefined;
  }
}

function edges(name: string, manifest: Manifest, result: Resolution): Request[] {
  const from = `${name}@${manifest.version}`;
  const requests: Request[] = [];
  const groups: Array<[Record<string, string> | undefined, boolean]> = [
    [manifest.dependencies, false],
    [manifest.optionalDependencies, true],
    [manifest.peerDependencies, false],
  ];
  for (const [deps, optional] of groups) {
    for (const [dep, spec] of Object.entries(deps ?? {})) {
      const request = parseRequest(spec, dep, `${from} → ${dep}@${spec}`, optional, result);
      if (request) requests.push(request);
    }
  }
  return requests;
}

function parseRequest(spec: string, name: string | undefined, source: string, optional: boolean, result: Resolution): Request | undefined {
  let parsed: npa.Result;
  try {
    parsed = name === undefined ? npa(spec) : npa.resolve(name, spec);
  } catch (err) {
    result.problems.push({ item: source, message: `not a valid npm spec: ${(err as Error).message}`, optional });
    return undefined;
  }
  const target = parsed.type === 'alias' ? (parsed as npa.AliasResult).subSpec : parsed;
  const kind = unmirrorableKind(target.type);
  if (kind) {
    result.unmirrorable.push({ name: parsed.name ?? spec, spec, kind, source });
    return undefined;
  }
  if (!target.name) {
    result.problems.push({ item: source, message: 'names no package', optional });
    return undefined;
  }
  return { name: target.name, spec: target.fetchSpec || 'latest', source, optional };
}

function unmirrorableKind(type: npa.Result['type']): UnmirrorableKind | undefined {
  switch (type) {
    case 'git': return 'git';
    case 'file':
    case 'directory': return 'file';
    case 'remote': return 'remote-tarball';
    default: return undefined;
  }
}
